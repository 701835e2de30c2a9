/**
 * tp-order-worker: main-queue batch → duplicate detection → one DynamoDB write per order (a transaction that also
 * reserves stock, or one conditional put when stock tracking is off) → metrics, alerts.
 */
import middy from '@middy/core'
import errorLogger from '@middy/error-logger'
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure'
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda'
import pLimit from 'p-limit'
import { createHash } from 'node:crypto'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { SNSClient } from '@aws-sdk/client-sns'
import type { SQSClient } from '@aws-sdk/client-sqs'
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import { publishAlerts, type Alert } from '../lib/aws/alerts.ts'
import { cloudWatchClient, dynamoClient, snsClient, sqsClient } from '../lib/aws/clients.ts'
import { loadConfig, timeoutEarly, type Config } from '../lib/runtime/config.ts'
import { ATTRIBUTE, METRIC } from '../lib/orders/constants.ts'
import { ConflictError, errorClass, errorMessage, MalformedOrderError, ValidationError } from '../lib/orders/errors.ts'
import { logger as baseLogger, type Logger } from '../lib/runtime/logger.ts'
import { orderHash, orderIdOf, type Order } from '../lib/orders/order.ts'
import { orderRecord, recordRejection, reservations, reserveStockAction } from '../lib/aws/table.ts'
import { checkCanonical } from '../lib/orders/validate.ts'
import { classifyErrors } from '../middlewares/classify-errors.ts'
import {
  ConditionsFailedError,
  detectDuplicates,
  type DuplicateDetector,
  type DuplicatesContext,
} from '../middlewares/duplicates.ts'
import { flushMetrics, type MetricsContext } from '../middlewares/metrics.ts'

export type WorkerConfig = Pick<
  Config,
  | 'ordersTable'
  | 'mainDlqUrl'
  | 'alertTopicArn'
  | 'metricsNamespace'
  | 'stage'
  | 'stockTracking'
  | 'defaultCurrency'
  | 'maxOrderAmount'
> &
  Partial<Pick<Config, 'workerConcurrency'>>

export interface ProcessResult {
  outcome: 'PROCESSED' | 'DUPLICATE'
  /** SKUs that could not be reserved: the order is flagged pending-stock. */
  pending: string[]
}

/**
 * Stores the order once and reserves its stock in the same transaction. A SKU short of stock is marked pending
 * and the transaction retried without it, so the order is never half-written.
 */
export const processOrder = async (
  order: Order,
  deps: { duplicates: DuplicateDetector; config: WorkerConfig; now: string; correlationId?: string },
): Promise<ProcessResult> => {
  const { config, now } = deps
  const hash = orderHash(order, config.defaultCurrency)
  const record = (pending: Set<string>) =>
    orderRecord(order, hash, { tracked: config.stockTracking, pending, correlationId: deps.correlationId, now })
  if (!config.stockTracking) {
    return { outcome: await deps.duplicates.writeOnce({ item: record(new Set()) }), pending: [] }
  }
  const wanted = [...reservations(order)]
  const pending = new Set<string>()
  for (;;) {
    const reserve = wanted.filter(([sku]) => !pending.has(sku))
    try {
      const outcome = await deps.duplicates.writeOnce({
        item: record(pending),
        with: reserve.map(([sku, qty]) => reserveStockAction(config.ordersTable, sku, qty, now)),
        token: createHash('sha256')
          .update(`${order.order_id}\n${hash}\n${[...pending].sort().join(',')}`)
          .digest('hex')
          .slice(0, 36),
      })
      return { outcome, pending: outcome === 'PROCESSED' ? [...pending] : [] }
    } catch (err) {
      if (!(err instanceof ConditionsFailedError)) throw err
      for (const index of err.indexes) pending.add(reserve[index]![0])
    }
  }
}

type WorkerContext = MetricsContext & DuplicatesContext

export interface WorkerDeps {
  config: WorkerConfig
  dynamo?: DynamoDBDocumentClient
  sqs?: SQSClient
  sns?: SNSClient
  cloudWatch?: CloudWatchClient
  logger?: Logger
  now?: () => Date
  /** middy's timeoutEarlyInMillis (default 1000). */
  timeoutEarlyMs?: number
}

