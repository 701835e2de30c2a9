/**
 * Cost per million orders: the happy path of both doors (an S3 JSONL file of 1,000 orders through the validator,
 * and 1,000 POST /orders through the API function), then the worker in batches of 10, with stock tracking off and
 * on, metrics by PutMetricData (METRICS_MODE=api) and by an EMF line on stdout (emf). Everything the functions send
 * is counted by fake-aws.ts's middleware (requests, the DynamoDB items written, the SQS payloads, PutMetricData's
 * data), their logs are counted byte by byte, their CPU time is measured, and a run with a simulated network round
 * trip measures how long they wait on it; cost.ts turns that into dollars with prices.json.
 *
 * METRICS_MODE=emf is measured directly when the functions honour `metricsMode` (no PutMetricData left, EMF lines
 * on stdout); otherwise it is derived from the api run: its requests less the PutMetricData calls, its logs plus the
 * EMF line each of those calls would have been (lib/aws/metrics.ts embeddedMetrics()), its wait less one round trip
 * per call. The output says which.
 */
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import type { PutMetricDataCommandInput } from '@aws-sdk/client-cloudwatch'
import type { SendMessageBatchCommandInput } from '@aws-sdk/client-sqs'
import type { APIGatewayProxyEvent, APIGatewayProxyResult, SQSBatchResponse } from 'aws-lambda'
import { buildApi } from '../../handlers/api.ts'
import { buildValidator } from '../../handlers/validator.ts'
import { embeddedMetrics } from '../../lib/aws/metrics.ts'
import type { MetricName } from '../../lib/orders/outcomes.ts'
import type { Config } from '../../lib/runtime/config.ts'
import { createLogger, type Logger } from '../../lib/runtime/logger.ts'
import { awsEvent, fakeContext } from '../helpers/fixtures.ts'
import { billedMs, costPerMillion, loadPrices, sqsChunks, type CostBreakdown, type UsagePerOrder } from './cost.ts'
import {
  batches,
  benchConfig,
  fakeAws,
  ingestEvent,
  jsonl,
  mainQueueRecord,
  makeOrders,
  workerOn,
  type DynamoWrite,
  type FakeAws,
  type QueuedMessage,
} from './fake-aws.ts'
import { fmt, median, round, runIfMain, table, type Section } from './helpers.ts'

const ORDERS = 1000
const BATCH = 10
const RUNS = 3
/**
 * An ASSUMPTION, not a measure: the time one AWS request waits for its answer inside the region. The bulk section's
 * figure (README, "Bulk intake": 15 ms per SQS call); the latency runs hold every answer back this long.
 */
const LATENCY_MS = 15
/** The latency runs: the validator's whole file, the first 20 worker batches, the first 50 API orders. */
const LATENCY_WORKER_BATCHES = 20
const LATENCY_API_ORDERS = 50
const TARGET_EMF_S3_REQUESTS = 1.11

type Mode = 'api' | 'emf'
type Path = 's3' | 'api'
type Fn = 'validator' | 'api' | 'worker'

const root = new URL('../../', import.meta.url)

/** A parameter's Default in cloudformation/main.yaml (read, never edited here). */
const templateDefault = (name: string): string => {
  const text = readFileSync(new URL('cloudformation/main.yaml', root), 'utf8')
  const match = new RegExp(`^  ${name}:\\n(?:    .*\\n)*?    Default: '?([^'\\n]+)'?$`, 'm').exec(text)
  if (!match) throw new Error(`cloudformation/main.yaml: no Default for ${name}`)
  return match[1]!.trim()
}

/**
 * The API stage's access log line (cloudformation/api.yaml AccessLogSetting.Format, folded: its lines joined by
 * spaces) rendered with the values of one POST /orders: one line per API request goes to CloudWatch Logs.
 */
