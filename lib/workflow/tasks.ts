/**
 * The order workflow's tasks, each a small core over the table and the notifications topic; the state machine
 * (cloudformation/workflow.yaml) calls them one after the other through handlers/workflow.ts, and retries or
 * catches the errors they throw by name:
 *
 * - checkOrder: the stored order, checked again (canonical schema and business rules) and where its stock stands;
 *   an order still waiting for stock is counted a wait, and given up after `maxStockWaits`.
 * - processPayment: PROCESSED → PAYMENT_PENDING, one charge (lib/workflow/payment.ts), then PAID, or PAYMENT_FAILED
 *   and a PaymentDeclined error (the state machine catches it into the compensation).
 * - sendNotification: the customer's message (paid or declined); a paid order becomes NOTIFIED.
 * - releaseStock: a failed payment's reserved stock back to available, once (lib/workflow/release.ts).
 * - recordFailure: an execution that could not go on is counted and logged before it ends in a Fail state.
 */
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { SNSClient } from '@aws-sdk/client-sns'
import { orderKey } from '../aws/table.ts'
import { checkCanonical } from '../orders/validate.ts'
import { centsOf } from '../orders/money.ts'
import { STOCK_STATUS } from '../orders/outcomes.ts'
import type { Order } from '../orders/order.ts'
import { chargeOnce, type ProviderSettings } from './payment.ts'
import { notificationOf, publishNotification } from './notify.ts'
import { releaseStock, type ReleaseResult } from './release.ts'
import { advanceStatus, isOrderStatus, ORDER_STATUS, type OrderStatus } from './status.ts'

export interface TaskDeps {
  dynamo: DynamoDBDocumentClient
  sns: SNSClient
  config: {
    ordersTable: string
    /** CUSTOMER_TOPIC_ARN (optional): the customers' notifications; without it, none is sent. */
    customerTopicArn: string | undefined
    maxOrderAmount: number
    provider: ProviderSettings
    /** MAX_STOCK_WAITS: checks of a pending-stock order before the workflow gives up on it. */
    maxStockWaits: number
  }
  now: () => Date
}

/** The stored order is gone, or no longer an order the workflow may go on with. */
export class OrderNotPayable extends Error {
  override readonly name = 'OrderNotPayable'
}

/** The payment was declined: the state machine catches this into the compensation. */
export class PaymentDeclined extends Error {
  override readonly name = 'PaymentDeclined'
  constructor(
    readonly orderId: string,
    readonly reason: string,
  ) {
    super(`Payment of ${orderId} declined: ${reason}`)
  }
}

interface StoredOrder {
  status: OrderStatus
  stockStatus: string
  order: Order
}

const readOrder = async (deps: TaskDeps, orderId: string): Promise<StoredOrder> => {
  const { Item } = await deps.dynamo.send(
    new GetCommand({ TableName: deps.config.ordersTable, Key: orderKey(orderId), ConsistentRead: true }),
  )
  if (!Item) throw new OrderNotPayable(`Order ${orderId} is not stored`)
  if (!isOrderStatus(Item.status)) throw new OrderNotPayable(`Order ${orderId} has the status ${String(Item.status)}`)
  return { status: Item.status, stockStatus: String(Item.stock_status), order: Item.order as Order }
}

/** The canonical order as the worker stored it, without the stock state it added to each item. */
const canonicalOf = (order: Order): Order => ({
  ...order,
  items: order.items.map(({ stock: _stock, ...item }: Order['items'][number] & { stock?: string }) => item),
})

export interface CheckInput {
  orderId: string
  /** Checks of a pending-stock order so far (0 on the first). */
  waits?: number
}
export interface CheckOutput {
  orderId: string
  status: OrderStatus
  stockStatus: string
  amountCents: number
  currency: string
  /** The order waits for stock: the state machine waits and checks again. */
  waitForStock: boolean
  /** It waited `maxStockWaits` times: the workflow ends without charging it. */
  giveUp: boolean
  waits: number
}