/** The worker's middy chain; `handler` below is this chain with the configuration of the environment. */
export const buildWorker = (deps: WorkerDeps) => {
  const { config } = deps
  const dynamo = deps.dynamo ?? dynamoClient()
  const sns = deps.sns ?? snsClient()
  const log = deps.logger ?? baseLogger
  const now = deps.now ?? (() => new Date())

  const reject = async (
    record: SQSRecord,
    err: unknown,
    orderId: string | undefined,
    context: WorkerContext,
    correlationId: string,
    hash?: string,
  ): Promise<never> => {
    context.metrics.count(METRIC.REJECTED)
    if (err instanceof ConflictError) context.metrics.count(METRIC.CONFLICT)
    log.warn(
      {
        requestId: context.awsRequestId,
        orderId,
        correlationId,
        errorClass: errorClass(err),
        error: errorMessage(err),
      },
      'order rejected',
    )
    if (orderId) {
      await recordRejection(dynamo, config.ordersTable, {
        orderId,
        errorClass: errorClass(err),
        message: errorMessage(err),
        reasons: err instanceof ValidationError ? err.fields : [],
        source: record.eventSourceARN,
        hash,
        correlationId,
        now: now().toISOString(),
      })
    }
    throw err
  }

  const handleRecord = async (record: SQSRecord, context: WorkerContext, alerts: Alert[]): Promise<ProcessResult> => {
    const correlationId = record.messageAttributes?.[ATTRIBUTE.CORRELATION_ID]?.stringValue ?? record.messageId
    let body: unknown
    try {
      body = JSON.parse(record.body)
    } catch (err) {
      return reject(
        record,
        new MalformedOrderError(`Message body is not valid JSON: ${errorMessage(err)}`),
        undefined,
        context,
        correlationId,
      )
    }
    let order: Order
    try {
      order = checkCanonical(body, config, Buffer.byteLength(record.body))
    } catch (err) {
      return reject(record, err, orderIdOf(body), context, correlationId)
    }
    return context.duplicates.exclusive(order.order_id, async () => {
      let result: ProcessResult
      try {
        result = await processOrder(order, {
          duplicates: context.duplicates,
          config,
          now: now().toISOString(),
          correlationId,
        })
      } catch (err) {
        if (err instanceof ConflictError) return reject(record, err, order.order_id, context, correlationId, err.hash)
        throw err
      }
      context.metrics.count(result.outcome === 'PROCESSED' ? METRIC.PROCESSED : METRIC.DUPLICATE)
      if (result.pending.length > 0) {
        context.metrics.count(METRIC.PENDING_STOCK)
        alerts.push({
          type: 'PENDING_STOCK',
          order_id: order.order_id,
          subject: `Order ${order.order_id} waits for stock`,
          detail: { skus: result.pending, stage: config.stage },
        })
      }
      log.info(
        {
          requestId: context.awsRequestId,
          orderId: order.order_id,
          correlationId,
          outcome: result.outcome,
          pending: result.pending,
        },
        'order settled',
      )
      return result
    })
  }

  return middy<SQSEvent, SQSBatchResponse, Error, WorkerContext>({ timeoutEarlyInMillis: deps.timeoutEarlyMs ?? 1000 })
    .use(
      flushMetrics({ namespace: config.metricsNamespace, stage: config.stage, client: deps.cloudWatch, logger: log }),
    )
    .use(
      errorLogger({
        logger: (request: { error: unknown }) => log.error({ err: request.error }, 'worker invocation failed'),
      }),
    )
    .use(
      sqsPartialBatchFailure({
        logger: (reason: unknown, record: SQSRecord) =>
          log.warn(
            { messageId: record.messageId, errorClass: errorClass(reason), error: errorMessage(reason) },
            'message will be retried',
          ),
      }),
    )
    .use(classifyErrors({ dlqUrl: config.mainDlqUrl, client: deps.sqs, logger: log }))
    .use(detectDuplicates({ tableName: config.ordersTable, client: dynamo }))
    .handler(async (event, context) => {
      const alerts: Alert[] = []
      // In record order (a FIFO limit), so that records with the same order id settle one after the other.
      const limit = pLimit(config.workerConcurrency ?? 10)
      const results = await Promise.allSettled(
        event.Records.map((record) => limit(() => handleRecord(record, context, alerts))),
      )
      await publishAlerts(sns, config.alertTopicArn, alerts, log)
      return results as unknown as SQSBatchResponse
    })
}

let worker: ReturnType<typeof buildWorker> | undefined
/** The Lambda entry point (tp-order-worker). Configuration is read at the first invocation's cold start. */
export const handler = (event: SQSEvent, context: import('aws-lambda').Context) => {
  worker ??= buildWorker({
    config: loadConfig(['ordersTable', 'mainDlqUrl']),
    sqs: sqsClient(),
    cloudWatch: cloudWatchClient(),
    timeoutEarlyMs: timeoutEarly(context.getRemainingTimeInMillis()),
  })
  return worker(event, context as WorkerContext)
}
