/**
 * The single DynamoDB table (README: "Table design"). One partition per order holds the order itself and anything
 * said about its id (rejections, conflicts); stock records have partitions of their own.
 *
 * | record    | pk            | sk                               |
 * |-----------|---------------|----------------------------------|
 * | order     | ORDER#<id>    | ORDER                            |
 * | rejection | ORDER#<id>    | REJECTION#<received at>#<hash>   |
 * | conflict  | ORDER#<id>    | CONFLICT#<hash>                  |
 * | stock     | STOCK#<sku>   | STOCK                            |
 */
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb'
import { unmarshall } from '@aws-sdk/util-dynamodb'
import { ConflictError, OrderError, TransientError, type FieldError } from '../orders/errors.ts'
import { isObject } from '../orders/json.ts'
import { centsOf } from '../orders/money.ts'
import type { Order } from '../orders/order.ts'
import { compareStored, OUTCOME, STOCK_STATUS, type StockStatus } from '../orders/outcomes.ts'

export const ORDER_SK = 'ORDER'
export const STOCK_SK = 'STOCK'
/** Rejection and conflict records expire after 90 days (the table's TTL attribute is `expires_at`). */
/** Rejection, conflict and file records expire this long after they are written. */
export const RECORD_TTL_SECONDS = 90 * 24 * 3600
/** The `expires_at` (TTL, epoch seconds) of a record written at `now`. */
export const expiresAt = (now: string): number => Math.floor(Date.parse(now) / 1000) + RECORD_TTL_SECONDS
/** The TTL of a record kept `days` days from `now` (epoch seconds). */
export const expiresAfter = (now: string, days: number): number => Math.floor(Date.parse(now) / 1000) + days * 24 * 3600

export const orderKey = (orderId: string) => ({ pk: `ORDER#${orderId}`, sk: ORDER_SK })
export const stockKey = (sku: string) => ({ pk: `STOCK#${sku}`, sk: STOCK_SK })
/** The prefix of a SKU's pending-item records, oldest first by sort key (lib/aws/inventory.ts). */
export const PENDING_SK_PREFIX = 'PENDING#'
/** An order's wait for one SKU, beside the SKU's stock record: found by a query, never a scan. */
export const pendingKey = (sku: string, processedAt: string, orderId: string) => ({
  pk: `STOCK#${sku}`,
  sk: `${PENDING_SK_PREFIX}${processedAt}#${orderId}`,
})

/** The pending-item record of an order waiting for `qty` of `sku`, written in the order's own transaction. */
export const pendingPut = (tableName: string, orderId: string, sku: string, qty: number, processedAt: string) => ({
  Put: {
    TableName: tableName,
    Item: {
      ...pendingKey(sku, processedAt, orderId),
      type: 'pending',
      order_id: orderId,
      sku,
      qty,
      created_at: processedAt,
    },
  },
})

export type { StockStatus }

/**
 * Σ qty per SKU of the items (as stored: with `stock`, RESERVED, PENDING, ...), only those in `stock` when it is
 * given: lines with the same SKU reserve, wait and are given back together.
 */
export const quantitiesBySku = (
  items: readonly { sku: string; qty: number; stock?: string }[],
  stock?: string,
): Map<string, number> => {
  const wanted = new Map<string, number>()
  for (const item of items)
    if (stock === undefined || item.stock === stock) wanted.set(item.sku, (wanted.get(item.sku) ?? 0) + item.qty)
  return wanted
}

/** Σ qty per SKU of an order: what it reserves. */
export const reservations = (order: Order): Map<string, number> => quantitiesBySku(order.items)

/**
 * The order record: the canonical order, its hash (the duplicate detector compares it) and its stock state; its
 * customer id, amount in minor units, currency and processed time at the top level too, for the `by_customer`
 * index (the data lake's customer history, lib/lake/enrich.ts), and where it came from (`source`).
 */
