/**
 * The customer's notification of a payment's outcome: one SNS message to the customer notifications topic, with the
 * order id, amount, currency and status, and the customer's name and e-mail (the channel's own business: this is
 * the one message that carries them, and no log line does). The message's `type` attribute lets a subscription
 * filter by outcome.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns'
import type { Order } from '../orders/order.ts'

export type NotificationType = 'ORDER_PAID' | 'PAYMENT_DECLINED'

export interface Notification {
  subject: string
  message: Record<string, unknown>
  type: NotificationType
}

const money = (amount: number, currency: string) => `${amount.toFixed(2)} ${currency}`

/** The notification of an order's payment outcome. */
export const notificationOf = (
  order: Pick<Order, 'order_id' | 'amount' | 'currency' | 'customer'>,
  outcome: { type: NotificationType; paymentId?: string; reason?: string },
): Notification => {
  const name =
    order.customer?.name ?? ([order.customer?.first_name, order.customer?.last_name].filter(Boolean).join(' ') || null)
  const paid = outcome.type === 'ORDER_PAID'
  return {
    type: outcome.type,
    subject: paid
      ? `Order ${order.order_id}: paid, ${money(order.amount, order.currency)}`
      : `Order ${order.order_id}: payment declined`,
    message: {
      type: outcome.type,
      order_id: order.order_id,
      amount: order.amount,
      currency: order.currency,
      status: paid ? 'PAID' : 'PAYMENT_FAILED',
      ...(paid ? { payment_id: outcome.paymentId } : { reason: outcome.reason ?? 'declined' }),
      customer: { name, email: order.customer?.email ?? null },
    },
  }
}

/** Publishes a notification; without a topic, nothing (returns false). */
export const publishNotification = async (
  client: SNSClient,
  topicArn: string | undefined,
  notification: Notification,
): Promise<boolean> => {
  if (!topicArn) return false
  await client.send(
    new PublishCommand({
      TopicArn: topicArn,
      Subject: notification.subject.slice(0, 100),
      Message: JSON.stringify(notification.message),
      MessageAttributes: { type: { DataType: 'String', StringValue: notification.type } },
    }),
  )
  return true
}
