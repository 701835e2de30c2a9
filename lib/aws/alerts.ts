/**
 * SNS alerts (pending stock, rejected orders): best effort, batched by 10, never carrying personal data.
 * A failure is logged; it never fails or re-runs an order.
 */
import { PublishBatchCommand, type SNSClient } from '@aws-sdk/client-sns'
import { batchesOf } from '../orders/limits.ts'
import type { Logger } from '../runtime/logger.ts'

export interface Alert {
  type: 'PENDING_STOCK' | 'REJECTED' | 'FILE_REJECTS' | 'ORDER_CANCELLED'
  order_id?: string
  subject: string
  detail: Record<string, unknown>
}

export const publishAlerts = async (
  client: SNSClient,
  topicArn: string | undefined,
  alerts: Alert[],
  logger: Logger,
): Promise<void> => {
  if (!topicArn || alerts.length === 0) return
  for (const batch of batchesOf(alerts)) {
    try {
      const result = await client.send(
        new PublishBatchCommand({
          TopicArn: topicArn,
          PublishBatchRequestEntries: batch.map((alert, j) => ({
            Id: String(j),
            Subject: alert.subject.slice(0, 100),
            Message: JSON.stringify({ type: alert.type, order_id: alert.order_id, ...alert.detail }),
            MessageAttributes: { type: { DataType: 'String', StringValue: alert.type } },
          })),
        }),
      )
      for (const f of result.Failed ?? [])
        logger.warn({ alert: batch[Number(f.Id)]?.type, code: f.Code }, 'alert not published')
    } catch (err) {
      logger.warn({ err, alerts: batch.length }, 'alerts not published')
    }
  }
}