const accessLogLine = (): string => {
  const text = readFileSync(new URL('cloudformation/api.yaml', root), 'utf8')
  const match = /^( +)Format: >-\n((?:\1 {2}.*\n)+)/m.exec(text)
  if (!match) throw new Error('cloudformation/api.yaml: no AccessLogSetting Format')
  const format = match[2]!
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ')
  const sample: Record<string, string> = {
    requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
    requestTimeEpoch: '1767780000123',
    'identity.sourceIp': '203.0.113.10',
    httpMethod: 'POST',
    path: '/prod/orders',
    resourcePath: '/orders',
    status: '202',
    responseLatency: '87',
    integrationLatency: '81',
    responseLength: '83',
    'identity.apiKeyId': 'abcdefghij0123456789',
    'error.message': '-',
    integrationErrorMessage: '-',
  }
  return `${format.replace(/\$context\.([A-Za-z.]+)/g, (_, key: string) => sample[key] ?? '-')}\n`
}

/**
 * Lambda's own lines per invocation, in the text log format (START, END, REPORT; as documented in
 * https://docs.aws.amazon.com/lambda/latest/dg/nodejs-logging.html), with a request id's 36 characters; without
 * the XRAY part REPORT gets on sampled invocations.
 */
const PLATFORM_LINES = [
  'START RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95 Version: $LATEST\n',
  'END RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95\n',
  'REPORT RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 95 MB\t\n',
]
const PLATFORM_BYTES = PLATFORM_LINES.reduce((sum, line) => sum + Buffer.byteLength(line), 0)

interface FnMeasure {
  invocations: number
  cpuUs: number
  wallMs: number
  logBytes: number
  logLines: number
  /** What reached process.stdout outside the logger (the EMF lines of METRICS_MODE=emf). */
  stdoutBytes: number
  stdoutLines: number
  requests: Record<string, number>
  /** The payload (bodies and attributes) of each SendMessageBatch, bytes. */
  sendPayloads: number[]
  metricCalls: PutMetricDataCommandInput[]
}

interface PathRun {
  path: Path
  stockTracking: boolean
  mode: Mode
  orders: number
  fns: Partial<Record<Fn, FnMeasure>>
  writes: DynamoWrite[]
  /** The worker's batches: the payload of each, bytes (what the poller's ReceiveMessage returns). */
  workerBatchPayloads: number[]
}

const emptyMeasure = (): FnMeasure => ({
  invocations: 0,
  cpuUs: 0,
  wallMs: 0,
  logBytes: 0,
  logLines: 0,
  stdoutBytes: 0,
  stdoutLines: 0,
  requests: {},
  sendPayloads: [],
  metricCalls: [],
})

/** A logger at the deployed level (info) whose lines are counted, then dropped. */
const countingLogger = () => {
  const sink = {
    bytes: 0,
    lines: 0,
    write(line: string) {
      sink.bytes += Buffer.byteLength(line)
      sink.lines++
    },
  }
  return { sink, logger: createLogger({ level: 'info', destination: sink }) }
}

/** Runs `fn` with process.stdout counting (and swallowing) what is written to it. */
const countingStdout = async <T>(fn: () => Promise<T>): Promise<[T, { bytes: number; lines: number }]> => {
  const original = process.stdout.write
  const seen = { bytes: 0, lines: 0 }
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    seen.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength
    seen.lines += String(chunk).split('\n').length - 1
    const callback = rest.find((r): r is () => void => typeof r === 'function')
    callback?.()
    return true
  }) as typeof process.stdout.write
  try {
    return [await fn(), seen]
  } finally {
    process.stdout.write = original
  }
}

const messageBytes = (body: string, attributes: Record<string, { StringValue?: string }> = {}): number =>
  Buffer.byteLength(body) +
  Object.entries(attributes).reduce(
    (sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v.StringValue ?? ''),
    0,
  )

type Middleware = (
  next: (args: { input: unknown }) => Promise<unknown>,
  context: { commandName?: string },
) => (args: { input: unknown }) => Promise<unknown>
interface Stacked {
  middlewareStack: { add: (m: Middleware, options: { step: 'initialize'; name: string }) => void }
}

