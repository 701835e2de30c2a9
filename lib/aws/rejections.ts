/**
 * The one reject step, shared by the validator (a file's bad lines) and the worker (a message that fails its
 * checks, or a conflict): each rejected order is recorded beside its id in the table (when it has a usable one: the
 * id stays free for a corrected order), counted, logged without its content, and announced on the alerts topic
 * where an alert of its own is worth it (`alertFor`: the worker's conflicts; a file's rejects go in its one alert).
 * Parking the message in the DLQ is the caller's (the validator parks a file's rejects itself; the worker's
 * classifyErrors parks the record).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { SNSClient } from '@aws-sdk/client-sns'
import { boundedFields, ConflictError, errorClass, errorMessage, ValidationError } from '../orders/errors.ts'
import { LOG, METRIC } from '../orders/outcomes.ts'
import type { Logger } from '../runtime/logger.ts'
import { publishAlerts, type Alert } from './alerts.ts'
import type { MetricsBuffer } from './metrics.ts'
import { recordRejection } from './table.ts'

export interface Reject {
  error: unknown
  /** The id the order claims, when it is a usable one. */
  orderId?: string
  /** Where it came from: a queue ARN, or `s3://bucket/key?versionId=v#line`. */
  source?: string
  correlationId: string
  /** The content hash, for a conflict (its record sits beside the stored order's). */
  hash?: string
  /** The alert's subject (SNS takes 100 characters). */
  subject: string
}

export interface RejectDeps {
  dynamo: DynamoDBDocumentClient
  sns: SNSClient
  config: { ordersTable: string; alertTopicArn: string | undefined; stage: string }
  metrics: MetricsBuffer
  log: Logger
  /** The invocation's request id, for the log lines. */
  requestId?: string
  now: Date
  /** Which rejects get an alert of their own (default all): a file's rejects are announced once, by its report. */
  alertFor?: (reject: Reject) => boolean
}

/** Records, counts, logs and announces rejected orders (alerts: best effort, never failing the reject). */
export const announceRejects = async (rejects: Reject[], deps: RejectDeps): Promise<void> => {
  if (rejects.length === 0) return
  const { config, log } = deps
  const at = deps.now.toISOString()
  await Promise.all(
    rejects.flatMap((r) =>
      r.orderId === undefined
        ? []
        : [
            recordRejection(deps.dynamo, config.ordersTable, {
              orderId: r.orderId,
              errorClass: errorClass(r.error),
              message: errorMessage(r.error),
              reasons: r.error instanceof ValidationError ? boundedFields(r.error.fields) : [],
              source: r.source,
              hash: r.hash,
              correlationId: r.correlationId,
              now: at,
            }),
          ],
    ),
  )
  for (const r of rejects) {
    deps.metrics.count(METRIC.REJECTED)
    if (r.error instanceof ConflictError) deps.metrics.count(METRIC.CONFLICT)
    const { orderId, source, correlationId } = r
    const reason = { errorClass: errorClass(r.error), error: errorMessage(r.error) }
    log.warn({ requestId: deps.requestId, orderId, source, correlationId, ...reason }, LOG.ORDER_REJECTED)
  }
  const alerts = rejects.filter(deps.alertFor ?? (() => true)).map((r): Alert => ({
    type: 'REJECTED',
    order_id: r.orderId,
    subject: r.subject,
    detail: { source: r.source, error_class: errorClass(r.error), message: errorMessage(r.error), stage: config.stage },
  }))
  await publishAlerts(deps.sns, config.alertTopicArn, alerts, log)
}
