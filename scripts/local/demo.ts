/**
 * The demo: seeds stock for the demo SKUs (one short), sends the seed orders in through both doors (S3 objects,
 * one a JSON array and one a JSONL file, and HTTP POSTs), waits until every order has settled, and reports each
 * order's outcome against the outcome it must get, with the metrics, the queue depths and the DLQ's reasons.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { LOG, OUTCOME } from '../../lib/orders/outcomes.ts'
import { describeMessage } from '../../lib/aws/dlq.ts'
import { example, exampleText } from '../../schemas/examples.ts'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { getOrderStatus, getStock, setStock } from '../../lib/aws/table.ts'
import type { Deployment } from '../stack/deployment.ts'
import { peekAll } from '../ops/dlq.ts'
import { outcomeMetrics, queueStatus } from '../ops/observe.ts'
import { dynamoClient, sqsClient, s3Client, cloudWatchClient } from '../../lib/aws/clients.ts'
import { formatTable } from '../format.ts'
import { stockLevels } from '../../lib/lake/catalogue.ts'
import { orderIdFromIdempotencyKey } from '../../lib/orders/order.ts'
import type { WorkflowExpectation } from './workflow-demo.ts'

/** Stock for the demo SKUs; PRD-2002 is short (the rich order wants 2), so that order waits for stock. */
export const DEMO_STOCK: Record<string, number> = {
  'SKU-1': 100,
  'SKU-2': 100,
  'SKU-3': 100,
  'PRD-1001': 10,
  'PRD-2002': 1,
  p123: 50,
}

/** An order the simulated payment provider declines (its id hashes above PaymentSuccessRate's 0.9). */
export const DECLINED_ORDER = {
  order_id: 'ORD-2026-006',
  customer_id: 'CUST-1006',
  created_at: '2026-01-07T11:30:00Z',
  currency: 'EUR',
  amount: 60,
  items: [{ sku: 'SKU-2', qty: 3, unit_price: 20 }],
}

/** The Idempotency-Key of the demo's API order (its id derives from it). */
export const DEMO_IDEMPOTENCY_KEY = 'demo-order-1'

/**
 * Where each stored demo order's workflow must end: paid and notified, or declined with its stock back, or (the
 * rich order, short of PRD-2002) waiting for its stock, uncharged.
 */
export const DEMO_WORKFLOW: Record<string, WorkflowExpectation> = {
  'ORD-2026-001': 'NOTIFIED',
  'ORD-2026-003': 'NOTIFIED',
  [orderIdFromIdempotencyKey(DEMO_IDEMPOTENCY_KEY)]: 'NOTIFIED',
  [DECLINED_ORDER.order_id]: 'PAYMENT_FAILED',
  'ORD-20231001-0001': 'WAITING_FOR_STOCK',
}

/** What the demo reports for an order: an outcome, a PROCESSED order waiting for stock told apart. */
export type Outcome =
  | typeof OUTCOME.PROCESSED
  | `${typeof OUTCOME.PROCESSED} (pending stock)`
  | typeof OUTCOME.REJECTED
  | typeof OUTCOME.DUPLICATE
const PENDING: Outcome = `${OUTCOME.PROCESSED} (pending stock)`

export interface Expectation {
  step: number
  door: string
  input: string
  /** The order id, or the source line of an order without a readable id. */
  key: string
  expected: Outcome
  /** Settled by a function (logged), not answered at the door. */
  fromLog: boolean
  actual?: Outcome
  detail?: string
}

