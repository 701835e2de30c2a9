/**
 * validateFile over whatever one line of a file may hold: the line is that line's reject, parked once, and every
 * other line gets its own outcome. SQS, DynamoDB and SNS are mocks here (the network is not the subject: the real
 * calls are tested against moto in test/handlers/validator.test.ts).
 */
import test from 'ava'
import fc from 'fast-check'
import { mockClient } from 'aws-sdk-client-mock'
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs'
import { SNSClient, PublishBatchCommand } from '@aws-sdk/client-sns'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb'
import { MetricsBuffer } from '../../../lib/aws/metrics.ts'
import { jsonlLines } from '../../../lib/intake/lines.ts'
import { validateFile } from '../../../lib/intake/validate-file.ts'
import { createLogger } from '../../../lib/runtime/logger.ts'
import { seed } from '../../helpers/fixtures.ts'

const MAIN = 'https://sqs.eu-west-3.amazonaws.com/123456789012/tp-orders-main'
const DLQ = 'https://sqs.eu-west-3.amazonaws.com/123456789012/tp-orders-main-dlq'
const ref = { bucket: 'tp-orders-intake', key: 'orders/fuzz.jsonl', versionId: 'v1' }
const config = {
  ordersTable: 'tp-orders',
  mainQueueUrl: MAIN,
  mainDlqUrl: DLQ,
  ingestDlqUrl: `${DLQ}-ingest`,
  alertTopicArn: 'arn:aws:sns:eu-west-3:123456789012:tp-order-alerts',
  metricsNamespace: 'OrderPipeline',
  stage: 'test',
  defaultCurrency: 'EUR',
  maxOrderAmount: 10000,
}

interface RunOptions {
  sendsInFlight?: number
  /** How long each SendMessageBatch takes (ms). */
  latencyMs?: number
  /** Which SendMessageBatch calls answer every entry as Failed (a transient failure), by what they carry. */
  failing?: (input: SendMessageBatchCommandInput) => boolean
  /** Where the calls are counted (to read them after a run that throws). */
  calls?: { total: number; running: number; most: number }
  /** Aborted as middy aborts a handler about to time out. */
  signal?: AbortSignal
}

/** One run of validateFile over `text` with mocked clients: what went to each queue, and how many calls at once. */
const run = async (text: string, options: RunOptions = {}) => {
  const sqsClient = new SQSClient({ region: 'eu-west-3' })
  const sent: SendMessageBatchCommandInput[] = []
  const calls = options.calls ?? { total: 0, running: 0, most: 0 }
  mockClient(sqsClient)
    .on(SendMessageBatchCommand)
    .callsFake(async (input: SendMessageBatchCommandInput) => {
      calls.total++
      calls.running++
      calls.most = Math.max(calls.most, calls.running)
      await new Promise((resolve) => setTimeout(resolve, options.latencyMs ?? 0))
      calls.running--
      if (options.failing?.(input)) {
        return {
          Successful: [],
          Failed: input.Entries!.map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })),
        }
      }
      sent.push(input)
      return {
        Successful: input.Entries!.map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })),
        Failed: [],
      }
    })
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-3' }))
  mockClient(dynamo).on(PutCommand).resolves({})
  const sns = new SNSClient({ region: 'eu-west-3' })
  mockClient(sns).on(PublishBatchCommand).resolves({ Successful: [], Failed: [] })
  const chunks = (async function* () {
    yield Buffer.from(text, 'utf8')
  })()
  const summary = await validateFile(ref, jsonlLines(ref, chunks, 128 * 1024), {
    config: { ...config, sendsInFlight: options.sendsInFlight },
    sqs: sqsClient,
    dynamo,
    sns,
    metrics: new MetricsBuffer(),
    log: createLogger({ level: 'silent' }),
    now: () => new Date('2026-01-07T10:00:00Z'),
    signal: options.signal,
  })
  const to = (url: string) => sent.filter((s) => s.QueueUrl === url).flatMap((s) => s.Entries ?? [])
  return { summary, queued: to(MAIN), parked: to(DLQ), calls }
}

