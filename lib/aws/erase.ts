/**
 * A customer's right to erasure, on the orders table: the personal data of each of the customer's order records
 * (the customer block: names, e-mail, phone, CPF, address; the shipping address; the free-text notes) is removed,
 * and what the business keeps stays: ids, amounts, SKUs and quantities, statuses, the content hash (so that the
 * same order sent again is still a DUPLICATE), times. The records are found through the `by_customer` index, never
 * a scan. Idempotent: an erased record has nothing left to remove, and is reported unchanged.
 *
 * Rejection and conflict records hold no order content (an id, the reasons and the source), pending-item records an
 * id, a SKU and a quantity: there is nothing personal to remove there.
 */
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Order } from '../orders/order.ts'
import { customerOrders, orderKey } from './table.ts'

/** The personal fields of an order, as paths under the record's `order` map. */
export const PERSONAL_PATHS = [['customer'], ['shipping', 'address'], ['notes']] as const

export interface ErasedRecord {
  orderId: string
  /** The paths removed (`customer`, `shipping.address`, `notes`); empty when nothing was left to remove. */
  removed: string[]
}

/** The order ids of a customer's order records, oldest first (the `by_customer` index, no scan). */
export const customerOrderIds = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  customerId: string,
): Promise<string[]> => {
  const ids: string[] = []
  for await (const item of customerOrders(client, tableName, customerId, { attributes: ['order_id'] }))
    ids.push(String(item.order_id))
  return ids
}

/** The personal paths an order record still holds. */
export const personalPathsOf = (order: Partial<Order> | undefined): string[] =>
  PERSONAL_PATHS.filter((path) => {
    let value: unknown = order
    for (const key of path) value = (value as Record<string, unknown> | undefined)?.[key]
    return value !== undefined
  }).map((path) => path.join('.'))

/**
 * Removes the personal data of one order record (of `customerId`: a record that changed customer is left alone).
 * `dryRun` reads and reports what would be removed.
 */
export const eraseOrderRecord = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  orderId: string,
  customerId: string,
  now: string,
  dryRun = false,
): Promise<ErasedRecord> => {
  const { Item } = await client.send(
    new GetCommand({ TableName: tableName, Key: orderKey(orderId), ConsistentRead: true }),
  )
  if (!Item || Item.customer_id !== customerId) return { orderId, removed: [] }
  const removed = personalPathsOf(Item.order as Partial<Order> | undefined)
  if (removed.length === 0 || dryRun) return { orderId, removed }
  const names: Record<string, string> = { '#order': 'order', '#customerId': 'customer_id' }
  const paths = removed.map((path) =>
    ['#order', ...path.split('.').map((key) => ((names[`#${key}`] = key), `#${key}`))].join('.'),
  )
  await client.send(
    new UpdateCommand({
      TableName: tableName,
      Key: orderKey(orderId),
      UpdateExpression: `REMOVE ${paths.join(', ')} SET erased_at = :now`,
      ConditionExpression: 'attribute_exists(pk) AND #customerId = :c',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ':now': now, ':c': customerId },
    }),
  )
  return { orderId, removed }
}

/** Erases every order record of a customer; `onRecord` hears of each as it is done (progress). */
export const eraseCustomer = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  customerId: string,
  options: { now: string; dryRun?: boolean; onRecord?: (record: ErasedRecord, done: number, total: number) => void },
): Promise<ErasedRecord[]> => {
  const ids = await customerOrderIds(client, tableName, customerId)
  const records: ErasedRecord[] = []
  for (const id of ids) {
    const record = await eraseOrderRecord(client, tableName, id, customerId, options.now, options.dryRun)
    records.push(record)
    options.onRecord?.(record, records.length, ids.length)
  }
  return records
}