export const orderRecord = (
  order: Order,
  hash: string,
  options: {
    tracked: boolean
    pending: ReadonlySet<string>
    correlationId?: string
    source?: string
    now: string
    /** Days until the record expires (0 or undefined: kept). */
    retentionDays?: number
  },
) => {
  const stockStatus: StockStatus = !options.tracked
    ? STOCK_STATUS.UNTRACKED
    : options.pending.size > 0
      ? STOCK_STATUS.PENDING_STOCK
      : STOCK_STATUS.RESERVED
  return {
    ...orderKey(order.order_id),
    type: 'order',
    order_id: order.order_id,
    hash,
    status: OUTCOME.PROCESSED,
    stock_status: stockStatus,
    order: {
      ...order,
      items: order.items.map((item) => ({
        ...item,
        stock: !options.tracked ? 'UNTRACKED' : options.pending.has(item.sku) ? 'PENDING' : 'RESERVED',
      })),
    },
    correlation_id: options.correlationId,
    source: options.source,
    customer_id: order.customer_id,
    amount_cents: centsOf(order.amount),
    currency: order.currency,
    processed_at: options.now,
    // The SKUs still waiting: a restock that reserves the last one makes the order RESERVED (lib/aws/inventory.ts).
    ...(options.tracked && options.pending.size > 0 ? { pending_count: options.pending.size } : {}),
    // ORDER_RETENTION_DAYS: the record expires (DynamoDB TTL) that many days after it is stored.
    ...(options.retentionDays ? { expires_at: expiresAfter(options.now, options.retentionDays) } : {}),
  }
}

/** The index of order records by customer and processed time (storage.yaml). */
export const BY_CUSTOMER_INDEX = 'by_customer'

/**
 * A customer's order records from the `by_customer` index, oldest first, page after page (no table scan): those
 * stored before `before` (processed_at, exclusive) and in `currency` when given, with the attributes named.
 */
export async function* customerOrders(
  client: DynamoDBDocumentClient,
  tableName: string,
  customerId: string,
  options: { before?: string; currency?: string; attributes: string[] },
): AsyncGenerator<Record<string, unknown>> {
  let ExclusiveStartKey: Record<string, unknown> | undefined
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: BY_CUSTOMER_INDEX,
        KeyConditionExpression: options.before ? 'customer_id = :c AND processed_at < :t' : 'customer_id = :c',
        FilterExpression: options.currency ? 'currency = :cur' : undefined,
        ExpressionAttributeValues: {
          ':c': customerId,
          ...(options.before ? { ':t': options.before } : {}),
          ...(options.currency ? { ':cur': options.currency } : {}),
        },
        ProjectionExpression: options.attributes.join(', '),
        ExclusiveStartKey,
      }),
    )
    yield* page.Items ?? []
    ExclusiveStartKey = page.LastEvaluatedKey
  } while (ExclusiveStartKey)
}

/**
 * A customer's stored orders before `before` (processed_at, exclusive) in one currency: how many, and their amounts
 * in minor units. One query of the `by_customer` index (paged), no table scan.
 */
export const customerHistory = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  customerId: string,
  before: string,
  currency: string,
): Promise<{ orders: number; spentCents: number }> => {
  let orders = 0
  let spentCents = 0
  for await (const item of customerOrders(client, tableName, customerId, {
    before,
    currency,
    attributes: ['amount_cents'],
  })) {
    orders += 1
    spentCents += Number(item.amount_cents ?? 0)
  }
  return { orders, spentCents }
}

/** The transaction action that takes `qty` of a SKU, only if that many are available. */
export const reserveStockAction = (tableName: string, sku: string, qty: number, now: string) => ({
  Update: {
    TableName: tableName,
    Key: stockKey(sku),
    UpdateExpression:
      'SET available = available - :qty, reserved = if_not_exists(reserved, :zero) + :qty, updated_at = :now',
    ConditionExpression: 'available >= :qty',
    ExpressionAttributeValues: { ':qty': qty, ':zero': 0, ':now': now },
  },
})

/** The transaction action that gives `qty` of a SKU back (a cancel, a failed payment): reserved → available. */
export const returnStockAction = (tableName: string, sku: string, qty: number, now: string) => ({
  Update: {
    TableName: tableName,
    Key: stockKey(sku),
    UpdateExpression: 'SET available = available + :qty, reserved = reserved - :qty, updated_at = :now',
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeValues: { ':qty': qty, ':now': now },
  },
})

/** One write of an order, with the actions that must succeed with it. */
export interface WriteOnceRequest {
  /** The record to create: carries pk, sk, order_id and hash. */
  item: { pk: string; sk: string; order_id: string; hash: string } & Record<string, unknown>
  /** Actions that must succeed in the same transaction (stock reservations). */
  with?: TransactItem[]
  /** A ClientRequestToken: only for a request whose every parameter is the same on a retry (DynamoDB refuses a reused token with other parameters, and answers one with the same parameters without applying it). */
  token?: string
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number]