/** Records, by phase, each SendMessageBatch's payload and each PutMetricData's data (what the EMF line would hold). */
const recordInputs = (aws: FakeAws, measure: () => FnMeasure): void => {
  const sqs = aws.clients.sqs as unknown as Stacked
  const cloudWatch = aws.clients.cloudWatch as unknown as Stacked
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'SendMessageBatchCommand') {
        const { Entries = [] } = args.input as SendMessageBatchCommandInput
        measure().sendPayloads.push(
          Entries.reduce((sum, e) => sum + messageBytes(e.MessageBody ?? '', e.MessageAttributes), 0),
        )
      }
      return next(args)
    },
    { step: 'initialize', name: 'benchSqsPayload' },
  )
  cloudWatch.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'PutMetricDataCommand')
        measure().metricCalls.push(args.input as PutMetricDataCommandInput)
      return next(args)
    },
    { step: 'initialize', name: 'benchMetricData' },
  )
}

/** One invocation, its CPU and wall time and its stdout added to `m`. */
const timed = async <T>(m: FnMeasure, fn: () => Promise<T>): Promise<T> => {
  const cpu = process.cpuUsage()
  const start = performance.now()
  const [result, out] = await countingStdout(fn)
  m.wallMs += performance.now() - start
  const used = process.cpuUsage(cpu)
  m.cpuUs += used.user + used.system
  m.invocations++
  m.stdoutBytes += out.bytes
  m.stdoutLines += out.lines
  return result
}

const apiEvent = (order: Record<string, unknown>, i: number): APIGatewayProxyEvent => {
  const base = awsEvent<APIGatewayProxyEvent>('apigw-rest-post-orders.json')
  return {
    ...base,
    headers: { ...base.headers, 'Idempotency-Key': `bench-${i}` },
    body: JSON.stringify(order),
    requestContext: { ...base.requestContext, requestId: `bench-request-${i}` },
  }
}

/**
 * A fake account reused run after run, as a warm Lambda container reuses its clients: the first request of a new
 * SDK client does work (endpoint, credentials, code first run) that a warm invocation does not.
 */
interface Rig {
  aws: FakeAws
  current: FnMeasure
}
const rig = (latencyMs = 0): Rig => {
  const r: Rig = { aws: fakeAws({ latencyMs }), current: emptyMeasure() }
  recordInputs(r.aws, () => r.current)
  return r
}

