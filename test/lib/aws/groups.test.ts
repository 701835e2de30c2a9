import test from 'ava'
import { settleInGroups } from '../../../lib/aws/groups.ts'
import { HeldInGroupError, TransientError, ValidationError } from '../../../lib/orders/errors.ts'

const record = (id: string, group?: string) => ({
  messageId: id,
  attributes: group === undefined ? {} : { MessageGroupId: group },
})

test('after the first retried failure of a FIFO group, the rest of that group is held, untried; other groups go on', async (t) => {
  // Prepare: group A fails transiently at its second message; group B succeeds throughout.
  const records = [record('a1', 'A'), record('b1', 'B'), record('a2', 'A'), record('b2', 'B'), record('a3', 'A')]
  const tried: string[] = []
  // Act
  const results = await settleInGroups(
    records,
    async (r) => {
      tried.push(r.messageId)
      if (r.messageId === 'a2') throw new TransientError('throttled')
      return r.messageId
    },
    10,
  )
  // Assess
  t.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'rejected'],
  )
  t.false(tried.includes('a3'), 'a3 is never tried: it would overtake a2')
  const held = results[4]
  t.true(held?.status === 'rejected' && held.reason instanceof HeldInGroupError)
  t.regex(String((held as PromiseRejectedResult).reason), /a2/)
})

test('a permanent failure (parked, then acknowledged) does not hold its group', async (t) => {
  const records = [record('a1', 'A'), record('a2', 'A')]
  const results = await settleInGroups(
    records,
    async (r) => {
      if (r.messageId === 'a1') throw new ValidationError([{ path: '/x', rule: 'r', message: 'bad' }])
      return r.messageId
    },
    10,
  )
  t.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'fulfilled'],
  )
})

test('a group runs one record after the other, in batch order; groups and standard records run side by side', async (t) => {
  const events: string[] = []
  let running = 0
  let most = 0
  const records = [record('a1', 'A'), record('a2', 'A'), record('a3', 'A'), record('s1'), record('s2')]
  await settleInGroups(
    records,
    async (r) => {
      running++
      most = Math.max(most, running)
      events.push(`start ${r.messageId}`)
      await new Promise((resolve) => setTimeout(resolve, 5))
      events.push(`end ${r.messageId}`)
      running--
    },
    10,
  )
  const a = events.filter((e) => e.endsWith('a1') || e.endsWith('a2') || e.endsWith('a3'))
  t.deepEqual(a, ['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3'])
  t.is(most, 3, 'group A, s1 and s2 at once')
  // Standard records (no group) are never held by another's failure.
  const results = await settleInGroups(
    [record('s1'), record('s2')],
    async (r) => {
      if (r.messageId === 's1') throw new TransientError('x')
    },
    10,
  )
  t.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'fulfilled'],
  )
})

test('at most `concurrency` groups at once', async (t) => {
  let running = 0
  let most = 0
  const records = Array.from({ length: 8 }, (_, i) => record(`m${i}`, `G${i}`))
  await settleInGroups(
    records,
    async () => {
      running++
      most = Math.max(most, running)
      await new Promise((resolve) => setTimeout(resolve, 5))
      running--
    },
    3,
  )
  t.is(most, 3)
})
