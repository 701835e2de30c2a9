/**
 * Large files read in ranges, against moto: the planning's range messages go through the real ingest queue, each
 * range is validated by the validator as its own message, and the file completes once.
 */
import anyTest, { type TestFn } from 'ava'
import type { SQSEvent } from 'aws-lambda'
import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import type { Message } from '@aws-sdk/client-sqs'
import { SQSClient } from '@aws-sdk/client-sqs'
import { buildValidator } from '../../handlers/validator.ts'
import { getFileProgress } from '../../lib/aws/files.ts'
import type { FileReport } from '../../lib/intake/report.ts'
import { program as reportCommand } from '../../scripts/report.ts'
import { runCommand } from '../helpers/cli.ts'
import { fakeContext, seed, sqsEvent, sqsRecord } from '../helpers/fixtures.ts'
import {
  configFor,
  createResources,
  drain,
  metricSum,
  useMoto,
  type Clients,
  type Moto,
  type Resources,
} from '../helpers/moto.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients }>
useMoto(test)

let prefixes = 0
// moto's SQS slows down as a queue grows: files of a few hundred lines, in ranges of 16 KiB (about 50 lines).
const RANGE_BYTES = 16 * 1024

/** `lines` orders (every 97th one invalid, every 101st not JSON), each about 300 bytes. */
const fileOf = (lines: number): { text: string; valid: string[]; bad: number[] } => {
  const valid: string[] = []
  const bad: number[] = []
  const text = Array.from({ length: lines }, (_, i) => {
    const line = i + 1
    if (line % 101 === 0) {
      bad.push(line)
      return `{"order_id": "CUT-${line}", `
    }
    // A hash in the id, so that a gzipped copy does not shrink to nothing
    const order = {
      ...seed('tp-valid.json'),
      order_id: `BULK-${line}-${createHash('md5').update(String(line)).digest('hex')}`,
    }
    if (line % 97 === 0) {
      bad.push(line)
      return JSON.stringify({ ...order, amount: -1 })
    }
    valid.push(order.order_id)
    return JSON.stringify(order)
  }).join('\n')
  return { text, valid, bad }
}

const setup = async (t: { context: { clients: Clients } }) => {
  const { clients } = t.context
  const r: Resources = await createResources(clients, `r${++prefixes}`)
  const config = { ...configFor(r), rangeBytes: RANGE_BYTES }
  const validator = buildValidator({ config, ...clients, s3: clients.objects })
  const run = async (event: SQSEvent) => validator(event, fakeContext())
  const upload = async (key: string, body: Buffer | string): Promise<SQSEvent> => {
    const { VersionId } = await clients.s3.send(new PutObjectCommand({ Bucket: r.bucket, Key: key, Body: body }))
    const size = Buffer.byteLength(body)
    return sqsEvent(
      sqsRecord({
        Records: [
          {
            eventSource: 'aws:s3',
            eventName: 'ObjectCreated:Put',
            s3: { bucket: { name: r.bucket }, object: { key: encodeURIComponent(key), size, versionId: VersionId } },
          },
        ],
      }),
    )
  }
  // moto's SQS slows down as a queue grows: the main queue and the DLQ are drained after each run.
  const queued: string[] = []
  const parked: Message[] = []
  const collect = async () => {
    queued.push(...(await idsIn(clients.sqs, r.mainQueueUrl)))
    parked.push(...(await drain(clients.sqs, r.mainDlqUrl)))
  }
  /** Runs the ingest queue's messages (ranges and plan parts) through the validator until it is empty. */
  const runIngest = async (validate = run): Promise<{ messages: Message[]; failures: number }> => {
    const messages: Message[] = []
    let failures = 0
    for (let batch = await drain(clients.sqs, r.ingestQueueUrl); batch.length > 0;) {
      messages.push(...batch)
      // One message an event (Lambda may batch them; each record is validated on its own either way).
      for (const m of batch) {
        const response = (await validate(sqsEvent(sqsRecord(m.Body!, { messageId: m.MessageId! })))) as {
          batchItemFailures: unknown[]
        }
        failures += response.batchItemFailures.length
        await collect()
      }
      batch = await drain(clients.sqs, r.ingestQueueUrl)
    }
    return { messages, failures }
  }
  const report = async (key: string): Promise<FileReport> =>
    JSON.parse(
      await (
        await clients.s3.send(new GetObjectCommand({ Bucket: r.bucket, Key: `reports/${key}.json` }))
      ).Body!.transformToString(),
    ) as FileReport
  return { r, config, run, upload, runIngest, report, clients, queued, parked, collect }
}

