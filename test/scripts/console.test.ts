/**
 * The console's parts below the browser: which requests its server refuses, the checks of what the pages send, the
 * form's placing of the API's errors, and (against moto) the latest intake reports and the metrics per minute.
 * The pages themselves are tested in a real browser: test/e2e/console.test.ts.
 */
import anyTest, { type TestFn } from 'ava'
import { writeFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { embeddedMetrics } from '../../lib/aws/metrics.ts'
import type { FileReport } from '../../lib/intake/report.ts'
import { program } from '../../scripts/console.ts'
import { refusal, replayRequest } from '../../scripts/console/server.ts'
import { signedHeaders } from '../../scripts/console/service.ts'
import { fieldOf } from '../../scripts/console/web/order-form.tsx'
import { latestReports } from '../../scripts/ops/intake.ts'
import { metricsPerMinute } from '../../scripts/ops/observe.ts'
import { checkLevel, parseLevel } from '../../scripts/ops/stock.ts'
import { tempDir } from '../helpers/fixtures.ts'
import { createResources, useMoto, type Clients, type Moto } from '../helpers/moto.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients }>
useMoto(test)

test('npm run console --help names every option it takes', (t) => {
  const help = program.helpInformation()
  for (const option of [
    '--endpoint',
    '--profile',
    '--region',
    '--prefix',
    '--port',
    '--api-url',
    '--api-key',
    '--write-form',
  ])
    t.true(help.includes(option), `--help lists ${option}`)
})

test('the server refuses a foreign Host, a change from another origin, and a change that is not JSON', (t) => {
  const req = (method: string, headers: Record<string, string>) => ({ method, headers })
  const json = { 'content-type': 'application/json' }
  t.is(refusal(req('GET', { host: '127.0.0.1:3001' }), 3001), undefined)
  t.is(refusal(req('GET', { host: 'localhost:3001' }), 3001), undefined)
  t.like(refusal(req('GET', { host: 'rebound.example.com:3001' }), 3001), { status: 403 })
  t.like(refusal(req('GET', {}), 3001), { status: 403 })
  t.is(refusal(req('POST', { host: '127.0.0.1:3001', origin: 'http://127.0.0.1:3001', ...json }), 3001), undefined)
  t.like(refusal(req('POST', { host: '127.0.0.1:3001', origin: 'http://localhost:3001', ...json }), 3001), {
    status: 403,
  })
  t.like(refusal(req('POST', { host: '127.0.0.1:3001', 'content-type': 'text/plain' }), 3001), { status: 415 })
  t.like(refusal(req('POST', { host: '127.0.0.1:3001', 'content-type': 'multipart/form-data' }), 3001), {
    status: 415,
  })
})

test('what the pages send is checked, and each error names the field', (t) => {
  t.deepEqual(replayRequest({ dryRun: true }), { dryRun: true, errorClasses: undefined, includePermanent: undefined })
  t.deepEqual(replayRequest({ dryRun: false, errorClasses: ['Retried'], includePermanent: true }), {
    dryRun: false,
    errorClasses: ['Retried'],
    includePermanent: true,
  })
  t.throws(() => replayRequest({}), { message: /^dryRun:/ })
  t.throws(() => replayRequest({ dryRun: true, errorClasses: 'Retried' }), { message: /^errorClasses:/ })
  t.throws(() => replayRequest({ dryRun: true, includePermanent: 'yes' }), { message: /^includePermanent:/ })
  t.deepEqual(checkLevel('SKU-1', 12), ['SKU-1', 12])
  t.throws(() => checkLevel('SKU 1', 12), { message: /^sku:/ })
  t.throws(() => checkLevel('SKU-1', -1), { message: /^available:/ })
  t.throws(() => checkLevel('SKU-1', 1.5), { message: /^available:/ })
  t.throws(() => checkLevel('SKU-1', '12'), { message: /^available:/ })
  t.deepEqual(parseLevel('SKU-1=7'), ['SKU-1', 7])
  t.throws(() => parseLevel('SKU 1=7'), { message: /expected SKU=COUNT/ })
})

test("the form places each of the API's errors at the field its JSON pointer names", (t) => {
  const known = ['/customerEmail', '/items', '/items/0/quantity', '/shippingAddress', '/shippingAddress/city']
  t.is(fieldOf('/customerEmail', known), '/customerEmail')
  t.is(fieldOf('/items/0/quantity', known), '/items/0/quantity')
  t.is(fieldOf('/items/3/quantity', known), '/items')
  t.is(fieldOf('/shippingAddress/city', known), '/shippingAddress/city')
  t.is(fieldOf('/shippingAddress/state', known), '/shippingAddress')
  t.is(fieldOf('/customerEmailX', known), undefined)
  t.is(fieldOf('', known), undefined)
})

const report = (key: string): FileReport => ({
  bucket: 'b',
  key,
  correlationId: 'c',
  accepted: 1,
  rejected: 9,
  rejectedByReason: { MalformedOrderError: 9 },
  rejects: Array.from({ length: 9 }, (_, i) => ({ line: i + 2, class: 'MalformedOrderError', reason: 'not JSON' })),
  startedAt: '2026-01-07T10:00:00.000Z',
  finishedAt: '2026-01-07T10:00:01.000Z',
  durationMs: 1000,
  linesPerSecond: 10,
  ranges: 1,
})

test('the latest intake reports come first, with their first rejects; an unreadable one is left out', async (t) => {
  const { s3 } = t.context.clients
  const r = await createResources(t.context.clients, 'reports')
  const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: r.bucket, Key: key, Body: body }))
  await put('reports/orders/b-older.jsonl.json', JSON.stringify(report('orders/b-older.jsonl')))
  await put('orders/not-a-report.json', '{}')
  await sleep(1100) // S3 times are to the second
  await put('reports/orders/a-newer.jsonl.json', JSON.stringify(report('orders/a-newer.jsonl')))
  await put('reports/orders/broken.json', '{"not json')
  // Act
  const latest = await latestReports(s3, r.bucket, 10)
  // Assess
  t.deepEqual(
    latest.map((x) => x.key),
    ['orders/a-newer.jsonl', 'orders/b-older.jsonl'],
  )
  t.is(latest[0]?.rejects.length, 5, 'the first five rejects')
  t.is(latest[0]?.reportKey, 'reports/orders/a-newer.jsonl.json')
  t.is((await latestReports(s3, r.bucket, 1)).length, 1)
})