/** Conditions of `with` actions failed (the order's own condition did not): their indexes in `with`. */
export class ConditionsFailedError extends OrderError {
  override readonly name = 'ConditionsFailedError'
  readonly permanent = false
  readonly indexes: number[]
  constructor(indexes: number[], options?: ErrorOptions) {
    super(`Conditions failed on actions ${indexes.join(', ')}`, options)
    this.indexes = indexes
  }
}

const TRANSIENT_REASONS = new Set([
  'TransactionConflict',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
  'InternalServerError',
])

type RawItem = Record<string, unknown>
/**
 * The item a failed condition returns (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), unmarshalled: the
 * DocumentClient leaves it marshalled (both shapes accepted: marshalled when every value is an AttributeValue).
 */
export const conditionItem = (raw: RawItem | undefined): RawItem | undefined => {
  if (!raw) return undefined
  const marshalled = Object.values(raw).every(
    (v) => isObject(v) && Object.keys(v).length === 1 && ATTRIBUTE_TYPES.has(Object.keys(v)[0]!),
  )
  return marshalled ? unmarshall(raw as Parameters<typeof unmarshall>[0]) : raw
}

const ATTRIBUTE_TYPES = new Set(['S', 'N', 'B', 'SS', 'NS', 'BS', 'M', 'L', 'NULL', 'BOOL'])

/** What the stored record says of a write that found its id taken: DUPLICATE, or a ConflictError. */
const settleTaken = (item: WriteOnceRequest['item'], raw: RawItem | undefined, cause: unknown): 'DUPLICATE' => {
  const stored = conditionItem(raw)
  if (typeof stored?.hash !== 'string') {
    throw new TransientError(`Order ${item.order_id} exists but its record was not returned`, { cause })
  }
  if (compareStored(stored.hash, item.hash) === OUTCOME.DUPLICATE) return OUTCOME.DUPLICATE
  throw new ConflictError(item.order_id, stored.hash, item.hash)
}

/**
 * Duplicate detection: the conditional write is the detector. The record is written only if its id is new
 * (`attribute_not_exists(pk)`); when the id exists, DynamoDB returns the stored record
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`) and its hash decides: same content → DUPLICATE, nothing
 * written; other content → ConflictError. No read on the happy path. With `with` actions, one transaction: its
 * cancellation reasons come one per action, in request order, and the order's own condition wins.
 * @returns PROCESSED when written, DUPLICATE when the same content is stored
 * @throws ConflictError; ConditionsFailedError (a `with` condition failed); TransientError (throttled, conflicting)
 */
export const writeOnce = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  request: WriteOnceRequest,
): Promise<typeof OUTCOME.PROCESSED | typeof OUTCOME.DUPLICATE> => {
  const { item } = request
  const put = {
    TableName: tableName,
    Item: item,
    ConditionExpression: 'attribute_not_exists(pk)',
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  }
  if (!request.with?.length) {
    try {
      await client.send(new PutCommand(put))
      return OUTCOME.PROCESSED
    } catch (err) {
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err
      return settleTaken(item, (err as { Item?: RawItem }).Item, err)
    }
  }
  try {
    await client.send(
      new TransactWriteCommand({ TransactItems: [{ Put: put }, ...request.with], ClientRequestToken: request.token }),
    )
    return OUTCOME.PROCESSED
  } catch (err) {
    if ((err as Error).name !== 'TransactionCanceledException') throw err
    const reasons = (err as { CancellationReasons?: { Code?: string; Item?: RawItem }[] }).CancellationReasons ?? []
    if (reasons[0]?.Code === 'ConditionalCheckFailed') return settleTaken(item, reasons[0].Item, err)
    const failed = reasons.flatMap((r, i) => (i > 0 && r.Code === 'ConditionalCheckFailed' ? [i - 1] : []))
    if (failed.length > 0) throw new ConditionsFailedError(failed, { cause: err })
    if (reasons.some((r) => TRANSIENT_REASONS.has(r.Code ?? ''))) {
      const codes = reasons.map((r) => r.Code).join(', ')
      throw new TransientError(`Transaction for order ${item.order_id} cancelled: ${codes}`, { cause: err })
    }
    throw err
  }
}

export interface StoreOptions {
  /** Reserve stock in the order's transaction (STOCK_TRACKING). */
  stockTracking: boolean
  now: string
  correlationId?: string
  /** Where the order came from (the message's `source` attribute: `s3://…#line`), stored on its record. */
  source?: string
  /** ORDER_RETENTION_DAYS: days until the order record expires (0 or undefined: kept). */
  retentionDays?: number
}

export interface StoreResult {
  outcome: typeof OUTCOME.PROCESSED | typeof OUTCOME.DUPLICATE
  /** SKUs that could not be reserved: the order is flagged pending-stock. */
  pending: string[]
}