const idsIn = async (sqs: SQSClient, url: string) =>
  (await drain(sqs, url)).map((m) => (JSON.parse(m.Body!) as { order_id: string }).order_id)

test('a file of 700 lines is planned in ranges; every order is queued once, every reject parked once with its line, one report', async (t) => {
  const { r, run, upload, runIngest, report, clients, queued, parked, collect } = await setup(t)
  const { text, valid, bad } = fileOf(700)
  const key = 'orders/bulk 700.jsonl'
  // Act: the notification plans the file; nothing is validated yet
  t.deepEqual(await run(await upload(key, text)), { batchItemFailures: [] })
  t.deepEqual(await idsIn(clients.sqs, r.mainQueueUrl), [])
  const { messages, failures } = await runIngest()
  // Assess
  t.is(failures, 0)
  const expectedRanges = Math.ceil(Buffer.byteLength(text) / RANGE_BYTES)
  t.true(Math.abs(messages.length - expectedRanges) <= 1, `${messages.length} range messages for ${expectedRanges}`)
  await collect()
  t.is(queued.length, valid.length)
  t.deepEqual([...queued].sort(), [...valid].sort(), 'every valid order once')

  t.deepEqual(
    parked.map((m) => Number(m.MessageAttributes!.source!.StringValue!.split('#')[1])).sort((a, b) => a - b),
    bad,
    'every reject once, with its line number in the file',
  )
  const file = await report(key)
  t.like(file, { key, accepted: valid.length, rejected: bad.length, ranges: messages.length })
  t.deepEqual(
    file.rejects.map((x) => x.line),
    bad.slice(0, 100),
  )
  t.is(file.rejectedByReason.MalformedOrderError, bad.filter((l) => l % 101 === 0).length)
  const printed = await runCommand(reportCommand, [key, '--bucket', r.bucket, '--endpoint', t.context.moto.endpoint])
  t.regex(printed, new RegExp(`${valid.length} accepted, ${bad.length} rejected, .*read in ${messages.length} ranges`))
  const alerts = await drain(clients.sqs, r.alertsQueueUrl)
  t.is(alerts.length, 1, 'one alert for the file')
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersAccepted'), valid.length)
  const correlation = new Set(parked.map((m) => m.MessageAttributes!.correlation_id?.StringValue))
  t.is(correlation.size, 1, 'one correlation id for the whole file')
})