const runPath = async (
  r: Rig,
  path: Path,
  stockTracking: boolean,
  mode: Mode,
  { orders = ORDERS, maxWorkerBatches = Infinity } = {},
): Promise<PathRun> => {
  const { aws } = r
  aws.requests.clear()
  aws.writes.length = 0
  aws.queued.clear()
  aws.objects.clear()
  // metricsMode: honoured by the functions that know it (METRICS_MODE), ignored by those that do not.
  const config = { ...benchConfig(stockTracking), metricsMode: mode } as Config
  const run: PathRun = { path, stockTracking, mode, orders, fns: {}, writes: [], workerBatchPayloads: [] }
  const phase = (fn: Fn, logger: ReturnType<typeof countingLogger>) => {
    const current = run.fns[fn] ?? emptyMeasure()
    r.current = current
    run.fns[fn] = current
    aws.phase = fn
    return { m: current, logger: logger.logger as Logger, sink: logger.sink }
  }

  let queued: QueuedMessage[]
  const intake = countingLogger()
  if (path === 's3') {
    const { m, logger } = phase('validator', intake)
    // As runValidator (fake-aws.ts) does, with only the invocation timed.
    const key = `orders/bench/${orders}-orders.jsonl`
    const file = jsonl(makeOrders(orders, 'COST'))
    aws.objects.set(key, file)
    const { dynamo, sqs, s3, sns, cloudWatch } = aws.clients
    const validator = buildValidator({ config, sqs, dynamo, s3, sns, cloudWatch, logger })
    const event = ingestEvent(key, file.length)
    const response = (await timed(m, () => validator(event, fakeContext()))) as SQSBatchResponse
    if (response.batchItemFailures.length > 0) throw new Error(`the validator failed: ${JSON.stringify(response)}`)
    queued = aws.queued.get(config.mainQueueUrl) ?? []
    if (queued.length !== orders) throw new Error(`the validator queued ${queued.length} of ${orders} orders`)
  } else {
    const { m, logger } = phase('api', intake)
    const api = buildApi({
      config,
      dynamo: aws.clients.dynamo,
      sqs: aws.clients.sqs,
      cloudWatch: aws.clients.cloudWatch,
      logger,
    })
    const events = makeOrders(orders, 'API-COST').map(apiEvent)
    for (const event of events) {
      const response = (await timed(m, () => api(event as never, fakeContext() as never))) as APIGatewayProxyResult
      if (response.statusCode !== 202) throw new Error(`POST /orders answered ${response.statusCode}: ${response.body}`)
    }
    queued = aws.queued.get(config.mainQueueUrl) ?? []
    if (queued.length !== orders) throw new Error(`the API queued ${queued.length} of ${orders} orders`)
  }
  run.fns[path === 's3' ? 'validator' : 'api']!.logBytes = intake.sink.bytes
  run.fns[path === 's3' ? 'validator' : 'api']!.logLines = intake.sink.lines

  const work = countingLogger()
  const { m, logger } = phase('worker', work)
  const worker = workerOn(aws, config, logger)
  for (const batch of batches(queued, BATCH).slice(0, maxWorkerBatches)) {
    run.workerBatchPayloads.push(batch.reduce((sum, msg) => sum + Buffer.byteLength(msg.body), 0))
    const records = batch.map(mainQueueRecord)
    await timed(m, () => worker(records))
  }
  m.logBytes = work.sink.bytes
  m.logLines = work.sink.lines
  for (const [fn, requests] of aws.requests)
    if (run.fns[fn as Fn]) run.fns[fn as Fn]!.requests = Object.fromEntries(requests)
  run.writes = [...aws.writes]
  return run
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0)
const putMetricData = (m: FnMeasure | undefined): number => m?.requests['CloudWatch PutMetricData'] ?? 0

/** The EMF line one PutMetricData call would have been (the same counts, namespace, Stage and time). */
const emfLineBytes = (call: PutMetricDataCommandInput): number => {
  const data = call.MetricData ?? []
  const counts = data.map((d): [MetricName, number] => [d.MetricName as MetricName, d.Value ?? 0])
  const stage = data[0]?.Dimensions?.find((d) => d.Name === 'Stage')?.Value ?? ''
  const at = data[0]?.Timestamp instanceof Date ? data[0].Timestamp : new Date()
  return Buffer.byteLength(`${JSON.stringify(embeddedMetrics(counts, call.Namespace ?? '', stage, at))}\n`)
}

/** DynamoDB write request units by the sizing rules (as the requests section): 1 per KB, 2 per KB in a transaction. */
const writeUnits = (writes: DynamoWrite[]): number =>
  sum(writes.map((w) => Math.ceil(w.ruleBytes / 1024) * (w.kind === 'PutItem' ? 1 : 2)))

const DYNAMO_OPERATIONS = new Set(['PutItem', 'TransactWriteItems', 'UpdateItem', 'GetItem'])

/** A scenario's figures per order. `derivedEmf`: the api run read as METRICS_MODE=emf (see the header). */
interface Scenario {
  path: Path
  stockTracking: boolean
  mode: Mode
  basis: 'measured' | 'derived from the api run'
  requestsPerOrder: number
  requestsByName: Record<string, number>
  putMetricDataPerOrder: number
  logBytesPerOrder: number
  emfBytesPerInvocation: number
  functions: { name: Fn; invocationsPerOrder: number; cpuMs: number; waitMs: number; billedMs: number }[]
  usage: UsagePerOrder
  cost: CostBreakdown
}