export const checkOrderTask = async (input: CheckInput, deps: TaskDeps): Promise<CheckOutput> => {
  const stored = await readOrder(deps, input.orderId)
  try {
    checkCanonical(canonicalOf(stored.order), { maxOrderAmount: deps.config.maxOrderAmount })
  } catch (err) {
    throw new OrderNotPayable(`Order ${input.orderId} fails its checks: ${(err as Error).message}`)
  }
  const pending = stored.stockStatus === STOCK_STATUS.PENDING_STOCK && stored.status === ORDER_STATUS.PROCESSED
  const waits = (input.waits ?? 0) + (pending ? 1 : 0)
  return {
    orderId: input.orderId,
    status: stored.status,
    stockStatus: stored.stockStatus,
    amountCents: centsOf(stored.order.amount),
    currency: stored.order.currency,
    waitForStock: pending && waits <= deps.config.maxStockWaits,
    giveUp: pending && waits > deps.config.maxStockWaits,
    waits,
  }
}

export interface PaymentOutput {
  orderId: string
  paymentId: string
  attempts: number
  /** Whether this call charged (false: a retry found the payment made). */
  charged: boolean
}

/**
 * @throws PaymentDeclined (after the order is PAYMENT_FAILED); PaymentTimeout (retried); StatusConflictError
 */
export const processPaymentTask = async (input: { orderId: string }, deps: TaskDeps): Promise<PaymentOutput> => {
  const { ordersTable } = deps.config
  const stored = await readOrder(deps, input.orderId)
  await advanceStatus(deps.dynamo, ordersTable, input.orderId, ORDER_STATUS.PAYMENT_PENDING)
  const now = deps.now().toISOString()
  const outcome = await chargeOnce(
    deps.dynamo,
    ordersTable,
    { orderId: input.orderId, amountCents: centsOf(stored.order.amount), currency: stored.order.currency, now },
    deps.config.provider,
  )
  if (outcome.status === 'DECLINED') {
    await advanceStatus(deps.dynamo, ordersTable, input.orderId, ORDER_STATUS.PAYMENT_FAILED, {
      payment_failed_at: now,
      payment_reason: outcome.reason,
    })
    throw Object.assign(new PaymentDeclined(input.orderId, outcome.reason), { charged: outcome.charged })
  }
  await advanceStatus(deps.dynamo, ordersTable, input.orderId, ORDER_STATUS.PAID, {
    payment_id: outcome.paymentId,
    paid_at: now,
  })
  return { orderId: input.orderId, paymentId: outcome.paymentId, attempts: outcome.attempts, charged: outcome.charged }
}

export interface NotifyInput {
  orderId: string
  outcome: 'PAID' | 'DECLINED'
}
export interface NotifyOutput {
  orderId: string
  sent: boolean
  status: OrderStatus
}

/** Sends the customer's message; a paid order then becomes NOTIFIED (a retry may send the message again). */
export const sendNotificationTask = async (input: NotifyInput, deps: TaskDeps): Promise<NotifyOutput> => {
  const stored = await readOrder(deps, input.orderId)
  const paid = input.outcome === 'PAID'
  if (paid && stored.status === ORDER_STATUS.NOTIFIED)
    return { orderId: input.orderId, sent: false, status: stored.status }
  const payment = await deps.dynamo.send(
    new GetCommand({ TableName: deps.config.ordersTable, Key: { pk: `PAYMENT#${input.orderId}`, sk: 'PAYMENT' } }),
  )
  const notification = notificationOf(stored.order, {
    type: paid ? 'ORDER_PAID' : 'PAYMENT_DECLINED',
    paymentId: payment.Item?.payment_id as string | undefined,
    reason: payment.Item?.reason as string | undefined,
  })
  const sent = await publishNotification(deps.sns, deps.config.customerTopicArn, notification)
  const at = deps.now().toISOString()
  const { status } = paid
    ? await advanceStatus(deps.dynamo, deps.config.ordersTable, input.orderId, ORDER_STATUS.NOTIFIED, {
        notified_at: at,
      })
    : { status: stored.status }
  return { orderId: input.orderId, sent, status }
}

export const releaseStockTask = async (
  input: { orderId: string },
  deps: TaskDeps,
): Promise<ReleaseResult & { orderId: string }> => ({
  orderId: input.orderId,
  ...(await releaseStock(deps.dynamo, deps.config.ordersTable, input.orderId, deps.now().toISOString())),
})
