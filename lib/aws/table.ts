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
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb'
import type { FieldError } from '../orders/errors.ts'
import type { Order } from '../orders/order.ts'

export const ORDER_SK = 'ORDER'
export const STOCK_SK = 'STOCK'
/** Rejection and conflict records expire after 90 days (the table's TTL attribute is `expires_at`). */
const RECORD_TTL_SECONDS = 90 * 24 * 3600

export const orderKey = (orderId: string) => ({ pk: `ORDER#${orderId}`, sk: ORDER_SK })
export const stockKey = (sku: string) => ({ pk: `STOCK#${sku}`, sk: STOCK_SK })

export type StockStatus = 'RESERVED' | 'PENDING_STOCK' | 'UNTRACKED'

/** Σ qty per SKU: lines with the same SKU reserve together. */
export const reservations = (order: Order): Map<string, number> => {
  const wanted = new Map<string, number>()
  for (const item of order.items) wanted.set(item.sku, (wanted.get(item.sku) ?? 0) + item.qty)
  return wanted
}

/** The order record: the canonical order, its hash (the duplicate detector compares it) and its stock state. */
export const orderRecord = (
  order: Order,
  hash: string,
  options: { tracked: boolean; pending: ReadonlySet<string>; correlationId?: string; now: string },
) => {
  const stockStatus: StockStatus = !options.tracked
    ? 'UNTRACKED'
    : options.pending.size > 0
      ? 'PENDING_STOCK'
      : 'RESERVED'
  return {
    ...orderKey(order.order_id),
    type: 'order',
    order_id: order.order_id,
    hash,
    status: 'PROCESSED',
    stock_status: stockStatus,
    order: {
      ...order,
      items: order.items.map((item) => ({
        ...item,
        stock: !options.tracked ? 'UNTRACKED' : options.pending.has(item.sku) ? 'PENDING' : 'RESERVED',
      })),
    },
    correlation_id: options.correlationId,
    processed_at: options.now,
  }
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
        status: conflict ? 'CONFLICT' : 'REJECTED',
        error_class: r.errorClass,
        message: r.message,
        reasons: r.reasons,
        source: r.source,
        hash: r.hash,
        correlation_id: r.correlationId,
        rejected_at: r.now,
        expires_at: Math.floor(Date.parse(r.now) / 1000) + RECORD_TTL_SECONDS,
      },
    }),
  )
}

export interface OrderStatus {
  order_id: string
  status: 'PROCESSED' | 'REJECTED' | 'CONFLICT'
  stock_status?: StockStatus
  processed_at?: string
  items?: { sku: string; qty: number; stock: string }[]
  /** Rejections and conflicts of this id, newest first. */
  rejections: { status: string; message: string; reasons: FieldError[]; at: string }[]
}

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
  if (!order)
    return {
      order_id: orderId,
      status: rejections.some((r) => r.status === 'REJECTED') ? 'REJECTED' : 'CONFLICT',
      rejections,
    }
  const items = ((order.order as Order | undefined)?.items ?? []) as (Order['items'][number] & { stock: string })[]
  return {
    order_id: orderId,
    status: 'PROCESSED',
    stock_status: order.stock_status as StockStatus,
    processed_at: order.processed_at as string,
    items: items.map(({ sku, qty, stock }) => ({ sku, qty, stock })),
    rejections,
  }
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
