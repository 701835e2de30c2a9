/**
 * tp-order-worker: main-queue batch → each order checked again, then stored once with its stock reserved (one
 * DynamoDB transaction, or one conditional put when stock tracking is off) → metrics, alerts. Rejects are
 * recorded and parked in the main DLQ; everything else that fails is retried by SQS.
 */
import middy from '@middy/core'
import errorLogger from '@middy/error-logger'
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure'
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda'
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { SNSClient } from '@aws-sdk/client-sns'
import type { SQSClient } from '@aws-sdk/client-sqs'
import { publishAlerts, type Alert } from '../lib/aws/alerts.ts'
import { settleInGroups } from '../lib/aws/groups.ts'
import { dynamoClient, snsClient, sqsClient } from '../lib/aws/clients.ts'
import { ATTRIBUTE } from '../lib/aws/queue.ts'
import { announceRejects } from '../lib/aws/rejections.ts'
import type { StoreResult } from '../lib/aws/table.ts'
import { ConflictError, errorClass, errorMessage, MalformedOrderError } from '../lib/orders/errors.ts'
import { jsonErrorMessage } from '../lib/orders/json.ts'
import { orderHash, orderIdOf } from '../lib/orders/order.ts'
import { LOG, METRIC, OUTCOME } from '../lib/orders/outcomes.ts'
import { checkCanonical } from '../lib/orders/validate.ts'
import { DEFAULTS, loadConfig, timeoutEarly, type Config } from '../lib/runtime/config.ts'
import { logger as baseLogger, type Logger } from '../lib/runtime/logger.ts'
import { classifyErrors } from '../middlewares/classify-errors.ts'
import { detectDuplicates, type DuplicatesContext } from '../middlewares/duplicates.ts'
import { flushMetrics, type MetricsContext } from '../middlewares/metrics.ts'

export type WorkerConfig = Pick<
  Config,
  | 'ordersTable'
  | 'mainDlqUrl'
  | 'alertTopicArn'
  | 'metricsNamespace'
  | 'metricsMode'
  | 'stage'
  | 'stockTracking'
  | 'defaultCurrency'
  | 'maxOrderAmount'
> &
  Partial<Pick<Config, 'workerConcurrency' | 'orderRetentionDays'>>

type WorkerContext = MetricsContext & DuplicatesContext

export interface WorkerDeps {
  config: WorkerConfig
  dynamo: DynamoDBDocumentClient
  sqs: SQSClient
  sns: SNSClient
  /** Default: built on the first flush, in METRICS_MODE=api only (emf sends no request). */
  cloudWatch?: CloudWatchClient
  logger?: Logger
  now?: () => Date
  /** middy's timeoutEarlyInMillis (default 1000). */
  timeoutEarlyMs?: number
}

/** An alert of its own only for a conflict: the same id with other content is worth a person's look. */
const conflictsOnly = (r: { error: unknown }): boolean => r.error instanceof ConflictError

/**
 * One main-queue record: checked against the canonical schema again (an edited or replayed message must not slip
 * through), then stored once. A reject is recorded and announced, then thrown for classifyErrors to park.
 */
