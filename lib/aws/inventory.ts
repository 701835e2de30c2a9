/**
 * The order's life after it is stored, for its stock: a restock reserves the orders that wait for the SKU, oldest
 * first, and a cancel gives the order's reserved stock back. Each change is one transaction whose conditions say
 * what it saw, so that retries, duplicates and concurrent restocks or cancels apply it exactly once.
 *
 * An order waiting for a SKU has a pending-item record beside the SKU's stock record (`STOCK#<sku>`,
 * `PENDING#<processed_at>#<order_id>`, written in the order's own transaction: lib/aws/table.ts storeOrder): the
 * SKU's waiting orders are one query, oldest first, never a scan. The order record counts the SKUs it still waits
 * for (`pending_count`); the reservation of its last one makes it RESERVED.
 */
import {
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb'
import type { Order } from '../orders/order.ts'
import { STOCK_STATUS } from '../orders/outcomes.ts'
import { ORDER_STATUS } from '../workflow/status.ts'
import {
  orderKey,
  pendingKey,
  PENDING_SK_PREFIX,
  quantitiesBySku,
  reserveStockAction,
  returnStockAction,
  stockKey,
} from './table.ts'

type StoredItem = Order['items'][number] & { stock?: string }

/** How many times a change is tried again when a concurrent one changed what it read. */
const ATTEMPTS = 8

interface StoredOrder {
  status?: string
  stock_status?: string
  pending_count?: number
  processed_at?: string
  order?: Order
}

const readOrder = async (client: DynamoDBDocumentClient, tableName: string, orderId: string) =>
  (await client.send(new GetCommand({ TableName: tableName, Key: orderKey(orderId), ConsistentRead: true }))).Item as
    StoredOrder | undefined

const reasonsOf = (err: unknown): string[] =>
  ((err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map((r) => r.Code ?? 'None')

const cancelled = (err: unknown): boolean => (err as Error).name === 'TransactionCanceledException'

// ---------------------------------------------------------------------------------------------------------------
// Restock

export interface Allocation {
  /** The orders this call reserved the SKU for, oldest first. */
  reserved: string[]
  /** Of those, the ones whose last pending item it was: now RESERVED. */
  completed: string[]
  /** The SKU's available count afterwards. */
  available: number
  /** Orders still waiting for the SKU (stock ran out before them). */
  waiting: number
}

/** Adds `qty` to a SKU's available count (creating its record), then reserves its waiting orders. */
export const addStock = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  sku: string,
  qty: number,
  now: string,
): Promise<Allocation> => {
  await client.send(
    new UpdateCommand({
      TableName: tableName,
      Key: stockKey(sku),
      UpdateExpression:
        'SET sku = :sku, #type = :type, reserved = if_not_exists(reserved, :zero), updated_at = :now ADD available :qty',
      ExpressionAttributeNames: { '#type': 'type' },
      ExpressionAttributeValues: { ':sku': sku, ':type': 'stock', ':zero': 0, ':now': now, ':qty': qty },
    }),
  )
  return allocatePending(client, tableName, sku, now)
}

interface PendingItem {
  pk: string
  sk: string
  order_id: string
  qty: number
}

/** The SKU's waiting orders, oldest first, a page at a time. */
const pendingPage = async (client: DynamoDBDocumentClient, tableName: string, sku: string, start?: object) =>
  client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :pending)',
      ExpressionAttributeValues: { ':pk': stockKey(sku).pk, ':pending': PENDING_SK_PREFIX },
      ConsistentRead: true,
      Limit: 25,
      ExclusiveStartKey: start as Record<string, unknown> | undefined,
    }),
  )

type Reserved = 'reserved' | 'completed' | 'no-stock' | 'gone'

/**
 * One waiting order's reservation of the SKU, in one transaction: the stock taken (if that much is available), the
 * pending-item record deleted (if it is still there: another restock may have taken it), the order's items marked
 * RESERVED and its count of waiting SKUs lowered, to RESERVED when it was the last (if the order is as read). An
 * order no longer waiting (cancelled, its payment failed) only loses its pending-item record.
 */