/**
 * Stores an order once and reserves its stock in the same transaction. A SKU short of stock is marked pending and
 * the transaction retried without it, so the order is never half-written; with stock tracking off, one
 * conditional put.
 *
 * No ClientRequestToken of our own: DynamoDB answers a token reused within 10 minutes with other parameters (a new
 * `processed_at`) with IdempotentParameterMismatchException, and one reused with the same parameters with a success
 * that applied nothing, which would count a duplicate as PROCESSED. The SDK gives each call a token of its own and
 * keeps it across its own retries of that call; a new delivery is a new call, and the id condition decides.
 * @throws ConflictError when the id is stored with other content; TransientError
 */
export const storeOrder = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  order: Order,
  hash: string,
  options: StoreOptions,
): Promise<StoreResult> => {
  const record = (pending: Set<string>) =>
    orderRecord(order, hash, {
      tracked: options.stockTracking,
      pending,
      correlationId: options.correlationId,
      source: options.source,
      now: options.now,
      retentionDays: options.retentionDays,
    })
  if (!options.stockTracking)
    return { outcome: await writeOnce(client, tableName, { item: record(new Set()) }), pending: [] }
  const wanted = [...reservations(order)]
  const pending = new Set<string>()
  for (;;) {
    const reserve = wanted.filter(([sku]) => !pending.has(sku))
    try {
      const outcome = await writeOnce(client, tableName, {
        item: record(pending),
        with: [
          ...reserve.map(([sku, qty]) => reserveStockAction(tableName, sku, qty, options.now)),
          // Each SKU it waits for gets a pending-item record (after the reservations: the indexes above are theirs).
          ...wanted
            .filter(([sku]) => pending.has(sku))
            .map(([sku, qty]) => pendingPut(tableName, order.order_id, sku, qty, options.now)),
        ],
      })
      return { outcome, pending: outcome === OUTCOME.PROCESSED ? [...pending] : [] }
    } catch (err) {
      if (!(err instanceof ConditionsFailedError)) throw err
      for (const index of err.indexes) pending.add(reserve[index]![0])
    }
  }
}

/** The content hash stored for an order id, or undefined when the id is not stored (one small read: the API's 409). */
export const storedHash = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  orderId: string,
): Promise<string | undefined> => {
  const { Item } = await client.send(
    new GetCommand({
      TableName: tableName,
      Key: orderKey(orderId),
      ProjectionExpression: '#hash',
      ExpressionAttributeNames: { '#hash': 'hash' },
    }),
  )
  return typeof Item?.hash === 'string' ? Item.hash : undefined
}

export interface Rejection {
  orderId: string
  errorClass: string
  message: string
  reasons: FieldError[]
  source?: string
  hash?: string
  correlationId?: string
  now: string
}

/** Records why an order id was rejected, beside (never over) the order record: the id stays free for a corrected order. */
export const recordRejection = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  r: Rejection,
): Promise<void> => {
  const conflict = r.errorClass === 'ConflictError' && r.hash !== undefined
  await client.send(
    new PutCommand({
      TableName: tableName,
      Item: {
        pk: `ORDER#${r.orderId}`,
        sk: conflict ? `CONFLICT#${r.hash}` : `REJECTION#${r.now}#${(r.hash ?? '').slice(0, 12)}`,
        type: conflict ? 'conflict' : 'rejection',
        order_id: r.orderId,
        status: conflict ? OUTCOME.CONFLICT : OUTCOME.REJECTED,
        error_class: r.errorClass,
        message: r.message,
        reasons: r.reasons,
        source: r.source,
        hash: r.hash,
        correlation_id: r.correlationId,
        rejected_at: r.now,
        expires_at: expiresAt(r.now),
      },
    }),
  )
}

export interface OrderStatus {
  order_id: string
  /** REJECTED or CONFLICT, or a stored order's status: PROCESSED, then the workflow's (lib/workflow/status.ts). */
  status: string
  stock_status?: StockStatus
  processed_at?: string
  /** The workflow's: the payment's id once paid, and when it was paid or failed, and notified. */
  payment_id?: string
  paid_at?: string
  payment_failed_at?: string
  notified_at?: string
  /** When the API or the S3 validator took the order in. */
  received_at?: string
  items?: { sku: string; qty: number; stock: string }[]
  /** Rejections and conflicts of this id, newest first. */
  rejections: { status: string; message: string; reasons: FieldError[]; at: string }[]
  /** What happened to the id, oldest first: received, stored, paid or declined, notified, and each rejection. */
  history: { status: string; at: string }[]
}