export const processRecord = async (
  record: SQSRecord,
  context: WorkerContext,
  deps: Required<Pick<WorkerDeps, 'config' | 'dynamo' | 'sns' | 'logger' | 'now'>> & { alerts: Alert[] },
): Promise<StoreResult> => {
  const { config, logger: log } = deps
  const correlationId = record.messageAttributes?.[ATTRIBUTE.CORRELATION_ID]?.stringValue ?? record.messageId
  const reject = async (error: unknown, orderId?: string, hash?: string): Promise<never> => {
    const subject = `Order ${orderId ?? 'without an id'} rejected`
    const rejectDeps = {
      ...deps,
      metrics: context.metrics,
      log,
      requestId: context.awsRequestId,
      now: deps.now(),
      alertFor: conflictsOnly,
    }
    await announceRejects([{ error, orderId, hash, source: record.eventSourceARN, correlationId, subject }], rejectDeps)
    throw error
  }
  let body: unknown
  try {
    body = JSON.parse(record.body)
  } catch (err) {
    return reject(new MalformedOrderError(`Message body is not valid JSON (${jsonErrorMessage(err)})`))
  }
  let order
  try {
    order = checkCanonical(body, config, Buffer.byteLength(record.body))
  } catch (err) {
    return reject(err, orderIdOf(body))
  }
  const hash = orderHash(order, config.defaultCurrency)
  let result: StoreResult
  try {
    const source = record.messageAttributes?.[ATTRIBUTE.SOURCE]?.stringValue
    result = await context.duplicates.store(order, hash, { now: deps.now().toISOString(), correlationId, source })
  } catch (err) {
    if (err instanceof ConflictError) return reject(err, order.order_id, err.hash)
    throw err
  }
  context.metrics.count(result.outcome === OUTCOME.PROCESSED ? METRIC.PROCESSED : METRIC.DUPLICATE)
  if (result.pending.length > 0) {
    context.metrics.count(METRIC.PENDING_STOCK)
    const detail = { skus: result.pending, stage: config.stage }
    deps.alerts.push({
      type: 'PENDING_STOCK',
      order_id: order.order_id,
      subject: `Order ${order.order_id} waits for stock`,
      detail,
    })
  }
  const { outcome, pending } = result
  log.info(
    { requestId: context.awsRequestId, orderId: order.order_id, correlationId, outcome, pending },
    LOG.ORDER_SETTLED,
  )
  return result
}

/** The worker's middy chain; `handler` below is this chain with the configuration of the environment. */
export const buildWorker = (deps: WorkerDeps) => {
  const { config } = deps
  const log = deps.logger ?? baseLogger
  const now = deps.now ?? (() => new Date())
  const retried = (reason: unknown, record: SQSRecord) =>
    log.warn(
      { messageId: record.messageId, errorClass: errorClass(reason), error: errorMessage(reason) },
      'message will be retried',
    )

  return middy<SQSEvent, SQSBatchResponse, Error, WorkerContext>({ timeoutEarlyInMillis: deps.timeoutEarlyMs ?? 1000 })
    .use(
      flushMetrics({
        namespace: config.metricsNamespace,
        stage: config.stage,
        mode: config.metricsMode,
        client: deps.cloudWatch,
        logger: log,
      }),
    )
    .use(
      errorLogger({
        logger: (request: { error: unknown }) => log.error({ err: request.error }, 'worker invocation failed'),
      }),
    )
    .use(sqsPartialBatchFailure({ logger: retried }))
    .use(classifyErrors<SQSEvent>({ dlqUrl: config.mainDlqUrl, client: deps.sqs, logger: log }))
    .use(
      detectDuplicates({
        tableName: config.ordersTable,
        client: deps.dynamo,
        stockTracking: config.stockTracking,
        retentionDays: config.orderRetentionDays ?? 0,
      }),
    )
    .handler(async (event, context, { signal }) => {
      const alerts: Alert[] = []
      const recordDeps = { config, dynamo: deps.dynamo, sns: deps.sns, logger: log, now, alerts }
      // WORKER_CONCURRENCY records (or FIFO groups) at once, in record order; a FIFO group one record after the
      // other, and held from its first record that will be retried (lib/aws/groups.ts).
      const results = await settleInGroups(
        event.Records,
        async (record) => {
          // A record not started when middy aborts (the invocation is about to time out) is left for SQS to retry.
          signal.throwIfAborted()
          return processRecord(record, context, recordDeps)
        },
        config.workerConcurrency ?? DEFAULTS.workerConcurrency,
      )
      await publishAlerts(deps.sns, config.alertTopicArn, alerts, log)
      return results as unknown as SQSBatchResponse
    })
}

let worker: ReturnType<typeof buildWorker> | undefined
/** The Lambda entry point (tp-order-worker): configuration and clients are decided here, once per cold start. */
export const handler = (event: SQSEvent, context: Context) => {
  worker ??= buildWorker({
    config: loadConfig(['ordersTable', 'mainDlqUrl']),
    dynamo: dynamoClient(),
    sqs: sqsClient(),
    sns: snsClient(),
    timeoutEarlyMs: timeoutEarly(context.getRemainingTimeInMillis()),
  })
  return worker(event, context as WorkerContext)
}