const reserveOne = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  sku: string,
  pending: PendingItem,
  now: string,
): Promise<Reserved> => {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const stored = await readOrder(client, tableName, pending.order_id)
    const items = (stored?.order?.items ?? []) as StoredItem[]
    const indexes = items.flatMap((item, i) => (item.sku === sku && item.stock === 'PENDING' ? [i] : []))
    const waiting =
      stored?.status === ORDER_STATUS.PROCESSED &&
      stored.stock_status === STOCK_STATUS.PENDING_STOCK &&
      indexes.length > 0
    const deletePending = {
      Delete: {
        TableName: tableName,
        Key: { pk: pending.pk, sk: pending.sk },
        ConditionExpression: 'attribute_exists(pk)',
      },
    }
    if (!waiting) {
      try {
        await client.send(new TransactWriteCommand({ TransactItems: [deletePending] }))
      } catch (err) {
        if (!cancelled(err)) throw err
      }
      return 'gone'
    }
    const count = Number(stored.pending_count ?? 1)
    const last = count <= 1
    const names: Record<string, string> = {
      '#order': 'order',
      '#items': 'items',
      '#stock': 'stock',
      '#status': 'status',
    }
    const sets = indexes.map((i) => `#order.#items[${i}].#stock = :reserved`)
    try {
      await client.send(
        new TransactWriteCommand({
          TransactItems: [
            reserveStockAction(tableName, sku, pending.qty, now),
            deletePending,
            {
              Update: {
                TableName: tableName,
                Key: orderKey(pending.order_id),
                UpdateExpression: last
                  ? `SET ${sets.join(', ')}, stock_status = :reservedStatus, stock_reserved_at = :now REMOVE pending_count`
                  : `SET ${sets.join(', ')}, pending_count = :left`,
                ConditionExpression:
                  '#status = :processed AND stock_status = :pendingStatus AND (pending_count = :count OR attribute_not_exists(pending_count))',
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: {
                  ':reserved': 'RESERVED',
                  ':processed': ORDER_STATUS.PROCESSED,
                  ':pendingStatus': STOCK_STATUS.PENDING_STOCK,
                  ':count': count,
                  ...(last ? { ':reservedStatus': STOCK_STATUS.RESERVED, ':now': now } : { ':left': count - 1 }),
                },
              },
            },
          ],
        }),
      )
      return last ? 'completed' : 'reserved'
    } catch (err) {
      if (!cancelled(err)) throw err
      const [stock, record] = reasonsOf(err)
      if (stock === 'ConditionalCheckFailed') return 'no-stock'
      if (record === 'ConditionalCheckFailed') return 'gone'
      // The order changed (another SKU of it reserved, or it was cancelled) or a transaction conflicted: read again.
    }
  }
  throw new Error(`could not reserve ${sku} for order ${pending.order_id}: it kept changing`)
}

/** Reserves a SKU for its waiting orders, oldest first, until its stock runs out. */
export const allocatePending = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  sku: string,
  now: string,
): Promise<Allocation> => {
  const allocation: Allocation = { reserved: [], completed: [], available: 0, waiting: 0 }
  let start: object | undefined
  let outOfStock = false
  do {
    const page = await pendingPage(client, tableName, sku, start)
    for (const item of (page.Items ?? []) as PendingItem[]) {
      if (outOfStock) {
        allocation.waiting++
        continue
      }
      const outcome = await reserveOne(client, tableName, sku, item, now)
      if (outcome === 'no-stock') {
        outOfStock = true
        allocation.waiting++
      }
      if (outcome === 'reserved' || outcome === 'completed') allocation.reserved.push(item.order_id)
      if (outcome === 'completed') allocation.completed.push(item.order_id)
    }
    start = page.LastEvaluatedKey
  } while (start)
  const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: stockKey(sku), ConsistentRead: true }))
  allocation.available = Number(Item?.available ?? 0)
  return allocation
}

