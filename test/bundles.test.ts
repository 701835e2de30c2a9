/**
 * The esbuild bundles, as Lambda runs them: built into a temporary folder, imported as ES modules, configured by
 * environment variables only (credentials too), and invoked against moto.
 */
import anyTest, { type TestFn } from 'ava'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { APIGatewayProxyResult, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { awsEvent, fakeContext, seed, sqsEvent, sqsRecord } from './helpers/fixtures.ts'
import {
  clientsFor,
  createResources,
  drain,
  metricSum,
  startMoto,
  type Clients,
  type Moto,
  type Resources,
} from './helpers/moto.ts'
import { captureStdout } from './helpers/stdout.ts'

type Handler<E, R> = (event: E, context: Context) => Promise<R>
const test = anyTest as TestFn<{ moto: Moto; clients: Clients; r: Resources; dir: string }>

test.before(async (t) => {
  t.context.dir = mkdtempSync(join(tmpdir(), 'bundles-'))
  execFileSync('npx', ['tsx', 'scripts/delivery/build.ts', '--outdir', t.context.dir], { stdio: 'ignore' })
  t.context.moto = await startMoto()
  t.context.clients = clientsFor(t.context.moto.endpoint)
  t.context.r = await createResources(t.context.clients, 'bundle')
  const { r } = t.context
  Object.assign(process.env, {
    ORDERS_TABLE: r.ordersTable,
    MAIN_QUEUE_URL: r.mainQueueUrl,
    MAIN_DLQ_URL: r.mainDlqUrl,
    INGEST_DLQ_URL: r.ingestDlqUrl,
    METRICS_NAMESPACE: r.metricsNamespace,
    STAGE: r.stage,
    STOCK_TRACKING: 'off',
  })
})
test.after.always((t) => {
  t.context.moto?.stop()
  rmSync(t.context.dir, { recursive: true, force: true })
})

const load = async <E, R>(dir: string, fn: string): Promise<Handler<E, R>> =>
  ((await import(pathToFileURL(join(dir, fn, 'index.mjs')).href)) as { handler: Handler<E, R> }).handler

test.serial('each bundle is one minified ES module with a source map', (t) => {
  for (const fn of ['api', 'validator', 'worker', 'generator']) {
    t.true(statSync(join(t.context.dir, fn, 'index.mjs')).size > 10_000, fn)
    t.true(statSync(join(t.context.dir, fn, 'index.mjs.map')).isFile(), fn)
  }
})

test.serial(
  'the API and worker bundles take an order from POST to PROCESSED with environment credentials',
  async (t) => {
    const { dir, clients, r } = t.context
    const api = await load<unknown, APIGatewayProxyResult>(dir, 'api')
    const worker = await load<SQSEvent, SQSBatchResponse>(dir, 'worker')
    // Act
    const accepted = await api(awsEvent('apigw-rest-post-orders-base64.json'), fakeContext())
    const queued = await drain(clients.sqs, r.mainQueueUrl)
    const settled = await worker(sqsEvent(...queued.map((m) => sqsRecord(m.Body!))), fakeContext())
    // Assess
    t.is(accepted.statusCode, 202)
    t.deepEqual(settled, { batchItemFailures: [] })
    const { Item } = await clients.dynamo.send(
      new GetCommand({ TableName: r.ordersTable, Key: { pk: 'ORDER#ORD-2026-001', sk: 'ORDER' } }),
    )
    t.like(Item, { status: 'PROCESSED', stock_status: 'UNTRACKED', order: seed('tp-valid.json') as object })
  },
)

test.serial(
  'the generator bundle writes one file of GENERATED_ORDERS orders under raw/ of INTAKE_BUCKET',
  async (t) => {
    const { dir, clients, r } = t.context
    Object.assign(process.env, { INTAKE_BUCKET: r.bucket, GENERATED_ORDERS: '25', GENERATOR_SEED: '3' })
    const generator = await load<object, { key: string; orders: number }>(dir, 'generator')
    // Act
    const file = await generator({ scheduledTime: '2026-01-07T06:00:00Z' }, fakeContext())
    // Assess
    t.is(file.key, 'raw/year=2026/month=01/day=07/orders-3-2026-01-07.jsonl')
    const object = await clients.s3.send(new GetObjectCommand({ Bucket: r.bucket, Key: file.key }))
    t.is((await object.Body!.transformToString()).trimEnd().split('\n').length, 25)
    t.true(statSync(join(dir, 'generator', 'index.mjs')).size < 500 * 1024, `under 500 KB`)
  },
)

test.serial(
  'with METRICS_MODE=emf the API bundle sends no PutMetricData and writes its counts as one EMF line',
  async (t) => {
    const { dir, clients, r } = t.context
    const emf = { ...r, metricsNamespace: `${r.metricsNamespace}/emf` }
    const saved = { METRICS_MODE: process.env.METRICS_MODE, METRICS_NAMESPACE: process.env.METRICS_NAMESPACE }
    Object.assign(process.env, { METRICS_MODE: 'emf', METRICS_NAMESPACE: emf.metricsNamespace })
    t.teardown(() => Object.assign(process.env, saved))
    // A cold start of its own (another module instance), so that it reads this environment.
    const { handler: api } = (await import(`${pathToFileURL(join(dir, 'api', 'index.mjs')).href}?emf`)) as {
      handler: Handler<unknown, APIGatewayProxyResult>
    }
    // Act
    const { result, lines } = await captureStdout(async () =>
      api(awsEvent('apigw-rest-post-orders-missing-email.json'), fakeContext()),
    )
    // Assess
    t.is(result.statusCode, 400)
    t.is(lines.length, 1)
    t.like(JSON.parse(lines[0]!), {
      _aws: { CloudWatchMetrics: [{ Namespace: emf.metricsNamespace, Dimensions: [['Stage']] }] },
      Stage: r.stage,
      OrdersRejected: 1,
      OrdersProcessed: 0,
    })
    t.is(await metricSum(clients.cloudWatch, emf, 'OrdersRejected'), 0, 'nothing put on the emulator')
  },
)
