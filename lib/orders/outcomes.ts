/**
 * What can become of an order, the metric each outcome counts, and the names of the log lines that report them.
 * The log names are the oracle of the demo and of the end-to-end tests (they read the functions' logs): change a
 * name here, and every reader follows.
 */

export const OUTCOME = {
  PROCESSED: 'PROCESSED',
  REJECTED: 'REJECTED',
  DUPLICATE: 'DUPLICATE',
  CONFLICT: 'CONFLICT',
} as const
export type Outcome = (typeof OUTCOME)[keyof typeof OUTCOME]

/**
 * The stock state of a stored order: every item reserved, some waiting for stock, or stock not tracked; RELEASED
 * once the workflow gave a failed payment's reserved stock back.
 */
export const STOCK_STATUS = {
  RESERVED: 'RESERVED',
  PENDING_STOCK: 'PENDING_STOCK',
  UNTRACKED: 'UNTRACKED',
  RELEASED: 'RELEASED',
} as const
export type StockStatus = (typeof STOCK_STATUS)[keyof typeof STOCK_STATUS]

export const METRIC = {
  [OUTCOME.PROCESSED]: 'OrdersProcessed',
  [OUTCOME.REJECTED]: 'OrdersRejected',
  [OUTCOME.DUPLICATE]: 'OrdersDuplicate',
  [OUTCOME.CONFLICT]: 'OrdersConflict',
  PENDING_STOCK: 'OrdersPendingStock',
  /** Valid orders put on the main queue by the API or the S3 validator (the worker then counts the outcome). */
  ACCEPTED: 'OrdersAccepted',
  /** Stored orders written to the data lake's processed/ (the exporter). */
  EXPORTED: 'OrdersExported',
  /** Lines the data lake's generator wrote (handlers/generator.ts): every kind, invalid and duplicates included. */
  GENERATED: 'OrdersGenerated',
  /** The workflow's payments: approved (charged once) and declined (handlers/workflow.ts). */
  PAYMENTS_SUCCEEDED: 'PaymentsSucceeded',
  PAYMENTS_FAILED: 'PaymentsFailed',
  /** Customer notifications the workflow published (paid or declined). */
  NOTIFICATIONS_SENT: 'NotificationsSent',
  /** Workflow executions that could not go on (an error no Retry or Catch of the design settled). */
  WORKFLOWS_FAILED: 'WorkflowsFailed',
  /** Orders cancelled before their payment, their stock given back (POST /orders/{id}/cancel, npm run cancel). */
  CANCELLED: 'OrdersCancelled',
} as const
export type MetricName = (typeof METRIC)[keyof typeof METRIC]

/** The `msg` of the log lines that report an order's fate (pino's message key). */
export const LOG = {
  /** worker: the order was stored (PROCESSED) or was already there (DUPLICATE); `orderId`, `outcome`, `pending`. */
  ORDER_SETTLED: 'order settled',
  /** validator or worker: the order was rejected; `orderId` when it has one, `source` for a file's line. */
  ORDER_REJECTED: 'order rejected',
  /** api: the answer to a POST; `orderId`, `statusCode`, `status`. */
  ORDER_RECEIVED: 'order received',
  /** api or npm run cancel: the order was cancelled; `orderId`, `released` (SKU → quantity back). */
  ORDER_CANCELLED: 'order cancelled',
  /** validator: one file (or one range of a large file: `range`) done; `accepted`, `rejected`. */
  FILE_VALIDATED: 'file validated',
  /** validator: a planning part of a large file sent its ranges; `part`, `ranges`, `total` once known. */
  FILE_PLANNED: 'file planned',
  /** validator: a planning part found itself already done (its message came again) and sent nothing. */
  FILE_ALREADY_PLANNED: 'file part already planned',
  /** validator: a range found itself already counted (its message came again) and read nothing. */
  RANGE_ALREADY_DONE: 'file range already done',
  /** validator: the last range of a large file is done: its report is written; `first` when it claimed it. */
  FILE_COMPLETED: 'file completed',
  /** classifyErrors: a permanent failure is now in the DLQ. */
  MESSAGE_PARKED: 'message parked in the DLQ',
  /** exporter: one stream batch written to processed/; `orders`, `files`. */
  ORDERS_EXPORTED: 'orders exported',
  /** generator: one file of generated orders written; `bucket`, `key`, `orders`, `invalid`, `duplicates`, `bytes`. */
  FILE_GENERATED: 'file generated',
  /** workflow starter: an execution started for a stored order; `orderId`, `execution`. */
  WORKFLOW_STARTED: 'workflow started',
  /** workflow starter: the order's execution exists already (a repeated stream record). */
  WORKFLOW_ALREADY_STARTED: 'workflow already started',
  /** workflow tasks: one task done; `task`, `orderId`. */
  WORKFLOW_TASK_DONE: 'workflow task done',
  /** workflow tasks: an execution could not go on; `orderId`, `error`, `step`. */
  WORKFLOW_FAILED: 'workflow failed',
  /** flushMetrics: PutMetricData failed; the counts are in the line. */
  METRICS_NOT_PUBLISHED: 'metrics not published',
} as const

/**
 * The same order id seen again: the same content hash is a DUPLICATE (nothing to do), another one a CONFLICT (the
 * first order stands). The one rule behind the worker's conditional write and the API's 409.
 */
export const compareStored = (storedHash: string, hash: string): typeof OUTCOME.DUPLICATE | typeof OUTCOME.CONFLICT =>
  storedHash === hash ? OUTCOME.DUPLICATE : OUTCOME.CONFLICT
