/**
 * tp-order-generator against moto: one object per invocation under raw/year=/month=/day=/ of the intake bucket, with
 * GENERATED_ORDERS lines; the seed from GENERATOR_SEED or the invocation's (scheduled) time; OrdersGenerated
 * counted; and a generated file that flows through the validator and the worker with the outcomes it says.
 */
import anyTest, { type TestFn } from 'ava'
import { GetObjectCommand, ListObjectVersionsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import type { SQSBatchResponse } from 'aws-lambda'
import { buildGenerator, type GeneratedFile, type GeneratorConfig } from '../../handlers/generator.ts'
import { buildValidator } from '../../handlers/validator.ts'
import { buildWorker } from '../../handlers/worker.ts'
import { fileName, generateFile, rawKey } from '../../lib/lake/generate.ts'
import { parseOrder } from '../../lib/orders/validate.ts'
import { loadConfig } from '../../lib/runtime/config.ts'
import { createLogger } from '../../lib/runtime/logger.ts'
import { fakeContext, sqsEvent, sqsRecord } from '../helpers/fixtures.ts'
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
const NOW = new Date('2026-01-07T10:00:00Z')

const setup = async (t: { context: { clients: Clients } }, env: Record<string, string> = {}) => {
  const r: Resources = await createResources(t.context.clients, `g${++prefixes}`)
  const config: GeneratorConfig = loadConfig(['intakeBucket'], {
    INTAKE_BUCKET: r.bucket,
    METRICS_NAMESPACE: r.metricsNamespace,
    STAGE: r.stage,
    ...env,
  })
  const lines: string[] = []
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => lines.push(line) } })
  const generator = buildGenerator({
    config,
    s3: t.context.clients.objects,
    cloudWatch: t.context.clients.cloudWatch,
    logger,
    now: () => NOW,
  })
  const run = async (event: object = {}) => (await generator(event, fakeContext() as never)) as GeneratedFile
  return { r, config, run, logs: lines }
}

