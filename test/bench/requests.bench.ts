/**
 * AWS requests per order on the happy path: 1,000 valid orders in one .jsonl through the validator (ingest-queue
 * event), then what it queued through the worker in batches of 10, with stock tracking off and on. Requests are
 * counted by a middleware in each SDK client's stack (see fake-aws.ts); DynamoDB write units are estimated from
 * the items actually sent.
 */
import { fmt, round, runIfMain, table, target, type Section } from './helpers.ts'
import {
  batches,
  benchConfig,
  benchLogger,
  fakeAws,
  mainQueueRecord,
  makeOrders,
  requestsOnTheNetwork,
  runValidator,
  workerOn,
  type DynamoWrite,
} from './fake-aws.ts'

const ORDERS = 1000
const BATCH = 10
const TARGET_REQUESTS = 1.25
/** A design with one call per order and step: SendMessage + GetItem (duplicate check) + PutItem + PutMetricData. */
const NAIVE_REQUESTS = 4

/** Table order: validator before worker, then in the order a message meets the services. */
const SERVICE_ORDER = ['S3', 'SQS', 'DynamoDB', 'SNS', 'CloudWatch']
const rank = (key: string): number => {
  const [fn = '', name = ''] = key.split('|')
  const service = SERVICE_ORDER.indexOf(name.split(' ')[0] ?? '')
  return (fn === 'validator' ? 0 : 100) + (service === -1 ? 50 : service)
}

const KB = 1024
/** Standard writes: 1 WCU per KB (rounded up) per item; transactional writes: 2 per KB per item. */
const wcu = (w: DynamoWrite, bytes: number): number => Math.ceil(bytes / KB) * (w.kind === 'PutItem' ? 1 : 2)

interface Run {
  stockTracking: boolean
  requests: Record<'validator' | 'worker', Record<string, number>>
  total: number
  perOrder: number
  writes: DynamoWrite[]
}

const runPipeline = async (stockTracking: boolean): Promise<Run> => {
  const aws = fakeAws()
  const before = requestsOnTheNetwork()
  const config = benchConfig(stockTracking)
  const logger = benchLogger()
  aws.phase = 'validator'
  const queued = await runValidator(aws, config, makeOrders(ORDERS), logger)
  aws.phase = 'worker'
  const worker = workerOn(aws, config, logger)
  for (const batch of batches(queued.map(mainQueueRecord), BATCH)) await worker(batch)
  const requests = {
    validator: Object.fromEntries(aws.requests.get('validator') ?? []),
    worker: Object.fromEntries(aws.requests.get('worker') ?? []),
  }
  const total = [...Object.values(requests.validator), ...Object.values(requests.worker)].reduce((a, b) => a + b, 0)
  const network = requestsOnTheNetwork() - before
  if (network !== total)
    throw new Error(`the middleware counted ${total} requests but ${network} reached the fake network`)
  return { stockTracking, requests, total, perOrder: total / ORDERS, writes: aws.writes }
}

const writeFigures = (writes: DynamoWrite[]) => {
  const orderItems = writes.filter((w) => w.kind !== 'TransactUpdate')
  const sum = (f: (w: DynamoWrite) => number) => writes.reduce((total, w) => total + f(w), 0)
  return {
    itemsPerOrder: writes.length / ORDERS,
    stockUpdatesPerOrder: (writes.length - orderItems.length) / ORDERS,
    wcuPerOrder: sum((w) => wcu(w, w.bytes)) / ORDERS,
    wcuPerOrderBySizingRules: sum((w) => wcu(w, w.ruleBytes)) / ORDERS,
    orderItemKbAvg: orderItems.reduce((total, w) => total + w.bytes, 0) / orderItems.length / KB,
    orderItemKbMax: Math.max(...orderItems.map((w) => w.bytes)) / KB,
    orderItemsOver1Kb: orderItems.filter((w) => w.bytes > KB).length / orderItems.length,
  }
}

