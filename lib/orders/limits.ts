/** Named limits: ours, and the AWS limits an order passes through, each with the reason or the API that sets it. */
export const LIMITS = {
  /** Serialised order bound: well under SNS (256 KB) and a DynamoDB item (400 KB), the smallest limits it passes. */
  MAX_ORDER_BYTES: 64 * 1024,
  MAX_ITEMS: 50,
  MAX_ID_LENGTH: 64,
  /**
   * Nesting levels of a parsed order (an object or an array is one): a real order uses 4 (items → item → field,
   * customer → address → field). Checked before anything recurses over a value (JSON.stringify, the validators).
   */
  MAX_JSON_DEPTH: 32,
  /** A parked message's body above this is replaced by an excerpt with its source and length (SQS takes 1 MiB). */
  MAX_PARKED_BODY_BYTES: 256 * 1024,
  /** What a parked message keeps of a body it cannot keep whole, or of a malformed line's raw text. */
  RAW_EXCERPT_BYTES: 8 * 1024,
  /** SendMessageBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch and PublishBatch take at most 10 entries. */
  SQS_BATCH: 10,
  /** SendMessageBatch takes at most 1 MiB in all (bodies and attributes); kept 32 KiB below it. */
  SQS_BATCH_BYTES: 1024 * 1024 - 32 * 1024,
  /** TransactWriteItems takes at most 100 actions: one order plus up to 50 distinct SKUs fits. */
  DYNAMODB_TRANSACTION_ACTIONS: 100,
  /** PutMetricData takes at most 1,000 metrics a request. */
  CLOUDWATCH_METRICS_PER_CALL: 1000,
  /** SQS allows 10 message attributes: we use at most 4 (correlation id, source, error, replay count). */
  SQS_MESSAGE_ATTRIBUTES: 10,
  /** Attempts for entries that a batch call returns as Failed (not sender faults). */
  BATCH_RETRY_ATTEMPTS: 3,
} as const

/** `items` in slices of `size` (the batch APIs' 10 by default), in order. */
export const batchesOf = <T>(items: readonly T[], size: number = LIMITS.SQS_BATCH): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size))