test('a range that fails transiently is retried alone; a range delivered again after it is done is skipped', async (t) => {
  const { r, config, run, upload, runIngest, report, clients, queued, collect } = await setup(t)
  const { text, valid } = fileOf(400)
  const key = 'orders/flaky.jsonl'
  await run(await upload(key, text))
  const ranges = await drain(clients.sqs, r.ingestQueueUrl)
  t.true(ranges.length >= 3)
  // The second range meets a main queue that refuses everything.
  const refusing = new SQSClient({ endpoint: t.context.moto.endpoint, region: 'eu-west-3' })
  refusing.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'SendMessageBatchCommand' && JSON.stringify(args.input).includes('orders-main"'))
        throw Object.assign(new Error('throttled'), { name: 'ThrottlingException', $fault: 'server' })
      return next(args)
    },
    { step: 'initialize', name: 'refuseMainQueue' },
  )
  const flaky = buildValidator({ config, ...clients, sqs: refusing, s3: clients.objects })
  const second = ranges[1]!
  const failed = (await flaky(sqsEvent(sqsRecord(second.Body!, { messageId: 'm-2' })), fakeContext())) as {
    batchItemFailures: { itemIdentifier: string }[]
  }
  t.deepEqual(failed.batchItemFailures, [{ itemIdentifier: 'm-2' }], 'the range fails alone, to be retried')
  // The others, then the retried one, then the first range delivered a second time.
  for (const m of ranges) {
    await run(sqsEvent(sqsRecord(m.Body!, { messageId: m.MessageId! })))
    await collect()
  }
  await run(sqsEvent(sqsRecord(ranges[0]!.Body!, { messageId: 'again' })))
  t.is((await runIngest()).messages.length, 0)
  await collect()
  t.deepEqual([...new Set(queued)].sort(), [...valid].sort(), 'every order queued')
  t.is(queued.length, valid.length, 'none twice: the failed range sent nothing, the repeated one was skipped')
  t.like(await report(key), { accepted: valid.length, ranges: ranges.length })
  const progress = await getFileProgress(clients.dynamo, r.ordersTable, { bucket: r.bucket, key, versionId: undefined })
  t.is(progress, undefined, 'the record is kept by version')
  t.is((await drain(clients.sqs, r.alertsQueueUrl)).length, 1)
})

test('a gzipped file under raw/year=/month=/day= is planned over its decompressed bytes', async (t) => {
  const { run, upload, runIngest, report, queued } = await setup(t)
  const { text, valid, bad } = fileOf(500)
  const key = 'raw/year=2026/month=12/day=01/orders-0001.jsonl.gz'
  const gz = gzipSync(text)
  t.true(gz.length < RANGE_BYTES, 'smaller than a range once compressed')
  await run(await upload(key, gz))
  const { messages, failures } = await runIngest()
  t.is(failures, 0)
  t.true(messages.length > 1, `${messages.length} ranges`)

  t.deepEqual([...queued].sort(), [...valid].sort())
  t.like(await report(key), { accepted: valid.length, rejected: bad.length, ranges: messages.length })
})

test('a .json array of 600 orders (pretty-printed) is planned at element starts and read element by element', async (t) => {
  const { run, upload, runIngest, report, queued, parked } = await setup(t)
  const orders = Array.from({ length: 600 }, (_, i) => ({ ...seed('tp-valid.json'), order_id: `ARR-${i + 1}` }))
  orders[233] = { ...orders[233]!, amount: -5 } as (typeof orders)[number]
  const key = 'orders/array.json'
  await run(await upload(key, JSON.stringify(orders, null, 2)))
  const { messages, failures } = await runIngest()
  t.is(failures, 0)
  t.true(messages.length > 5, `${messages.length} ranges`)

  t.is(queued.length, 599)

  t.regex(parked[0]!.MessageAttributes!.source!.StringValue!, /orders\/array\.json\?versionId=.*#234$/)
  t.like(await report(key), { accepted: 599, rejected: 1, ranges: messages.length })
})

test('a .json array cut short is refused whole when it is planned: nothing queued, the file in the ingest DLQ', async (t) => {
  const { r, run, upload, clients } = await setup(t)
  const orders = Array.from({ length: 300 }, (_, i) => ({ ...seed('tp-valid.json'), order_id: `CUT-${i + 1}` }))
  const text = JSON.stringify(orders).slice(0, -10)
  t.deepEqual(await run(await upload('orders/cut.json', text)), { batchItemFailures: [] })
  t.is((await drain(clients.sqs, r.ingestQueueUrl)).length, 0)
  t.is((await drain(clients.sqs, r.mainQueueUrl)).length, 0)
  const [parked] = await drain(clients.sqs, r.ingestDlqUrl)
  t.regex(JSON.parse(parked!.MessageAttributes!.error!.StringValue!).message, /is cut short|not closed/)
})
