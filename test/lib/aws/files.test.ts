/** An order file's progress records against moto: ranges counted once, the file complete once, claimed once. */
import anyTest, { type TestFn } from 'ava'
import {
  claimFileCompletion,
  getFileProgress,
  isComplete,
  isRangeDone,
  rangeReports,
  recordPlanned,
  recordRangeDone,
  startPlanning,
  type RangeReport,
} from '../../../lib/aws/files.ts'
import { createResources, useMoto, type Clients, type Moto } from '../../helpers/moto.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients }>
useMoto(test)

let files = 0
const NOW = '2026-12-01T10:00:00.000Z'
const share = (index: number, rejected = 0): RangeReport => ({
  index,
  accepted: 10,
  rejected,
  rejectedByReason: rejected ? { MalformedOrderError: rejected } : {},
  rejects: Array.from({ length: rejected }, (_, i) => ({
    line: index * 100 + i,
    class: 'MalformedOrderError',
    reason: 'x',
  })),
  startedAt: NOW,
  finishedAt: NOW,
})

const setup = async (t: { context: { clients: Clients } }) => {
  const { dynamo } = t.context.clients
  const r = await createResources(t.context.clients, `f${++files}`)
  const ref = { bucket: r.bucket, key: 'orders/big.jsonl', versionId: 'v1' }
  return { dynamo, table: r.ordersTable, ref }
}

test('a range is counted once however often it is recorded; the file is complete when every range is', async (t) => {
  const { dynamo, table, ref } = await setup(t)
  const started = await startPlanning(dynamo, table, ref, NOW, 'cid-1')
  t.like(started, { correlation_id: 'cid-1', done_count: 0 })
  t.false(isComplete(started))
  t.false(isComplete(await recordPlanned(dynamo, table, ref, 0, NOW, 3)))
  t.like(await recordRangeDone(dynamo, table, ref, share(0)), { done_count: 1 })
  t.like(await recordRangeDone(dynamo, table, ref, share(0)), { done_count: 1 }, 'the same range again: not counted')
  t.like(await recordRangeDone(dynamo, table, ref, share(2, 1)), { done_count: 2 })
  const last = await recordRangeDone(dynamo, table, ref, share(1, 2))
  t.like(last, { done_count: 3, ranges: 3 })
  t.true(isComplete(last))
  t.true(isRangeDone(last, 1))
  t.false(isRangeDone(last, 3))
  t.deepEqual(
    (await rangeReports(dynamo, table, ref)).map((r) => [r.index, r.rejected]),
    [
      [0, 0],
      [1, 2],
      [2, 1],
    ],
  )
  // The completion is claimed once; after it, the record is no longer "complete" for anybody else.
  t.true(await claimFileCompletion(dynamo, table, ref, NOW))
  t.false(await claimFileCompletion(dynamo, table, ref, NOW))
  t.false(isComplete(await getFileProgress(dynamo, table, ref)))
})

test('when the ranges are done before planning has counted them, the last planning part completes the file', async (t) => {
  const { dynamo, table, ref } = await setup(t)
  await startPlanning(dynamo, table, ref, NOW, 'cid-2')
  await recordPlanned(dynamo, table, ref, 0, NOW, undefined) // part 0 of two: the total is not known yet
  for (const index of [0, 1, 2]) t.false(isComplete(await recordRangeDone(dynamo, table, ref, share(index))))
  const after = await recordPlanned(dynamo, table, ref, 2, NOW, 3)
  t.true(isComplete(after))
  // A planning part recorded again changes nothing and says what is there.
  t.like(await recordPlanned(dynamo, table, ref, 2, NOW, 3), { ranges: 3, done_count: 3 })
  t.like(await startPlanning(dynamo, table, ref, NOW, 'cid-other'), { correlation_id: 'cid-2' }, 'the first id stays')
})

test("a small file's completion is claimed once, and another version of the key is another file", async (t) => {
  const { dynamo, table, ref } = await setup(t)
  t.true(await claimFileCompletion(dynamo, table, ref, NOW))
  t.false(await claimFileCompletion(dynamo, table, ref, NOW))
  t.true(await claimFileCompletion(dynamo, table, { ...ref, versionId: 'v2' }, NOW))
  t.is(await getFileProgress(dynamo, table, { ...ref, versionId: 'v3' }), undefined)
})
