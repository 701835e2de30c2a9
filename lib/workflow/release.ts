/**
 * The compensation of a failed payment: the stock the worker reserved for the order goes back to `available`, in one
 * transaction with the order record, which records the release (`stock_released_at`, `stock_status` RELEASED, each
 * reserved item's `stock` RELEASED). Once: the transaction's condition is that the order is PAYMENT_FAILED and not
 * yet released, so a retried task releases nothing twice. Items that waited for stock (PENDING) or whose stock is
 * not tracked had nothing reserved, and are left out.
 */
import { GetCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { orderKey, quantitiesBySku, returnStockAction } from '../aws/table.ts'
import { STOCK_STATUS } from '../orders/outcomes.ts'
import type { Order } from '../orders/order.ts'
import { ORDER_STATUS, StatusConflictError } from './status.ts'

type StoredItem = Order['items'][number] & { stock?: string }

/** Σ qty per SKU of the items the worker reserved. */
export const reservedOf = (items: readonly StoredItem[]): Map<string, number> => quantitiesBySku(items, 'RESERVED')

export interface ReleaseResult {
  /** SKU → quantity given back by this call (empty when it was done before, or nothing was reserved). */
  released: Record<string, number>
  /** Whether an earlier call had released it already. */
  already: boolean
}

/**
 * Gives a PAYMENT_FAILED order's reserved stock back, once.
 * @throws StatusConflictError when the order is missing or not PAYMENT_FAILED
 */
export const releaseStock = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  orderId: string,
  now: string,
): Promise<ReleaseResult> => {
  const { Item } = await client.send(
    new GetCommand({ TableName: tableName, Key: orderKey(orderId), ConsistentRead: true }),
  )
  if (!Item || Item.status !== ORDER_STATUS.PAYMENT_FAILED)
    throw new StatusConflictError(orderId, Item?.status as string | undefined, ORDER_STATUS.PAYMENT_FAILED)
  if (Item.stock_released_at) return { released: {}, already: true }
  const items = ((Item.order as Order | undefined)?.items ?? []) as StoredItem[]
  const reserved = reservedOf(items)
  const stockStatus = reserved.size > 0 ? STOCK_STATUS.RELEASED : Item.stock_status
  try {
    await client.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: tableName,
              Key: orderKey(orderId),
              UpdateExpression: 'SET stock_released_at = :now, stock_status = :stockStatus, #order.#items = :items',
              ConditionExpression: '#status = :failed AND attribute_not_exists(stock_released_at)',
              ExpressionAttributeNames: { '#status': 'status', '#order': 'order', '#items': 'items' },
              ExpressionAttributeValues: {
                ':now': now,
                ':stockStatus': stockStatus,
                ':failed': ORDER_STATUS.PAYMENT_FAILED,
                ':items': items.map((item) => (item.stock === 'RESERVED' ? { ...item, stock: 'RELEASED' } : item)),
              },
            },
          },
          ...[...reserved].map(([sku, qty]) => returnStockAction(tableName, sku, qty, now)),
        ],
      }),
    )
    return { released: Object.fromEntries(reserved), already: false }
  } catch (err) {
    if ((err as { name?: string }).name !== 'TransactionCanceledException') throw err
    // A concurrent call released it first: the record says so.
    const { Item: current } = await client.send(
      new GetCommand({ TableName: tableName, Key: orderKey(orderId), ConsistentRead: true }),
    )
    if (current?.stock_released_at) return { released: {}, already: true }
    throw err
  }
}