// ---------------------------------------------------------------------------------------------------------------
// Cancel

/** The order is not in a status a cancel may start from (or is not stored): the caller answers 409 (or 404). */
export class CancelRefusedError extends Error {
  override readonly name = 'CancelRefusedError'
  constructor(
    readonly orderId: string,
    readonly status: string | undefined,
  ) {
    super(
      status === undefined
        ? `Order ${orderId} is not stored`
        : status === ORDER_STATUS.CANCELLED
          ? `Order ${orderId} is cancelled already`
          : `Order ${orderId} is ${status}: only a PROCESSED order (not yet in payment) can be cancelled`,
    )
  }
}

export interface CancelResult {
  orderId: string
  /** SKU → quantity given back to available. */
  released: Record<string, number>
  /** SKUs it no longer waits for (their pending-item records deleted). */
  unwaited: string[]
}

/**
 * Cancels a PROCESSED order, once: its status CANCELLED, its reserved stock back to available, its waits for stock
 * removed, in one transaction conditioned on the order as read (status and stock state). A second cancel, or one
 * of an order the workflow has taken to payment, is refused with the order's status.
 * @throws CancelRefusedError
 */
export const cancelOrder = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  orderId: string,
  now: string,
): Promise<CancelResult> => {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const stored = await readOrder(client, tableName, orderId)
    if (stored?.status !== ORDER_STATUS.PROCESSED) throw new CancelRefusedError(orderId, stored?.status)
    const items = (stored.order?.items ?? []) as StoredItem[]
    const released = quantitiesBySku(items, 'RESERVED')
    const waits = quantitiesBySku(items, 'PENDING')
    const stockStatus = released.size > 0 ? STOCK_STATUS.RELEASED : stored.stock_status
    const newItems = items.map((item) =>
      item.stock === 'RESERVED'
        ? { ...item, stock: 'RELEASED' }
        : item.stock === 'PENDING'
          ? { ...item, stock: 'CANCELLED' }
          : item,
    )
    try {
      await client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: tableName,
                Key: orderKey(orderId),
                UpdateExpression:
                  'SET #status = :cancelled, cancelled_at = :now, stock_status = :stockStatus, #order.#items = :items REMOVE pending_count',
                // As read: a restock in between (another item reserved) changes the count, and this is read again.
                ConditionExpression:
                  stored.pending_count === undefined
                    ? '#status = :processed AND stock_status = :seenStock AND attribute_not_exists(pending_count)'
                    : '#status = :processed AND stock_status = :seenStock AND pending_count = :seenCount',
                ExpressionAttributeNames: { '#status': 'status', '#order': 'order', '#items': 'items' },
                ExpressionAttributeValues: {
                  ':cancelled': ORDER_STATUS.CANCELLED,
                  ':now': now,
                  ':stockStatus': stockStatus,
                  ':items': newItems,
                  ':processed': ORDER_STATUS.PROCESSED,
                  ':seenStock': stored.stock_status,
                  ...(stored.pending_count === undefined ? {} : { ':seenCount': stored.pending_count }),
                },
              },
            },
            ...[...released].map(([sku, qty]) => returnStockAction(tableName, sku, qty, now)),
            ...[...waits.keys()].map((sku) => ({
              Delete: { TableName: tableName, Key: pendingKey(sku, String(stored.processed_at), orderId) },
            })),
          ],
        }),
      )
      return { orderId, released: Object.fromEntries(released), unwaited: [...waits.keys()] }
    } catch (err) {
      if (!cancelled(err)) throw err
      // A restock reserved one of its SKUs meanwhile, or another cancel won: read again and decide.
    }
  }
  throw new Error(`could not cancel order ${orderId}: it kept changing`)
}
