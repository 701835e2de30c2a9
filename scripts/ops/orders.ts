/** The orders table as the operations commands show it: one row per order record, rejection and conflict. */
import { paginateScan, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { OUTCOME, STOCK_STATUS } from '../../lib/orders/outcomes.ts'
import { ORDER_SK } from '../../lib/aws/table.ts'
import { ORDER_STATUS } from '../../lib/workflow/status.ts'

/** What `scan --status` filters on: an order record's status (the workflow's too), pending stock, rejects. */
export const STATUSES = [
  OUTCOME.PROCESSED,
  ORDER_STATUS.PAYMENT_PENDING,
  ORDER_STATUS.PAID,
  ORDER_STATUS.NOTIFIED,
  ORDER_STATUS.PAYMENT_FAILED,
  STOCK_STATUS.PENDING_STOCK,
  OUTCOME.REJECTED,
  OUTCOME.CONFLICT,
] as const
export type Status = (typeof STATUSES)[number]

export interface OrderRow {
  order_id: string
  status: string
  stock: string
  amount: string
  at: string
  reason: string
}

/** One row per order record, rejection and conflict. */
export const toRow = (item: Record<string, unknown>): OrderRow | undefined => {
  const sk = String(item.sk ?? '')
  if (!String(item.pk ?? '').startsWith('ORDER#')) return undefined
  if (sk === ORDER_SK) {
    const order = item.order as { amount?: number; currency?: string } | undefined
    return {
      order_id: String(item.order_id),
      status: String(item.status ?? OUTCOME.PROCESSED),
      stock: String(item.stock_status ?? ''),
      amount: order?.amount !== undefined ? `${order.amount.toFixed(2)} ${order.currency ?? ''}` : '',
      at: String(item.processed_at ?? ''),
      reason: '',
    }
  }
  return {
    order_id: String(item.order_id),
    status: String(item.status),
    stock: '',
    amount: '',
    at: String(item.rejected_at ?? ''),
    reason: String(item.message ?? '').slice(0, 100),
  }
}

export const matches = (row: OrderRow, status?: Status): boolean =>
  status === undefined ||
  (status === STOCK_STATUS.PENDING_STOCK ? row.stock === STOCK_STATUS.PENDING_STOCK : row.status === status)

/**
 * The table's orders by status: PROCESSED, then the workflow's statuses, pending stock (those are also counted by
 * their status), rejects and conflicts. A scan of the keys and statuses only: for `status` and the console.
 */
export const countOrders = async (client: DynamoDBDocumentClient, table: string): Promise<Record<string, number>> => {
  const counts: Record<string, number> = Object.fromEntries(STATUSES.map((s) => [s, 0]))
  for await (const page of paginateScan(
    { client },
    {
      TableName: table,
      ProjectionExpression: 'pk, sk, order_id, #s, stock_status',
      ExpressionAttributeNames: { '#s': 'status' },
    },
  )) {
    for (const item of page.Items ?? []) {
      const row = toRow(item)
      if (!row) continue
      counts[row.status] = (counts[row.status] ?? 0) + 1
      if (row.stock === STOCK_STATUS.PENDING_STOCK) counts[STOCK_STATUS.PENDING_STOCK]! += 1
    }
  }
  return counts
}