/** What the functions logged about orders: outcomes by order id or source. */
export class OutcomeLog {
  readonly #seen = new Map<string, Outcome[]>()
  /** correlation id (one per file) → the ids of the orders stored from it. */
  readonly #stored = new Map<string, Set<string>>()
  record(fn: string, line: string): void {
    let entry: {
      msg?: string
      orderId?: string
      outcome?: string
      source?: string
      pending?: string[]
      correlationId?: string
    }
    try {
      entry = JSON.parse(line) as typeof entry
    } catch {
      return
    }
    if (entry.msg === LOG.ORDER_SETTLED && entry.orderId) {
      const settled =
        entry.outcome === OUTCOME.DUPLICATE ? OUTCOME.DUPLICATE : entry.pending?.length ? PENDING : OUTCOME.PROCESSED
      this.#add(entry.orderId, settled)
      if (settled !== OUTCOME.DUPLICATE && entry.correlationId) {
        const ids = this.#stored.get(entry.correlationId) ?? new Set<string>()
        this.#stored.set(entry.correlationId, ids.add(entry.orderId))
      }
    } else if (entry.msg === LOG.ORDER_REJECTED) {
      // A file's line is s3://bucket/key?versionId=…#line: the demo names it without the version.
      const source = entry.source?.startsWith('s3://') ? entry.source.replace(/\?versionId=[^#]*/, '') : undefined
      this.#add(entry.orderId ?? source ?? `${fn}:unknown`, OUTCOME.REJECTED)
      if (entry.orderId && source) this.#add(source, OUTCOME.REJECTED)
    }
  }

  #add(key: string, outcome: Outcome): void {
    this.#seen.set(key, [...(this.#seen.get(key) ?? []), outcome])
  }

  /** The n-th outcome logged for a key (orders sent twice have two). */
  take(key: string, n: number): Outcome | undefined {
    return this.#seen.get(key)?.[n]
  }

  /** How many orders the worker logged as stored (PROCESSED) with this correlation id, each once. */
  storedWith(correlationId: string): number {
    return this.#stored.get(correlationId)?.size ?? 0
  }