test('the metrics per minute add what CloudWatch holds and what the functions logged, each in its minute', async (t) => {
  const { cloudWatch } = t.context.clients
  const now = Date.now()
  const minute = (ago: number) => new Date(Math.floor(now / 60_000) * 60_000 - ago * 60_000 + 5_000)
  await cloudWatch.send(
    new PutMetricDataCommand({
      Namespace: 'PerMinute',
      MetricData: [
        { MetricName: 'OrdersProcessed', Value: 3, Timestamp: minute(5), Dimensions: [{ Name: 'Stage', Value: 't' }] },
        { MetricName: 'OrdersProcessed', Value: 2, Timestamp: minute(0), Dimensions: [{ Name: 'Stage', Value: 't' }] },
        { MetricName: 'OrdersProcessed', Value: 7, Timestamp: minute(0), Dimensions: [{ Name: 'Stage', Value: 'x' }] },
      ],
    }),
  )
  const dir = tempDir(t, 'per-minute-')
  const logged = embeddedMetrics([['OrdersProcessed', 4]], 'PerMinute', 't', minute(10))
  writeFileSync(join(dir, 'tp-order-worker.log'), `${JSON.stringify({ level: 40, ...logged })}\n`)
  // Act
  const { minutes, series } = await metricsPerMinute(cloudWatch, 'PerMinute', 't', dir, ['OrdersProcessed'], now)
  // Assess
  t.is(minutes.length, 60)
  t.is(minutes[59], new Date(Math.floor(now / 60_000) * 60_000).toISOString())
  const processed = series.OrdersProcessed!
  t.deepEqual([processed[59], processed[54], processed[49]], [2, 3, 4])
  t.is(
    processed.reduce((a, b) => a + b, 0),
    9,
  )
})

test("for an API with ApiAuth=IAM the order form's requests are signed for execute-api, and fetch sends them so", async (t) => {
  const seen: IncomingHttpHeaders[] = []
  const server = createServer((req, res) => {
    seen.push(req.headers)
    res.end('{}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod/orders?x=1`
  const body = '{"customerName":"A"}'
  const headers = await signedHeaders({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, 'eu-west-3', {
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': 'k-1' },
    body,
  })
  t.regex(
    headers.authorization ?? '',
    /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-3\/execute-api\/aws4_request, SignedHeaders=content-type;host;idempotency-key;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
  )
  await fetch(url, { method: 'POST', headers, body })
  t.like(seen[0], {
    authorization: headers.authorization,
    host: new URL(url).host,
    'x-amz-date': headers['x-amz-date'],
    'idempotency-key': 'k-1',
  })
})