const keys = async (clients: Clients, bucket: string): Promise<string[]> =>
  ((await clients.s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key!)
const body = async (clients: Clients, bucket: string, key: string): Promise<string> =>
  (await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString()

test('an invocation writes one object under raw/year=/month=/day=/ with GENERATED_ORDERS valid lines, counted', async (t) => {
  // Prepare
  const { r, run, logs } = await setup(t, { GENERATED_ORDERS: '250' })
  // Act
  const file = await run()
  // Assess
  const seed = NOW.getTime() / 1000
  const key = `raw/year=2026/month=01/day=07/orders-${seed}-2026-01-07.jsonl`
  t.deepEqual(await keys(t.context.clients, r.bucket), [key])
  t.like(file, { bucket: r.bucket, key, seed, date: '2026-01-07', orders: 250, valid: 250, invalid: 0, duplicates: 0 })
  const text = await body(t.context.clients, r.bucket, key)
  t.is(Buffer.byteLength(text), file.bytes)
  const lines = text.split('\n')
  t.is(lines.pop(), '', `the file ends with a newline`)
  t.is(lines.length, 250)
  for (const [i, line] of lines.entries()) {
    const order = parseOrder(JSON.parse(line), {
      defaultCurrency: 'EUR',
      maxOrderAmount: 10000,
      receivedAt: NOW.toISOString(),
      assignOrderId: () => `S3-${i}`,
    })
    t.regex(order.created_at, /^2026-01-07T/, `line ${i + 1}`)
  }
  t.is(await metricSum(t.context.clients.cloudWatch, r, 'OrdersGenerated'), 250)
  const logged = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'file generated')
  t.like(logged, { bucket: r.bucket, key, orders: 250, invalid: 0, duplicates: 0, bytes: file.bytes })
  t.notRegex(logs.join('\n'), /@example\.(com|org)/, `no e-mail address reaches the log`)
})

test('the schedule time gives the date and the seed: a retried run writes the same key with the same bytes', async (t) => {
  // Prepare
  const { r, run } = await setup(t, { GENERATED_ORDERS: '40' })
  const event = { scheduledTime: '2026-03-05T06:00:00Z' }
  // Act
  const first = await run(event)
  const again = await run(event)
  // Assess
  const seed = Date.parse(event.scheduledTime) / 1000
  t.is(first.key, `raw/year=2026/month=03/day=05/orders-${seed}-2026-03-05.jsonl`)
  t.is(again.key, first.key)
  const { Versions = [] } = await t.context.clients.s3.send(
    new ListObjectVersionsCommand({ Bucket: r.bucket, Prefix: 'raw/' }),
  )
  t.is(Versions.length, 2, `two versions of one key`)
  const bodies = await Promise.all(
    Versions.map(async (v) =>
      (
        await t.context.clients.s3.send(new GetObjectCommand({ Bucket: r.bucket, Key: v.Key!, VersionId: v.VersionId }))
      ).Body!.transformToString(),
    ),
  )
  t.is(bodies[0], bodies[1])
})

test('GENERATOR_SEED fixes the seed: the object is byte for byte the generator of that seed, with its rates', async (t) => {
  // Prepare
  const { r, run } = await setup(t, {
    GENERATED_ORDERS: '300',
    GENERATOR_SEED: '77',
    INVALID_RATE: '0.1',
    DUPLICATE_RATE: '0.05',
  })
  // Act
  const file = await run()
  // Assess
  const expected = generateFile({
    orders: 300,
    seed: 77,
    date: '2026-01-07',
    invalidRate: 0.1,
    duplicateRate: 0.05,
    currency: 'EUR',
    maxOrderAmount: 10000,
  })
  t.is(file.key, rawKey('2026-01-07', fileName(77, '2026-01-07')))
  t.is(await body(t.context.clients, r.bucket, file.key), expected.body)
  t.like(file, { orders: 300, invalid: expected.summary.invalid, duplicates: expected.summary.duplicates })
  t.true(file.invalid > 0 && file.duplicates > 0, `${file.invalid} invalid, ${file.duplicates} duplicates`)
})

test('a scheduledTime that is not a time fails the invocation and writes nothing', async (t) => {
  // Prepare
  const { r, run } = await setup(t)
  // Act
  const err = await t.throwsAsync(run({ scheduledTime: 'yesterday' }))
  // Assess
  t.regex(err?.message ?? '', /^scheduledTime must be an ISO 8601 time, got "yesterday"/)
  t.deepEqual(await keys(t.context.clients, r.bucket), [])
})

test('a generated file flows through the validator and the worker: PROCESSED, DUPLICATE and REJECTED as it says', async (t) => {
  // Prepare
  const { clients } = t.context
  const { r, run } = await setup(t, {
    GENERATED_ORDERS: '120',
    GENERATOR_SEED: '5',
    INVALID_RATE: '0.1',
    DUPLICATE_RATE: '0.1',
  })
  const config = { ...configFor(r), stockTracking: false }
  const validator = buildValidator({ config, ...clients, s3: clients.objects })
  const worker = buildWorker({
    config,
    dynamo: clients.dynamo,
    sqs: clients.sqs,
    sns: clients.sns,
    cloudWatch: clients.cloudWatch,
  })
  // Act
  const file = await run()
  const notification = {
    Records: [
      {
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        awsRegion: 'eu-west-3',
        s3: { bucket: { name: r.bucket }, object: { key: encodeURIComponent(file.key), size: file.bytes } },
      },
    ],
  }
  const validated = (await validator(sqsEvent(sqsRecord(notification)), fakeContext())) as SQSBatchResponse
  const queued = await drain(clients.sqs, r.mainQueueUrl)
  for (let i = 0; i < queued.length; i += 10) {
    const batch = queued.slice(i, i + 10).map((m) => sqsRecord(m.Body!, { messageAttributes: {} }))
    t.deepEqual(await worker(sqsEvent(...batch), fakeContext() as never), { batchItemFailures: [] })
  }
  // Assess
  t.deepEqual(validated, { batchItemFailures: [] })
  t.is(queued.length, file.valid + file.duplicates)
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersProcessed'), file.valid)
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersDuplicate'), file.duplicates)
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersRejected'), file.invalid)
  t.is((await drain(clients.sqs, r.mainDlqUrl)).length, file.invalid)
  t.true(file.valid > 80 && file.invalid > 0 && file.duplicates > 0, JSON.stringify(file))
})
