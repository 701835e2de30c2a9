/**
 * tp-order-validator: S3 notifications (through the ingest queue, or a direct S3 trigger) → each order of each
 * file validated and normalised → valid orders to the main queue (SendMessageBatch), rejected ones recorded with
 * their reasons, parked in the main DLQ, counted and announced. A file that cannot be read is a permanent failure
 * of its ingest message (ingest DLQ); S3 throttling and 5xx are retried.
 */
import middy from '@middy/core'
import errorLogger from '@middy/error-logger'
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure'
import type { Context, S3Event, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda'
import { randomUUID } from 'node:crypto'
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { S3Client } from '@aws-sdk/client-s3'
import type { SNSClient } from '@aws-sdk/client-sns'
import type { SQSClient } from '@aws-sdk/client-sqs'
import { publishAlerts, type Alert } from '../lib/aws/alerts.ts'
import { cloudWatchClient, dynamoClient, s3Client, snsClient, sqsClient } from '../lib/aws/clients.ts'
import { loadConfig, timeoutEarly, type Config } from '../lib/runtime/config.ts'
import { ATTRIBUTE, LIMITS, METRIC } from '../lib/orders/constants.ts'
import { errorClass, errorMessage, isPermanent, TransientError, ValidationError } from '../lib/orders/errors.ts'
import { logger as baseLogger, type Logger } from '../lib/runtime/logger.ts'
import { orderIdFromS3, orderIdOf, type Order } from '../lib/orders/order.ts'
import { sendMessages, type OutgoingMessage } from '../lib/aws/queue.ts'
import { recordRejection } from '../lib/aws/table.ts'
import { parseOrder } from '../lib/orders/validate.ts'
import { classifyErrors, parkMessages } from '../middlewares/classify-errors.ts'
import { flushMetrics, type MetricsBuffer, type MetricsContext } from '../middlewares/metrics.ts'
import {
  s3JsonParser,
  type OrderLine,
  type S3JsonParserContext,
  type S3ObjectRef,
} from '../middlewares/s3-json-parser.ts'

export type ValidatorConfig = Pick<
  Config,
  | 'ordersTable'
  | 'mainQueueUrl'
  | 'mainDlqUrl'
  | 'ingestDlqUrl'
  | 'alertTopicArn'
  | 'metricsNamespace'
  | 'stage'
  | 'defaultCurrency'
  | 'maxOrderAmount'
>

export interface FileDeps {
  config: ValidatorConfig
  sqs: SQSClient
  dynamo: DynamoDBDocumentClient
  sns: SNSClient
  metrics: MetricsBuffer
  log: Logger
  now: () => Date
}

export interface FileSummary {
  accepted: number
  rejected: number
}

/** `s3://bucket/key?versionId=v#line`: where an order came from, on its messages and rejection records. */
export const lineSource = (ref: S3ObjectRef, line: number): string =>
  `s3://${ref.bucket}/${ref.key}${ref.versionId ? `?versionId=${encodeURIComponent(ref.versionId)}` : ''}#${line}`

interface Reject {
  line: OrderLine
  error: Error
  orderId?: string
}

/**
 * Validates every order of one file, sending valid ones to the main queue and parking rejects in the main DLQ,
 * ten at a time while the file streams in.
 * @throws TransientError when the queue keeps refusing entries (the file is then retried: orders already sent
 * come back as DUPLICATE in the worker; rejects may repeat in the DLQ, each with its source line)
 */
export const validateFile = async (
  ref: S3ObjectRef,
  lines: AsyncIterable<OrderLine>,
  deps: FileDeps,
): Promise<FileSummary> => {
  const { config, log, metrics } = deps
  const correlationId = randomUUID()
  const summary: FileSummary = { accepted: 0, rejected: 0 }
  let valid: { line: OrderLine; order: Order }[] = []
  let rejects: Reject[] = []

  const park = async (batch: Reject[]): Promise<void> => {
    const now = deps.now()
    const unparked = await parkMessages(
      deps.sqs,
      config.mainDlqUrl,
      batch.map((r, i) => ({
        id: String(i),
        body:
          r.line.value === undefined
            ? `line ${r.line.line} of ${lineSource(ref, r.line.line)}`
            : JSON.stringify(r.line.value),
        reason: r.error,
        attributes: { [ATTRIBUTE.CORRELATION_ID]: correlationId, [ATTRIBUTE.SOURCE]: lineSource(ref, r.line.line) },
      })),
      now,
    )
    if (unparked.size > 0) throw new TransientError(`${unparked.size} rejected orders could not be parked in the DLQ`)
    await Promise.all(
      batch
        .filter((r) => r.orderId)
        .map((r) =>
          recordRejection(deps.dynamo, config.ordersTable, {
            orderId: r.orderId!,
            errorClass: errorClass(r.error),
            message: errorMessage(r.error),
            reasons: r.error instanceof ValidationError ? r.error.fields : [],
            source: lineSource(ref, r.line.line),
            correlationId,
            now: now.toISOString(),
          }),
        ),
    )
    metrics.count(METRIC.REJECTED, batch.length)
    summary.rejected += batch.length
    for (const r of batch)
      log.warn(
        {
          correlationId,
          orderId: r.orderId,
          source: lineSource(ref, r.line.line),
          errorClass: errorClass(r.error),
          error: r.error.message,
        },
        'order rejected',
      )
    await publishAlerts(
      deps.sns,
      config.alertTopicArn,
      batch.map((r): Alert => ({
        type: 'REJECTED',
        order_id: r.orderId,
        subject: `Order rejected from ${ref.key}`,
        detail: {
          source: lineSource(ref, r.line.line),
          error_class: errorClass(r.error),
          message: r.error.message,
          stage: config.stage,
        },
      })),
      log,
    )
  }

  const flush = async (): Promise<void> => {
    const [sending, parking] = [valid, rejects]
    valid = []
    rejects = []
    if (sending.length > 0) {
      const failed = await sendMessages(
        deps.sqs,
        config.mainQueueUrl,
        sending.map(({ line, order }, i): OutgoingMessage => ({
          id: String(i),
          body: JSON.stringify(order),
          attributes: { [ATTRIBUTE.CORRELATION_ID]: correlationId, [ATTRIBUTE.SOURCE]: lineSource(ref, line.line) },
        })),
      )
      const transient = failed.filter((f) => !f.senderFault)
      if (transient.length > 0)
        throw new TransientError(`${transient.length} orders could not be queued (${transient[0]?.code})`)
      for (const f of failed) {
        const { line, order } = sending[Number(f.id)]!
        parking.push({
          line,
          orderId: order.order_id,
          error: new ValidationError([
            { path: '', rule: 'queue', message: `the main queue refused the order: ${f.code} ${f.message}` },
          ]),
        })
      }
      const queued = sending.length - failed.length
      metrics.count(METRIC.ACCEPTED, queued)
      summary.accepted += queued
    }
    if (parking.length > 0) await park(parking)
  }

  const receivedAt = deps.now().toISOString()
  for await (const line of lines) {
    if (line.error) {
      rejects.push({ line, error: line.error })
    } else {
      try {
        const order = parseOrder(line.value, {
          defaultCurrency: config.defaultCurrency,
          maxOrderAmount: config.maxOrderAmount,
          receivedAt,
          bytes: line.bytes,
          assignOrderId: () => orderIdFromS3(ref.bucket, ref.key, ref.versionId, line.line),
        })
        valid.push({ line, order })
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err
        rejects.push({ line, error: err, orderId: orderIdOf(line.value) })
      }
    }
    if (valid.length >= LIMITS.SQS_BATCH || rejects.length >= LIMITS.SQS_BATCH) await flush()
  }
  await flush()
  log.info({ correlationId, bucket: ref.bucket, key: ref.key, versionId: ref.versionId, ...summary }, 'file validated')
  return summary
}

type ValidatorContext = MetricsContext & S3JsonParserContext

export interface ValidatorDeps {
  config: ValidatorConfig
  sqs?: SQSClient
  dynamo?: DynamoDBDocumentClient
  s3?: S3Client
  sns?: SNSClient
  cloudWatch?: CloudWatchClient
  logger?: Logger
  now?: () => Date
  /** middy's timeoutEarlyInMillis (default 1000). */
  timeoutEarlyMs?: number
}

const isSqsEvent = (event: SQSEvent | S3Event): event is SQSEvent => event.Records?.[0]?.eventSource === 'aws:sqs'

/**
 * The validator's middy chains: SQS batches from the ingest queue (partial batch response) and direct S3 trigger
 * events (where a permanent failure is parked in the ingest DLQ and a transient one fails the invocation, so that
 * Lambda's asynchronous retries take over).
 */
export const buildValidator = (deps: ValidatorDeps) => {
  const { config } = deps
  const log = deps.logger ?? baseLogger
  const sqs = deps.sqs ?? sqsClient()
  // Built once; only the metrics buffer is the invocation's own.
  const shared: Omit<FileDeps, 'metrics'> = {
    config,
    sqs,
    log,
    dynamo: deps.dynamo ?? dynamoClient(),
    sns: deps.sns ?? snsClient(),
    now: deps.now ?? (() => new Date()),
  }

  /** Every file of one event record, one after the other. */
  const handleSource = async (index: number, context: ValidatorContext): Promise<FileSummary[]> => {
    const source = context.orderFiles.sources[index]!
    if (source.error) throw source.error
    const summaries: FileSummary[] = []
    for (const ref of source.objects ?? [])
      summaries.push(await validateFile(ref, context.orderFiles.read(ref), { ...shared, metrics: context.metrics }))
    return summaries
  }

  const base = () =>
    middy<SQSEvent | S3Event, SQSBatchResponse | FileSummary[][], Error, ValidatorContext>({
      timeoutEarlyInMillis: deps.timeoutEarlyMs ?? 1000,
    })
      .use(
        flushMetrics({ namespace: config.metricsNamespace, stage: config.stage, client: deps.cloudWatch, logger: log }),
      )
      .use(
        errorLogger({
          logger: (request: { error: unknown }) => log.error({ err: request.error }, 'validator invocation failed'),
        }),
      )

  const fromQueue = base()
    .use(
      sqsPartialBatchFailure({
        logger: (reason: unknown, record: SQSRecord) =>
          log.warn(
            { messageId: record.messageId, errorClass: errorClass(reason), error: errorMessage(reason) },
            'ingest message will be retried',
          ),
      }),
    )
    .use(classifyErrors({ dlqUrl: config.ingestDlqUrl, client: sqs, logger: log }))
    .use(s3JsonParser({ client: deps.s3 }))
    .handler(
      async (event, context) =>
        Promise.allSettled(
          event.Records.map(async (_, index) => handleSource(index, context)),
        ) as unknown as SQSBatchResponse,
    )

  const fromS3 = base()
    .use(s3JsonParser({ client: deps.s3 }))
    .handler(async (event, context) => {
      const results = await Promise.allSettled(event.Records.map(async (_, index) => handleSource(index, context)))
      const failures = results.flatMap((r, index) =>
        r.status === 'rejected' ? [{ index, reason: r.reason as unknown }] : [],
      )
      // The same classification as the SQS chain's: permanent failures parked, the rest retried by Lambda.
      const unparked = await parkMessages(
        sqs,
        config.ingestDlqUrl,
        failures
          .filter((f) => isPermanent(f.reason))
          .map(({ index, reason }) => ({
            id: String(index),
            body: JSON.stringify({ Records: [event.Records[index]] }),
            reason,
          })),
      )
      const retry = failures.filter((f) => !isPermanent(f.reason) || unparked.has(String(f.index)))
      if (retry.length > 0)
        throw new AggregateError(
          retry.map((f) => f.reason),
          `${retry.length} of ${event.Records.length} files failed and will be retried`,
        )
      return results.map((r) => (r.status === 'fulfilled' ? r.value : []))
    })

  return (event: SQSEvent | S3Event, context: Context) =>
    isSqsEvent(event) ? fromQueue(event, context as ValidatorContext) : fromS3(event, context as ValidatorContext)
}

let validator: ReturnType<typeof buildValidator> | undefined
/** The Lambda entry point (tp-order-validator). */
export const handler = (event: SQSEvent | S3Event, context: Context) => {
  validator ??= buildValidator({
    config: loadConfig(['ordersTable', 'mainQueueUrl', 'mainDlqUrl', 'ingestDlqUrl']),
    s3: s3Client(),
    cloudWatch: cloudWatchClient(),
    timeoutEarlyMs: timeoutEarly(context.getRemainingTimeInMillis()),
  })
  return validator(event, context)
}