const scenarioOf = (
  runs: PathRun[],
  latency: PathRun,
  { memoryMb, derivedEmf }: { memoryMb: number; derivedEmf: boolean },
): Omit<Scenario, 'cost'> & { usage: UsagePerOrder } => {
  const [first] = runs as [PathRun]
  const { path, orders } = first
  const fns = (Object.keys(first.fns) as Fn[]).filter((fn) => first.fns[fn])
  const byName: Record<string, number> = {}
  for (const fn of fns)
    for (const [name, count] of Object.entries(first.fns[fn]!.requests)) byName[name] = (byName[name] ?? 0) + count
  const pmd = sum(fns.map((fn) => putMetricData(first.fns[fn])))
  if (derivedEmf) delete byName['CloudWatch PutMetricData']
  const total = sum(Object.values(byName))

  const functions = fns.map((fn) => {
    const m = first.fns[fn]!
    const cpuMs = median(runs.map((r) => r.fns[fn]!.cpuUs / r.fns[fn]!.invocations)) / 1000
    const l = latency.fns[fn]!
    let waitMs = Math.max(0, (l.wallMs - l.cpuUs / 1000) / l.invocations)
    // emf derived: the PutMetricData round trip of each invocation is not waited for.
    if (derivedEmf) waitMs = Math.max(0, waitMs - (putMetricData(l) / l.invocations) * LATENCY_MS)
    return {
      name: fn,
      invocationsPerOrder: m.invocations / orders,
      cpuMs,
      waitMs,
      billedMs: billedMs(cpuMs, waitMs, memoryMb),
    }
  })

  const emfBytes = derivedEmf
    ? sum(fns.flatMap((fn) => first.fns[fn]!.metricCalls.map(emfLineBytes)))
    : sum(fns.map((fn) => first.fns[fn]!.stdoutBytes))
  const emfLines = derivedEmf ? pmd : sum(fns.map((fn) => first.fns[fn]!.stdoutLines))
  const invocations = sum(fns.map((fn) => first.fns[fn]!.invocations))
  const apiRequests = first.fns.api?.invocations ?? 0
  const logBytes =
    sum(fns.map((fn) => first.fns[fn]!.logBytes)) +
    emfBytes +
    invocations * PLATFORM_BYTES +
    apiRequests * Buffer.byteLength(accessLogLine())

  for (const name of Object.keys(byName))
    if (name.startsWith('DynamoDB ') && !DYNAMO_OPERATIONS.has(name.slice('DynamoDB '.length)))
      throw new Error(`the cost model has no capacity rule for ${name}: add one`)

  // SQS as billed: what the functions send (each SendMessageBatch by its 64 KB chunks), plus what the bench does not
  // count: Lambda's pollers (one ReceiveMessage, by the chunks of the batch it returns, and one DeleteMessageBatch per
  // invocation) and, on the S3 path, S3's SendMessage of the object-created notification.
  const sends = sum(fns.flatMap((fn) => first.fns[fn]!.sendPayloads.map(sqsChunks)))
  const workerPolls = sum(first.workerBatchPayloads.map(sqsChunks)) + first.fns.worker!.invocations
  const ingestPolls = path === 's3' ? 3 * first.fns.validator!.invocations : 0
  const usage: UsagePerOrder = {
    lambda: functions.map((f) => ({
      name: f.name,
      invocationsPerOrder: f.invocationsPerOrder,
      billedMsPerInvocation: f.billedMs,
    })),
    memoryMb,
    sqsRequests: (sends + workerPolls + ingestPolls) / orders,
    dynamoWriteUnits: (writeUnits(first.writes) + (byName['DynamoDB UpdateItem'] ?? 0)) / orders,
    dynamoReadUnits: (0.5 * (byName['DynamoDB GetItem'] ?? 0)) / orders,
    // The S3 path: the customer's upload of the file (a PUT billed to the bucket's owner) and the report's PutObject.
    s3Puts: ((path === 's3' ? 1 : 0) + (byName['S3 PutObject'] ?? 0)) / orders,
    s3Gets: (byName['S3 GetObject'] ?? 0) / orders,
    cloudWatchRequests: (byName['CloudWatch PutMetricData'] ?? 0) / orders,
    logBytes: logBytes / orders,
    apiGatewayRequests: apiRequests / orders,
    snsPublishes: ((byName['SNS Publish'] ?? 0) + (byName['SNS PublishBatch'] ?? 0)) / orders,
  }
  return {
    path,
    stockTracking: first.stockTracking,
    mode: derivedEmf ? 'emf' : first.mode,
    basis: derivedEmf ? 'derived from the api run' : 'measured',
    requestsPerOrder: total / orders,
    requestsByName: Object.fromEntries(Object.entries(byName).map(([k, v]) => [k, round(v / orders, 4)])),
    putMetricDataPerOrder: (byName['CloudWatch PutMetricData'] ?? 0) / orders,
    logBytesPerOrder: logBytes / orders,
    emfBytesPerInvocation: emfLines > 0 ? emfBytes / emfLines : 0,
    functions,
    usage,
  }
}