/** The events of an order's record and rejections, oldest first (the times each step wrote). */
export const orderHistory = (status: Omit<OrderStatus, 'history'>): OrderStatus['history'] =>
  [
    ...(
      [
        ['RECEIVED', status.received_at],
        [OUTCOME.PROCESSED, status.processed_at],
        ['PAID', status.paid_at],
        ['PAYMENT_FAILED', status.payment_failed_at],
        ['NOTIFIED', status.notified_at],
      ] as const
    ).flatMap(([name, at]) => (at ? [{ status: name, at }] : [])),
    ...status.rejections.map((r) => ({ status: r.status, at: r.at })),
  ].sort((a, b) => a.at.localeCompare(b.at))

/** What GET /orders/{id} answers: outcome and reasons, no personal data. Undefined when the id is unknown. */
export const getOrderStatus = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  orderId: string,
): Promise<OrderStatus | undefined> => {
  const { Items = [] } = await client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `ORDER#${orderId}` },
    }),
  )
  if (Items.length === 0) return undefined
  const order = Items.find((i) => i.sk === ORDER_SK)
  const rejections = Items.filter((i) => i.sk !== ORDER_SK)
    .map((i) => ({
      status: String(i.status),
      message: String(i.message),
      reasons: (i.reasons ?? []) as FieldError[],
      at: String(i.rejected_at),
    }))
    .sort((a, b) => b.at.localeCompare(a.at))
  if (!order) {
    const rejected = {
      order_id: orderId,
      status: rejections.some((r) => r.status === OUTCOME.REJECTED) ? OUTCOME.REJECTED : OUTCOME.CONFLICT,
      rejections,
    }
    return { ...rejected, history: orderHistory(rejected) }
  }
  const items = ((order.order as Order | undefined)?.items ?? []) as (Order['items'][number] & { stock: string })[]
  const workflow = Object.fromEntries(
    (['payment_id', 'paid_at', 'payment_failed_at', 'notified_at'] as const).flatMap((field) =>
      typeof order[field] === 'string' ? [[field, order[field] as string]] : [],
    ),
  )
  const stored = {
    order_id: orderId,
    status: String(order.status ?? OUTCOME.PROCESSED),
    stock_status: order.stock_status as StockStatus,
    received_at: (order.order as Order | undefined)?.intake?.received_at,
    processed_at: order.processed_at as string,
    ...workflow,
    items: items.map(({ sku, qty, stock }) => ({ sku, qty, stock })),
    rejections,
  }
  return { ...stored, history: orderHistory(stored) }
}

export interface StockLevel {
  sku: string
  available: number
  reserved: number
  updated_at?: string
}

/** Sets the available count of a SKU (the reserved count is kept). */
export const setStock = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  sku: string,
  available: number,
  now: string,
): Promise<void> => {
  await client.send(
    new UpdateCommand({
      TableName: tableName,
      Key: stockKey(sku),
      UpdateExpression:
        'SET available = :available, sku = :sku, #type = :type, reserved = if_not_exists(reserved, :zero), updated_at = :now',
      ExpressionAttributeNames: { '#type': 'type' },
      ExpressionAttributeValues: { ':available': available, ':sku': sku, ':type': 'stock', ':zero': 0, ':now': now },
    }),
  )
}

const toLevel = (i: Record<string, unknown>): StockLevel => ({
  sku: String(i.pk).slice('STOCK#'.length),
  available: Number(i.available ?? 0),
  reserved: Number(i.reserved ?? 0),
  updated_at: i.updated_at as string | undefined,
})

/** One SKU's stock record, or undefined (no record: no stock). */
export const getStock = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  sku: string,
): Promise<StockLevel | undefined> => {
  const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: stockKey(sku) }))
  return Item && toLevel(Item)
}

/** Every stock record (a scan: meant for the stock command, not for the hot path). */
export const listStock = async (client: DynamoDBDocumentClient, tableName: string): Promise<StockLevel[]> => {
  const levels: StockLevel[] = []
  let start: Record<string, unknown> | undefined
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'sk = :sk',
        ExpressionAttributeValues: { ':sk': STOCK_SK },
        ExclusiveStartKey: start,
      }),
    )
    levels.push(...(page.Items ?? []).map(toLevel))
    start = page.LastEvaluatedKey
  } while (start)
  return levels.sort((a, b) => a.sku.localeCompare(b.sku))
}