  /** Every outcome logged for a key, in order. */
  all(key: string): Outcome[] {
    return [...(this.#seen.get(key) ?? [])]
  }
}

export interface DemoOptions {
  deployment: Deployment
  apiUrl: string
  endpoint: string
  region: string
  stage: string
  metricsNamespace: string
  log: OutcomeLog
  /** The local runner's log folder: counts the functions logged as EMF (CloudWatch down) are added to the metrics. */
  logDir?: string
  timeoutSeconds?: number
  print?: (text: string) => void
}

const post = async (apiUrl: string, body: string, headers: Record<string, string> = {}) => {
  const response = await fetch(`${apiUrl}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  })
  return {
    status: response.status,
    json: (await response.json()) as { message?: string; orderId?: string; status?: string },
  }
}

/** Runs the demo; resolves to true when every order got the outcome it must get. */
export const runDemo = async (options: DemoOptions): Promise<boolean> => {
  const { deployment: d, apiUrl, log } = options
  const print = options.print ?? ((text: string) => console.log(text))
  const s3 = s3Client(options)
  const sqs = sqsClient(options)
  const cloudWatch = cloudWatchClient(options)
  const dynamo = dynamoClient(options)
  const expectations: Expectation[] = []
  let step = 0
  /** An order whose outcome the functions log (a queued one), or one answered at the door (`answered`). */
  const expect = (
    door: string,
    input: string,
    key: string,
    expected: Outcome,
    answered?: { actual: Outcome | undefined; detail: string },
  ) =>
    expectations.push({
      step: ++step,
      door,
      input,
      key,
      expected,
      fromLog: answered === undefined,
      actual: answered?.actual,
      detail: answered?.detail,
    })
  const upload = async (key: string, body: string) =>
    s3.send(new PutObjectCommand({ Bucket: d.bucket, Key: key, Body: body }))

  print(
    '\nseeding stock: ' +
      Object.entries(DEMO_STOCK)
        .map(([sku, n]) => `${sku}=${n}`)
        .join(' '),
  )
  const now = new Date().toISOString()
  for (const [sku, n] of Object.entries(DEMO_STOCK)) await setStock(dynamo, d.table, sku, n, now)
  // The product catalogue's levels too: the products the console's order form offers.
  const catalogueLevels = stockLevels()
  print(`and the product catalogue's ${catalogueLevels.length} SKUs (the order form's products)`)
  for (const [sku, n] of catalogueLevels) await setStock(dynamo, d.table, sku, n, now)

  print('sending the seed orders: 3 S3 objects first')
  await upload('orders/demo/tp-valid.json', exampleText('tp-valid.json'))
  expect('S3 orders/demo/tp-valid.json', 'tp-valid.json', 'ORD-2026-001', OUTCOME.PROCESSED)
  await upload('orders/demo/tp-invalid.json', exampleText('tp-invalid.json'))
  expect('S3 orders/demo/tp-invalid.json', 'tp-invalid.json', 'ORD-2026-002', OUTCOME.REJECTED)
  await upload('orders/demo/lab-orders.json', JSON.stringify([example('lab-rich-order.json')]))
  expect('S3 orders/demo/lab-orders.json (array)', 'lab-rich-order.json', 'ORD-20231001-0001', PENDING)
  /** Waits until the functions have logged an outcome for every order sent through a queue. */
  const settle = async (): Promise<void> => {
    const deadline = Date.now() + (options.timeoutSeconds ?? 60) * 1000
    const queued = () => expectations.filter((e) => e.fromLog)
    for (;;) {
      const seen = new Map<string, number>()
      for (const e of queued()) {
        const n = seen.get(e.key) ?? 0
        seen.set(e.key, n + 1)
        e.actual = log.take(e.key, n)
      }
      if (queued().every((e) => e.actual !== undefined) || Date.now() > deadline) return
      await sleep(250)
    }
  }
  await settle()

  print('then a JSONL file and the HTTP door')
  const jsonl = 'orders/demo/lot de commandes été.jsonl'
  const newOrder = {
    order_id: 'ORD-2026-003',
    customer_id: 'CUST-1003',
    created_at: '2026-01-07T11:00:00Z',
    currency: 'EUR',
    amount: 150,
    items: [{ sku: 'SKU-3', qty: 2, unit_price: 75 }],
  }
  await upload(
    jsonl,
    [
      JSON.stringify(example('tp-valid.json')),
      '{"order_id": "ORD-BROKEN", "items": [',
      JSON.stringify(newOrder),
      JSON.stringify(DECLINED_ORDER),
    ].join('\n'),
  )
  expect(`S3 ${jsonl} line 1`, 'tp-valid.json again', 'ORD-2026-001', OUTCOME.DUPLICATE)
  const bucketSource = `s3://${d.bucket}/${jsonl}`
  expect(`S3 ${jsonl} line 2`, 'a line that is not JSON', `${bucketSource}#2`, OUTCOME.REJECTED)
  expect(`S3 ${jsonl} line 3`, 'a new canonical order', 'ORD-2026-003', OUTCOME.PROCESSED)
  expect(`S3 ${jsonl} line 4`, 'an order its payment declines', DECLINED_ORDER.order_id, OUTCOME.PROCESSED)

  const api = await post(apiUrl, exampleText('api-create-order.json'), { 'Idempotency-Key': DEMO_IDEMPOTENCY_KEY })
  expect(
    `POST /orders (Idempotency-Key ${DEMO_IDEMPOTENCY_KEY})`,
    'api-create-order.json',
    api.json.orderId ?? `HTTP ${api.status}`,
    OUTCOME.PROCESSED,
  )
  const missing = await post(apiUrl, exampleText('api-missing-email.json'))
  expect('POST /orders', 'api-missing-email.json', '-', OUTCOME.REJECTED, {
    actual: missing.status === 400 ? OUTCOME.REJECTED : undefined,
    detail: `HTTP ${missing.status}: ${missing.json.message}`,
  })
  const form = await post(apiUrl, exampleText('form-order.json'))
  expect('POST /orders', 'form-order.json', '-', OUTCOME.REJECTED, {
    actual: form.status === 400 ? OUTCOME.REJECTED : undefined,
    detail: `HTTP ${form.status}: ${form.json.message}`,
  })
  const again = await post(apiUrl, exampleText('tp-valid.json'))
  expect('POST /orders', 'tp-valid.json again', 'ORD-2026-001', OUTCOME.DUPLICATE, {
    actual: again.status === 409 && again.json.status === OUTCOME.DUPLICATE ? OUTCOME.DUPLICATE : undefined,
    detail: `HTTP ${again.status} ${again.json.status ?? ''}`,
  })
  await settle()

  const retry = await post(apiUrl, exampleText('api-create-order.json'), { 'Idempotency-Key': DEMO_IDEMPOTENCY_KEY })
  expect(
    'POST /orders (same Idempotency-Key)',
    'api-create-order.json again',
    api.json.orderId ?? '?',
    OUTCOME.DUPLICATE,
    {
      actual: retry.status === 409 && retry.json.status === OUTCOME.DUPLICATE ? OUTCOME.DUPLICATE : undefined,
      detail: `HTTP ${retry.status} ${retry.json.status ?? ''}`,
    },
  )

  // The rich order waits for stock: the table says so too.
  const rich = await getOrderStatus(dynamo, d.table, 'ORD-20231001-0001')
  const richExpectation = expectations.find((e) => e.key === 'ORD-20231001-0001')!
  richExpectation.detail = `stock_status ${rich?.stock_status ?? '?'}; ${rich?.items?.map((i) => `${i.sku} ${i.stock}`).join(', ') ?? ''}`

  print('\noutcomes')
  print(
    formatTable(
      expectations.map((e) => ({
        '#': e.step,
        door: e.door,
        input: e.input,
        order: e.key.length > 40 ? `…${e.key.slice(-38)}` : e.key,
        expected: e.expected,
        actual: e.actual ?? '(none)',
        ok: e.actual === e.expected ? 'yes' : 'NO',
        detail: e.detail ?? '',
      })),
      ['#', 'door', 'input', 'order', 'expected', 'actual', 'ok', 'detail'],
    ),
  )

  print('\nstock')
  const levels = await Promise.all(
    Object.keys(DEMO_STOCK).map(async (sku) => ({ sku, ...(await getStock(dynamo, d.table, sku)) })),
  )
  print(formatTable(levels as unknown as Record<string, unknown>[], ['sku', 'available', 'reserved']))

  print(`\nmetrics (namespace ${options.metricsNamespace}, Stage ${options.stage})`)
  print(
    formatTable(await outcomeMetrics(cloudWatch, options.metricsNamespace, options.stage, options.logDir), [
      'metric',
      'last hour',
    ]),
  )

  print('\nqueues')
  print(
    formatTable(
      await Promise.all([
        queueStatus(sqs, cloudWatch, 'main', d.mainQueueUrl, false),
        queueStatus(sqs, cloudWatch, 'main DLQ', d.mainDlqUrl, true),
        queueStatus(sqs, cloudWatch, 'ingest', d.ingestQueueUrl, false),
        queueStatus(sqs, cloudWatch, 'ingest DLQ', d.ingestDlqUrl, true),
      ]),
      ['queue', 'waiting', 'in flight', 'oldest message'],
    ),
  )

  print('\nmain DLQ: why each message is there')
  const parked = (await peekAll(sqs, d.mainDlqUrl)).map(describeMessage)
  print(
    formatTable(
      parked.map((m) => ({
        class: m.errorClass,
        reason: m.reason,
        source: m.message.MessageAttributes?.source?.StringValue ?? '',
      })),
      ['class', 'reason', 'source'],
    ),
  )

  const ok = expectations.every((e) => e.actual === e.expected)
  print(
    `\n${ok ? 'every order got the outcome it must get' : `${expectations.filter((e) => e.actual !== e.expected).length} orders did NOT get the outcome they must get`}`,
  )
  return ok
}