const PATH_LABEL: Record<Path, string> = {
  s3: `S3 JSONL (${fmt(ORDERS)} orders a file)`,
  api: 'API (POST /orders)',
}

export const cost = async (): Promise<Section> => {
  const prices = loadPrices()
  const memoryMb = Number(templateDefault('FunctionMemory'))
  const architecture = templateDefault('Architecture')
  const scenarios: Scenario[] = []
  // Does this code honour metricsMode? A small emf run: no PutMetricData left and EMF lines on stdout.
  const probe = await runPath(rig(), 's3', false, 'emf', { orders: 100 })
  const emfMeasured =
    sum(Object.values(probe.fns).map((m) => putMetricData(m))) === 0 &&
    sum(Object.values(probe.fns).map((m) => m!.stdoutLines)) > 0

  const measure = async (path: Path, stockTracking: boolean, mode: Mode) => {
    const warm = rig()
    await runPath(warm, path, stockTracking, mode) // warm-up: the JIT, the clients' first requests
    const runs: PathRun[] = []
    for (let i = 0; i < RUNS; i++) runs.push(await runPath(warm, path, stockTracking, mode))
    const slow = rig(LATENCY_MS)
    await runPath(slow, path, stockTracking, mode, { orders: 20, maxWorkerBatches: 2 })
    const latency = await runPath(slow, path, stockTracking, mode, {
      orders: path === 's3' ? ORDERS : LATENCY_API_ORDERS,
      maxWorkerBatches: LATENCY_WORKER_BATCHES,
    })
    return { runs, latency }
  }
  // One pass of everything first, so that the first scenario measured does not pay for the JIT's first runs.
  for (const path of ['s3', 'api'] as const) for (const mode of ['api', 'emf'] as const) await measure(path, true, mode)
  for (const path of ['s3', 'api'] as const) {
    for (const stockTracking of [false, true]) {
      const api = await measure(path, stockTracking, 'api')
      const emf = emfMeasured ? await measure(path, stockTracking, 'emf') : api
      for (const [runs, latency, derivedEmf] of [
        [api.runs, api.latency, false],
        [emf.runs, emf.latency, !emfMeasured],
      ] as const) {
        const scenario = scenarioOf(runs, latency, { memoryMb, derivedEmf })
        scenarios.push({ ...scenario, cost: costPerMillion(scenario.usage, prices) })
      }
    }
  }

  const find = (path: Path, stock: boolean, mode: Mode) =>
    scenarios.find((s) => s.path === path && s.stockTracking === stock && s.mode === mode)!
  const columns = (['s3', 'api'] as const).flatMap((path) =>
    [false, true].flatMap((stock) => (['api', 'emf'] as const).map((mode) => find(path, stock, mode))),
  )
  const colName = (s: Scenario) => `${s.stockTracking ? 'ON' : 'OFF'} ${s.mode}`
  // helpers.ts target() prints its bound without decimals; 1.11 needs two.
  const emfTarget = [false, true].map((stock) => {
    const pass = find('s3', stock, 'emf').requestsPerOrder <= TARGET_EMF_S3_REQUESTS
    return { pass, text: `≤ ${fmt(TARGET_EMF_S3_REQUESTS, 2)} req/order ${pass ? 'PASS' : 'OVER'}` }
  })

  const requestRows = (['s3', 'api'] as const).map((path) => [
    PATH_LABEL[path],
    ...[false, true].flatMap((stock) =>
      (['api', 'emf'] as const).map((mode) => fmt(find(path, stock, mode).requestsPerOrder, 3)),
    ),
    path === 's3' ? `emf: OFF ${emfTarget[0]!.text}, ON ${emfTarget[1]!.text}` : '',
  ])

  const costTable = (path: Path): string[] => {
    const cols = columns.filter((s) => s.path === path)
    const rows = cols[0]!.cost.lines.map((line, i) => [
      line.label,
      ...cols.map((s) => fmt(s.cost.lines[i]!.usdPerMillionOrders, 2)),
    ])
    rows.push(['total $ per million orders', ...cols.map((s) => fmt(s.cost.usdPerMillionOrders, 2))])
    return table(['line (USD per million orders)', ...cols.map(colName)], rows)
  }

  const inputRows = columns.map((s) => [
    `${s.path === 's3' ? 'S3' : 'API'} ${colName(s)}`,
    s.basis === 'measured' ? 'measured' : 'derived',
    fmt(s.requestsPerOrder, 3),
    fmt(s.usage.sqsRequests, 3),
    fmt(s.usage.dynamoWriteUnits, 2),
    fmt(s.usage.dynamoReadUnits, 2),
    fmt(s.putMetricDataPerOrder, 3),
    fmt(s.logBytesPerOrder, 0),
    s.emfBytesPerInvocation > 0 ? fmt(s.emfBytesPerInvocation, 0) : '',
    s.functions.map((f) => `${f.name} ${fmt(f.cpuMs, 2)}+${fmt(f.waitMs, 1)}`).join(', '),
  ])

  const priceRegions = [...new Set(Object.values(prices.prices).map((p) => p.region))]
  const lines = [
    `  Happy path, ${fmt(ORDERS)} valid orders a run: an S3 JSONL file through the validator, or ${fmt(ORDERS)} POST /orders through the`,
    `  API function; then the worker in batches of ${BATCH} (full batches: a busy queue). SDK in full, network faked (fake-aws.ts).`,
    `  Functions: ${memoryMb} MB, ${architecture} (cloudformation/main.yaml defaults); prices: test/bench/prices.json (${priceRegions.join('; ')}).`,
    `  METRICS_MODE=emf: ${emfMeasured ? 'MEASURED (the functions honour metricsMode: no PutMetricData, EMF lines on stdout)' : 'DERIVED from the api runs: requests less PutMetricData, logs plus the EMF line each call would be (embeddedMetrics()), wait less one round trip a call'}.`,
    '',
    '  AWS requests per order, validator or API + worker (counted; emf as above):',
    ...table(['path', 'OFF api', 'OFF emf', 'ON api', 'ON emf', 'target'], requestRows, { noteColumn: true }),
    '',
    `  Cost per million orders, ${PATH_LABEL.s3} (USD, ${priceRegions.length === 1 ? priceRegions[0] : 'see prices.json'}):`,
    ...costTable('s3'),
    '',
    `  Cost per million orders, ${PATH_LABEL.api} (USD):`,
    ...costTable('api'),
    '',
    '  Inputs per order: requests counted; SQS billed = sends by 64 KB chunk + Lambda pollers (ReceiveMessage + DeleteMessageBatch',
    "  per batch, not counted: estimated) + on the S3 path S3's notification; WRU by DynamoDB's sizing rules (2 per KB in a",
    '  transaction) + 1 per UpdateItem; RRU 0.5 per GetItem (eventually consistent, < 4 KB); log bytes = pino lines at info +',
    `  EMF lines + Lambda's START/END/REPORT (${PLATFORM_BYTES} B an invocation) + the API access log line (${Buffer.byteLength(accessLogLine())} B a request).`,
    `  Billed ms = CPU ms on this machine × ${fmt(1769 / memoryMb, 2)} (${memoryMb} MB is ${fmt(memoryMb / 1769, 2)} of a vCPU) + network wait, measured with every`,
    `  answer held back ${LATENCY_MS} ms (an ASSUMED in-region latency), rounded up per invocation; "cpu+wait" below, ms.`,
    '',
    ...table(
      [
        'scenario',
        'basis',
        'req/order',
        'SQS billed',
        'WRU',
        'RRU',
        'PutMetricData',
        'log B/order',
        'EMF B/line',
        'cpu+wait ms per invocation',
      ],
      inputRows,
      { noteColumn: true },
    ),
    '',
    '  Not in the figures: storage (S3 objects, DynamoDB items, log retention), custom metrics and alarms per month, X-Ray',
    "  traces (Tracing on: sampled), KMS requests of the encrypted queues, WAF (prod), the pollers' empty receives of an idle",
    '  queue, cold starts, the order workflow (Step Functions, its tasks and notifications) and the exporter. No free tier.',
  ]

  return {
    title: '7. Cost per million orders — requests, write units, GB-seconds and log bytes × prices.json',
    lines,
    figures: {
      orders: ORDERS,
      batchSize: BATCH,
      runs: RUNS,
      memoryMb,
      architecture,
      pricesFile: 'test/bench/prices.json',
      priceRegions,
      assumedLatencyMs: LATENCY_MS,
      lambdaMbPerVcpu: 1769,
      platformLogBytesPerInvocation: PLATFORM_BYTES,
      accessLogBytesPerRequest: Buffer.byteLength(accessLogLine()),
      emfBasis: emfMeasured ? 'measured' : 'derived from the api runs (requests less PutMetricData, + EMF line bytes)',
      requestsPerOrder: Object.fromEntries(
        (['s3', 'api'] as const).map((path) => [
          path,
          Object.fromEntries(
            [false, true].flatMap((stock) =>
              (['api', 'emf'] as const).map((mode) => [
                `stock${stock ? 'On' : 'Off'}_${mode}`,
                round(find(path, stock, mode).requestsPerOrder, 4),
              ]),
            ),
          ),
        ]),
      ),
      emfS3TargetRequestsPerOrder: TARGET_EMF_S3_REQUESTS,
      emfS3Pass: emfTarget.every((t) => t.pass),
      scenarios: columns.map((s) => ({
        path: s.path,
        stockTracking: s.stockTracking,
        metricsMode: s.mode,
        basis: s.basis,
        requestsPerOrder: round(s.requestsPerOrder, 4),
        requestsByName: s.requestsByName,
        logBytesPerOrder: round(s.logBytesPerOrder, 1),
        emfBytesPerLine: round(s.emfBytesPerInvocation, 1),
        functions: s.functions.map((f) => ({
          ...f,
          invocationsPerOrder: round(f.invocationsPerOrder, 4),
          cpuMs: round(f.cpuMs, 3),
          waitMs: round(f.waitMs, 2),
        })),
        usagePerOrder: {
          ...s.usage,
          sqsRequests: round(s.usage.sqsRequests, 4),
          dynamoWriteUnits: round(s.usage.dynamoWriteUnits, 4),
          dynamoReadUnits: round(s.usage.dynamoReadUnits, 4),
          logBytes: round(s.usage.logBytes, 1),
        },
        usdPerMillionOrders: round(s.cost.usdPerMillionOrders, 2),
        lines: Object.fromEntries(s.cost.lines.map((l) => [l.id, round(l.usdPerMillionOrders, 4)])),
      })),
    },
  }
}

await runIfMain(import.meta.url, cost)
