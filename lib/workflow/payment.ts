/**
 * The payment step, against a simulated provider whose answer is decided by the order id, so that a test or a demo
 * gets the same outcome every time: an order is approved when a hash of its id falls under the success rate
 * (default 0.9), and an attempt times out when a hash of the id and the attempt number falls under the timeout rate
 * (default 0), so that a retry can get through. Once: the payment record (`PAYMENT#<order id>` / `PAYMENT`) counts
 * the attempts and keeps the outcome; a retried task reads the outcome it has and never charges twice.
 */
import { createHash } from 'node:crypto'
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { conditionItem } from '../aws/table.ts'

/** The provider's settings: PAYMENT_SUCCESS_RATE, PAYMENT_TIMEOUT_RATE (0 to 1). */
export interface ProviderSettings {
  successRate: number
  timeoutRate: number
}

export const DEFAULT_PROVIDER: ProviderSettings = { successRate: 0.9, timeoutRate: 0 }

export const paymentKey = (orderId: string) => ({ pk: `PAYMENT#${orderId}`, sk: 'PAYMENT' })

/** A number in [0, 1) from the SHA-256 of the parts: the same parts, the same number. */
export const unitHash = (...parts: (string | number)[]): number =>
  createHash('sha256').update(parts.join('\u0000')).digest().readUInt32BE(0) / 2 ** 32

/** The provider's answer for an order: approved or declined (whatever the attempt). */
export const isApproved = (orderId: string, settings: ProviderSettings): boolean =>
  unitHash('approve', orderId) < settings.successRate

/** Whether the provider times out on this attempt (1-based) of an order's payment. */
export const timesOut = (orderId: string, attempt: number, settings: ProviderSettings): boolean =>
  unitHash('timeout', orderId, attempt) < settings.timeoutRate

/** The payment id of an approved order: the provider's reference, the same on every attempt. */
export const paymentIdOf = (orderId: string): string =>
  `pay_${createHash('sha256').update(`payment\u0000${orderId}`).digest('hex').slice(0, 24)}`

/** The provider did not answer in time: a transient error, retried by the state machine (errorType PaymentTimeout). */
export class PaymentTimeout extends Error {
  override readonly name = 'PaymentTimeout'
  constructor(orderId: string, attempt: number) {
    super(`Payment of ${orderId}: the provider did not answer (attempt ${attempt})`)
  }
}

export type PaymentOutcome =
  | { status: 'APPROVED'; paymentId: string; attempts: number; charged: boolean }
  | { status: 'DECLINED'; reason: string; attempts: number; charged: boolean }

export interface ChargeInput {
  orderId: string
  amountCents: number
  currency: string
  now: string
}

/**
 * Charges an order once. The attempt is counted first (one update, which also returns a settled outcome); a
 * settled payment is answered as it was, without asking the provider again (`charged: false`). Otherwise the
 * provider decides, and the outcome is written only if none is (a concurrent attempt's outcome wins, and is
 * returned).
 * @throws PaymentTimeout when the provider times out on this attempt
 */
export const chargeOnce = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  input: ChargeInput,
  settings: ProviderSettings = DEFAULT_PROVIDER,
): Promise<PaymentOutcome> => {
  const { Attributes: counted = {} } = await client.send(
    new UpdateCommand({
      TableName: tableName,
      Key: paymentKey(input.orderId),
      UpdateExpression:
        'SET order_id = :id, amount_cents = :amount, currency = :currency, #type = :type, ' +
        'first_attempt_at = if_not_exists(first_attempt_at, :now) ADD attempts :one',
      ExpressionAttributeNames: { '#type': 'type' },
      ExpressionAttributeValues: {
        ':id': input.orderId,
        ':amount': input.amountCents,
        ':currency': input.currency,
        ':type': 'payment',
        ':now': input.now,
        ':one': 1,
      },
      ReturnValues: 'ALL_NEW',
    }),
  )
  const attempts = Number(counted.attempts ?? 1)
  const settled = settledOutcome(counted, attempts)
  if (settled) return settled
  if (timesOut(input.orderId, attempts, settings)) throw new PaymentTimeout(input.orderId, attempts)
  const outcome: PaymentOutcome = isApproved(input.orderId, settings)
    ? { status: 'APPROVED', paymentId: paymentIdOf(input.orderId), attempts, charged: true }
    : { status: 'DECLINED', reason: 'declined by the provider', attempts, charged: true }
  try {
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: paymentKey(input.orderId),
        UpdateExpression: 'SET outcome = :outcome, payment_id = :paymentId, reason = :reason, settled_at = :now',
        ConditionExpression: 'attribute_not_exists(outcome)',
        ExpressionAttributeValues: {
          ':outcome': outcome.status,
          ':paymentId': outcome.status === 'APPROVED' ? outcome.paymentId : null,
          ':reason': outcome.status === 'DECLINED' ? outcome.reason : null,
          ':now': input.now,
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    )
    return outcome
  } catch (err) {
    if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err
    const won = settledOutcome(conditionItem((err as { Item?: Record<string, unknown> }).Item) ?? {}, attempts)
    if (!won) throw err
    return won
  }
}

const settledOutcome = (item: Record<string, unknown>, attempts: number): PaymentOutcome | undefined => {
  if (item.outcome === 'APPROVED')
    return { status: 'APPROVED', paymentId: String(item.payment_id), attempts, charged: false }
  if (item.outcome === 'DECLINED')
    return { status: 'DECLINED', reason: String(item.reason ?? 'declined'), attempts, charged: false }
  return undefined
}