const valid = (id: string) => JSON.stringify({ ...seed('tp-valid.json'), order_id: id })
const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`

/** What one line may hold: anything but a newline, and never blank (a blank line is skipped, not an order). */
const hostileLine = fc
  .oneof(
    fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.integer({ min: 33, max: 20_000 }).map(deep),
    fc.integer({ min: 33, max: 5_000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
    fc
      .integer({ min: 64 * 1024, max: 300 * 1024 })
      .map((n) => JSON.stringify({ ...seed('tp-valid.json'), notes: 'n'.repeat(n) })),
    fc
      .constantFrom('1e400', '-1e309', '9007199254740993', '{"qty": 1e300}')
      .map((n) => valid('X').replace('"qty":1', `"qty":${n}`)),
    fc.constantFrom('\uFEFF{}', '{"order_id": "\uD800"}', '\u0000', '"\\u0000"', 'null', '[]', '{}'),
  )
  .map((line) => line.replaceAll('\n', ' '))
  .filter((line) => line.trim() !== '')

test('whatever one line holds, its neighbours are queued and it alone is parked, once, with its line', async (t) => {
  await t.notThrowsAsync(
    fc.assert(
      fc.asyncProperty(hostileLine, async (line) => {
        const { summary, queued, parked } = await run([valid('N-1'), line, valid('N-3')].join('\n'))
        const ids = queued.map((e) => (JSON.parse(e.MessageBody!) as { order_id: string }).order_id)
        if (ids.length !== 2 || ids[0] !== 'N-1' || ids[1] !== 'N-3') return false
        if (parked.length !== 1) return false
        const source = parked[0]!.MessageAttributes?.source?.StringValue ?? ''
        return source.endsWith('#2') && summary.rejected === 1 && summary.accepted === 2
      }),
      { numRuns: 150 },
    ),
  )
})

const orders = (count: number) => Array.from({ length: count }, (_, i) => valid(`P-${i}`)).join('\n')

for (const limit of [1, 4]) {
  test(`at most ${limit} SendMessageBatch call${limit > 1 ? 's are' : ' is'} on its way at once, and every order is sent`, async (t) => {
    // Act: 200 orders, 20 batches, each call taking 15 ms
    const { summary, queued, calls } = await run(orders(200), { sendsInFlight: limit, latencyMs: 15 })
    // Assess
    t.is(calls.most, limit)
    t.is(queued.length, 200)
    t.is(new Set(queued.map((e) => (JSON.parse(e.MessageBody!) as { order_id: string }).order_id)).size, 200)
    t.like(summary, { accepted: 200, rejected: 0 })
  })
}

test('a batch the queue keeps refusing fails the file once the batches on their way have settled', async (t) => {
  // Prepare: the batch carrying P-25 fails on every attempt; the others go through
  const calls = { total: 0, running: 0, most: 0 }
  const failing = (input: SendMessageBatchCommandInput) => input.Entries!.some((e) => e.MessageBody!.includes('"P-25"'))
  // Act
  const err = await t.throwsAsync(run(orders(100), { sendsInFlight: 4, latencyMs: 5, failing, calls }))
  // Assess
  t.regex(err?.message ?? '', /could not be queued/)
  t.is(calls.running, 0, 'no call is still on its way when the file fails')
})

test('when the invocation is about to time out, the file stops between two lines and sends nothing more', async (t) => {
  // Prepare: 2,000 orders, each call 5 ms; the abort comes after the first calls
  const abort = new AbortController()
  const calls = { total: 0, running: 0, most: 0 }
  setTimeout(() => abort.abort(new Error('timed out')), 30)
  // Act
  await t.throwsAsync(run(orders(2000), { latencyMs: 5, signal: abort.signal, calls }), { message: 'timed out' })
  const atAbort = calls.total
  await new Promise((resolve) => setTimeout(resolve, 100))
  // Assess
  t.true(atAbort < 200, `stopped early (${atAbort} of 200 batches)`)
  t.is(calls.total, atAbort, 'no call after the file stopped')
  t.is(calls.running, 0)
})