export const requestsPerOrder = async (): Promise<Section> => {
  const runs = [await runPipeline(false), await runPipeline(true)]
  const [off, on] = runs as [Run, Run]
  const rowKeys = [
    ...new Set(
      runs.flatMap((r) =>
        (['validator', 'worker'] as const).flatMap((fn) => Object.keys(r.requests[fn]).map((name) => `${fn}|${name}`)),
      ),
    ),
  ].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
  const cell = (r: Run, key: string) => {
    const [fn, name] = key.split('|') as ['validator' | 'worker', string]
    return r.requests[fn][name] ?? 0
  }
  const rows = rowKeys.map((key) => {
    const [fn, name] = key.split('|') as [string, string]
    return [
      name,
      fn,
      fmt(cell(off, key)),
      fmt(cell(off, key) / ORDERS, 3),
      fmt(cell(on, key)),
      fmt(cell(on, key) / ORDERS, 3),
      '',
    ]
  })
  const marks = runs.map((r) => target(r.perOrder, TARGET_REQUESTS, 'req/order'))
  rows.push([
    'total',
    'both',
    fmt(off.total),
    fmt(off.perOrder, 3),
    fmt(on.total),
    fmt(on.perOrder, 3),
    `OFF ${marks[0]!.text}, ON ${marks[1]!.text}`,
  ])

  const [wOff, wOn] = [writeFigures(off.writes), writeFigures(on.writes)]
  const wRow = (label: string, unit: string, pick: (w: ReturnType<typeof writeFigures>) => number, digits = 2) => [
    label,
    unit,
    fmt(pick(wOff), digits),
    fmt(pick(wOn), digits),
  ]

  const lines = [
    `  ${fmt(ORDERS)} valid canonical orders (1–4 lines, SKUs from a pool of 20) in one .jsonl → validator (one ingest-queue`,
    `  record) → main queue → worker in batches of ${BATCH}. Counted by a middleware in each SDK client's stack (deserialize step:`,
    '  one count per HTTP request the SDK sends, retries included); only the network is faked. Cross-checked: the same totals',
    "  reached the fake HTTP handler. Not counted: what Lambda's SQS pollers do (ReceiveMessage, DeleteMessageBatch).",
    '',
    ...table(['request', 'function', 'stock OFF', 'req/order', 'stock ON', 'req/order', 'target'], rows, {
      noteColumn: true,
    }),
    '',
    `  comparison: a one-call-per-order design (SendMessage + GetItem + PutItem + PutMetricData per order) needs ≥ ${fmt(NAIVE_REQUESTS, 2)} req/order;`,
    `  this pipeline needs ${fmt(off.perOrder, 3)} (stock OFF) and ${fmt(on.perOrder, 3)} (stock ON), ${fmt(NAIVE_REQUESTS / off.perOrder, 1)}× fewer.`,
    '',
    '  DynamoDB write units per order — an ESTIMATE: item size ≈ JSON length of the marshalled item as sent, rounded up to',
    '  whole KB; 1 WCU/KB per item for a standard write, 2 WCU/KB per item in a transaction (stock Update items: the',
    "  stock record rebuilt from the Update's key and values).",
    '',
    ...table(
      ['figure', 'unit', 'stock OFF', 'stock ON'],
      [
        wRow('items written', 'items/order', (w) => w.itemsPerOrder),
        wRow('  of which stock Updates', 'items/order', (w) => w.stockUpdatesPerOrder),
        wRow('write units (JSON estimate)', 'WCU/order', (w) => w.wcuPerOrder),
        wRow('write units (DynamoDB sizing rules, approx.)', 'WCU/order', (w) => w.wcuPerOrderBySizingRules),
        wRow('order item size, mean', 'KB (JSON)', (w) => w.orderItemKbAvg),
        wRow('order item size, max', 'KB (JSON)', (w) => w.orderItemKbMax),
        wRow('order items over 1 KB', '% (JSON)', (w) => w.orderItemsOver1Kb * 100, 1),
      ],
    ),
  ]

  const json = (r: Run, w: ReturnType<typeof writeFigures>, mark: { pass: boolean }) => ({
    stockTracking: r.stockTracking,
    requests: r.requests,
    totalRequests: r.total,
    requestsPerOrder: round(r.perOrder, 4),
    requestsPerOrderTarget: TARGET_REQUESTS,
    pass: mark.pass,
    dynamoWrites: Object.fromEntries(Object.entries(w).map(([k, v]) => [k, round(v, 4)])),
  })
  return {
    title: '1. AWS requests per order — happy path, validator + worker',
    lines,
    figures: {
      orders: ORDERS,
      batchSize: BATCH,
      countedBy: 'SDK middleware, deserialize step (one per HTTP request)',
      wcuEstimate:
        'item size = JSON length of the marshalled item, rounded up to KB; 1 WCU/KB standard, 2 WCU/KB transactional',
      naiveRequestsPerOrder: NAIVE_REQUESTS,
      stockOff: json(off, wOff, marks[0]!),
      stockOn: json(on, wOn, marks[1]!),
    },
  }
}

await runIfMain(import.meta.url, requestsPerOrder)
