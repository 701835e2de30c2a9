/**
 * An order's life after it is stored: the workflow's statuses on the order record (`status`), and the conditional
 * update that only moves it forward. PROCESSED (stored, stock reserved) → PAYMENT_PENDING → PAID → NOTIFIED, or
 * PAYMENT_PENDING → PAYMENT_FAILED (its reserved stock released once, the customer told), or PROCESSED → CANCELLED
 * (a cancel before the payment: its stock back, lib/aws/inventory.ts). A status never moves
 * back: the update names the statuses it may come from, and a record in any other status is left as it is.
 */
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { conditionItem, orderKey } from '../aws/table.ts'
import { OUTCOME } from '../orders/outcomes.ts'

export const ORDER_STATUS = {
  PROCESSED: OUTCOME.PROCESSED,
  PAYMENT_PENDING: 'PAYMENT_PENDING',
  PAID: 'PAID',
  NOTIFIED: 'NOTIFIED',
  PAYMENT_FAILED: 'PAYMENT_FAILED',
  /** Cancelled before its payment (npm run cancel, POST /orders/{id}/cancel: lib/aws/inventory.ts). */
  CANCELLED: 'CANCELLED',
} as const
export type OrderStatus = (typeof ORDER_STATUS)[keyof typeof ORDER_STATUS]

/** The statuses each status may be reached from (itself excluded): the one place the order of statuses is decided. */
export const REACHED_FROM: Record<OrderStatus, readonly OrderStatus[]> = {
  PROCESSED: [],
  PAYMENT_PENDING: ['PROCESSED'],
  PAID: ['PAYMENT_PENDING'],
  NOTIFIED: ['PAID'],
  PAYMENT_FAILED: ['PAYMENT_PENDING'],
  CANCELLED: ['PROCESSED'],
}

/** Whether `to` comes after `from` on some path (PROCESSED → … → NOTIFIED or PAYMENT_FAILED). */
export const isAfter = (to: OrderStatus, from: OrderStatus): boolean =>
  REACHED_FROM[to].some((previous) => previous === from || isAfter(previous, from))

/** The statuses the workflow writes, and the stored orders a status count lists (npm run status, scan). */
export const ORDER_STATUSES = Object.values(ORDER_STATUS)

export const isOrderStatus = (value: unknown): value is OrderStatus =>
  typeof value === 'string' && (ORDER_STATUSES as readonly string[]).includes(value)

export interface AdvanceResult {
  /** The status the record has now. */
  status: OrderStatus
  /** Whether this call moved it (false: it was there already, or further on). */
  moved: boolean
}

/** The record is not where the move may start from, nor where it leads: another path was taken. */
export class StatusConflictError extends Error {
  override readonly name = 'StatusConflictError'
  constructor(
    readonly orderId: string,
    readonly status: string | undefined,
    readonly to: OrderStatus,
  ) {
    super(`Order ${orderId} is ${status ?? 'not stored'}: it cannot become ${to}`)
  }
}

/**
 * Moves an order record to `to` when its status is one it may be reached from, with `set` written in the same
 * update (e.g. a payment id and a time). A record already at `to`, or past it, is left as it is: a retried task
 * moves nothing twice.
 * @throws StatusConflictError when the record is missing, or on another path (PAID asked of a PAYMENT_FAILED order)
 */
export const advanceStatus = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  orderId: string,
  to: OrderStatus,
  set: Record<string, unknown> = {},
): Promise<AdvanceResult> => {
  const from = REACHED_FROM[to]
  const names: Record<string, string> = { '#status': 'status' }
  const values: Record<string, unknown> = { ':to': to, ...Object.fromEntries(from.map((s, i) => [`:from${i}`, s])) }
  const assignments = ['#status = :to']
  Object.entries(set).forEach(([field, value], i) => {
    names[`#f${i}`] = field
    values[`:v${i}`] = value
    assignments.push(`#f${i} = :v${i}`)
  })
  try {
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: orderKey(orderId),
        UpdateExpression: `SET ${assignments.join(', ')}`,
        ConditionExpression: `attribute_exists(pk) AND #status IN (${from.map((_, i) => `:from${i}`).join(', ')})`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    )
    return { status: to, moved: true }
  } catch (err) {
    if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err
    const stored = conditionItem((err as { Item?: Record<string, unknown> }).Item)?.status
    const status = isOrderStatus(stored) ? stored : undefined
    if (status !== undefined && (status === to || isAfter(status, to))) return { status, moved: false }
    throw new StatusConflictError(orderId, status, to)
  }
}
