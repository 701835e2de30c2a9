/** The orders table as the operations commands show it: one row per order record, rejection and conflict. */
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
