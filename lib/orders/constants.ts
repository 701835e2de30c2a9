/** Named limits and values shared by the handlers. AWS limits carry the page that documents them. */

export const OUTCOME = {
  PROCESSED: 'PROCESSED',
  REJECTED: 'REJECTED',
  DUPLICATE: 'DUPLICATE',
  CONFLICT: 'CONFLICT',
} as const
export type Outcome = (typeof OUTCOME)[keyof typeof OUTCOME]

export const METRIC = {
  [OUTCOME.PROCESSED]: 'OrdersProcessed',
  [OUTCOME.REJECTED]: 'OrdersRejected',
  [OUTCOME.DUPLICATE]: 'OrdersDuplicate',
  [OUTCOME.CONFLICT]: 'OrdersConflict',
  PENDING_STOCK: 'OrdersPendingStock',
  /** Valid orders put on the main queue by the API or the S3 validator (the worker then counts the outcome). */
  ACCEPTED: 'OrdersAccepted',
} as const
export type MetricName = (typeof METRIC)[keyof typeof METRIC]

export const LIMITS = {
  /** Serialised order bound: well under SNS (256 KB) and a DynamoDB item (400 KB), the smallest limits it passes. */
  MAX_ORDER_BYTES: 64 * 1024,
  MAX_ITEMS: 50,
  MAX_ID_LENGTH: 64,
  /** SendMessageBatch, DeleteMessageBatch and PublishBatch take at most 10 entries. */
  SQS_BATCH: 10,
  /** TransactWriteItems takes at most 100 actions: one order plus up to 50 distinct SKUs fits. */
  DYNAMODB_TRANSACTION_ACTIONS: 100,
  /** PutMetricData takes at most 1,000 metrics a request. */
  CLOUDWATCH_METRICS_PER_CALL: 1000,
  /** SQS allows 10 message attributes: we use at most 4 (correlation id, source, error, replay count). */
  SQS_MESSAGE_ATTRIBUTES: 10,
  /** Attempts for entries that a batch call returns as Failed (not sender faults). */
  BATCH_RETRY_ATTEMPTS: 3,
} as const

/** Message attribute names on our queues. */
export const ATTRIBUTE = {
  CORRELATION_ID: 'correlation_id',
  SOURCE: 'source',
  ERROR: 'error',
  REPLAY_COUNT: 'replay_count',
} as const
