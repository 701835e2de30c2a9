/**
 * tp-order-validator: S3 notifications (through the ingest queue, or a direct S3 trigger) → each order of each
 * file validated and normalised → valid orders to the main queue, rejected ones recorded with their reasons, parked
 * in the main DLQ, counted and announced (lib/intake/validate-file.ts). A file that cannot be read is a permanent
 * failure of its ingest message (ingest DLQ); S3 throttling and 5xx are retried.
 */
import middy from '@middy/core'
import errorLogger from '@middy/error-logger'
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure'
import type { Context, S3Event, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda'
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { SNSClient } from '@aws-sdk/client-sns'
import type { SQSClient } from '@aws-sdk/client-sqs'
import { dynamoClient, snsClient, sqsClient } from '../lib/aws/clients.ts'
import { objectStore, type ObjectStore } from '../lib/aws/objects.ts'
import { planFile } from '../lib/intake/large-file.ts'
import { needsRanges } from '../lib/intake/read.ts'
import { validateFile, type FileDeps, type FileSummary, type ValidatorConfig } from '../lib/intake/validate-file.ts'
import { errorClass, errorMessage } from '../lib/orders/errors.ts'
import { DEFAULTS, loadConfig, timeoutEarly, type Config } from '../lib/runtime/config.ts'
import { logger as baseLogger, type Logger } from '../lib/runtime/logger.ts'
import { classifyErrors } from '../middlewares/classify-errors.ts'
import { flushMetrics, type MetricsContext } from '../middlewares/metrics.ts'
import { s3JsonParser, type S3JsonParserContext } from '../middlewares/s3-json-parser.ts'

export type { ValidatorConfig }

type ValidatorContext = MetricsContext & S3JsonParserContext

export interface ValidatorDeps {
  config: ValidatorConfig & Pick<Config, 'metricsMode'>
  sqs: SQSClient
  dynamo: DynamoDBDocumentClient
  s3: ObjectStore
  sns: SNSClient
  /** Default: built on the first flush, in METRICS_MODE=api only (emf sends no request). */
  cloudWatch?: CloudWatchClient
  logger?: Logger
  now?: () => Date
  /** middy's timeoutEarlyInMillis (default 1000). */
  timeoutEarlyMs?: number
}

/**
 * Every file of one event record, one after the other: a file larger than RANGE_BYTES (with an ingest queue to send
 * its ranges to) is planned in ranges (lib/intake/large-file.ts), a range or a smaller file is validated.
 */
export const validateSource = async (
  index: number,
  context: ValidatorContext,
  deps: Omit<FileDeps, 'metrics' | 's3'> & { s3: ObjectStore },
): Promise<FileSummary[]> => {
  const source = context.orderFiles.sources[index]!
  if (source.error) throw source.error
  const { config } = deps
  const rangeBytes = config.rangeBytes ?? DEFAULTS.rangeBytes
  const summaries: FileSummary[] = []
  for (const ref of source.objects ?? []) {
    const planned = ref.plan !== undefined || (ref.range === undefined && needsRanges(ref, rangeBytes))
    if (planned && config.ingestQueueUrl !== undefined) {
      await planFile(ref, { ...deps, config: { ...config, ingestQueueUrl: config.ingestQueueUrl, rangeBytes } })
      summaries.push({ accepted: 0, rejected: 0 })
    } else {
      summaries.push(await validateFile(ref, context.orderFiles.read(ref), { ...deps, metrics: context.metrics }))
    }
  }
  return summaries
}

const isSqsEvent = (event: SQSEvent | S3Event): event is SQSEvent => event.Records?.[0]?.eventSource === 'aws:sqs'

/** A direct S3 event answers each record's file summaries (a parked record: none). */
const fileSummaries: middy.MiddlewareObj = {
  after: (request) => {
    const settled = request.response as PromiseSettledResult<unknown>[]
    request.response = settled.map((r) => (r.status === 'fulfilled' && Array.isArray(r.value) ? r.value : []))
  },
}

/**
 * The validator's middy chains: SQS batches from the ingest queue (partial batch response) and direct S3 trigger
 * events (a permanent failure parked in the ingest DLQ, a transient one failing the invocation, so that Lambda's
 * asynchronous retries take over).
 */
export const buildValidator = (deps: ValidatorDeps) => {
  const { config, sqs } = deps
  const log = deps.logger ?? baseLogger
  // Built once; only the metrics buffer is the invocation's own.
  const fileDeps = {
    config,
    sqs,
    log,
    dynamo: deps.dynamo,
    sns: deps.sns,
    s3: deps.s3,
    now: deps.now ?? (() => new Date()),
  }
  // middy aborts `signal` when the invocation is about to time out: the files stop, nothing runs on behind it.
  const eachSource = async (event: { Records: unknown[] }, context: ValidatorContext, signal: AbortSignal) =>
    Promise.allSettled(event.Records.map(async (_, index) => validateSource(index, context, { ...fileDeps, signal })))
  const retried = (reason: unknown, record: SQSRecord) =>
    log.warn(
      { messageId: record.messageId, errorClass: errorClass(reason), error: errorMessage(reason) },
      'ingest message will be retried',
    )
  const failed = (request: { error: unknown }) => log.error({ err: request.error }, 'validator invocation failed')

  const base = () =>
    middy<SQSEvent | S3Event, SQSBatchResponse | FileSummary[][], Error, ValidatorContext>({
      timeoutEarlyInMillis: deps.timeoutEarlyMs ?? 1000,
    })
      .use(
        flushMetrics({
          namespace: config.metricsNamespace,
          stage: config.stage,
          mode: config.metricsMode,
          client: deps.cloudWatch,
          logger: log,
        }),
      )
      .use(errorLogger({ logger: failed }))

  const fromQueue = base()
    .use(sqsPartialBatchFailure({ logger: retried }))
    .use(classifyErrors<SQSEvent | S3Event>({ dlqUrl: config.ingestDlqUrl, client: sqs, logger: log }))
    .use(s3JsonParser({ client: deps.s3 }))
    .handler(
      async (event, context, { signal }) => (await eachSource(event, context, signal)) as unknown as SQSBatchResponse,
    )

  const fromS3 = base()
    .use(fileSummaries)
    .use(
      classifyErrors<SQSEvent | S3Event>({
        dlqUrl: config.ingestDlqUrl,
        client: sqs,
        logger: log,
        parking: s3RecordParking,
        rethrow: true,
      }),
    )
    .use(s3JsonParser({ client: deps.s3 }))
    .handler(
      async (event, context, { signal }) => (await eachSource(event, context, signal)) as unknown as FileSummary[][],
    )

  return (event: SQSEvent | S3Event, context: Context) =>
    isSqsEvent(event) ? fromQueue(event, context as ValidatorContext) : fromS3(event, context as ValidatorContext)
}

/** A direct S3 record parks as the notification of its one object, so that a replay through the ingest queue reads it. */
const s3RecordParking = (record: unknown) => ({ body: JSON.stringify({ Records: [record] }) })

let validator: ReturnType<typeof buildValidator> | undefined
/** The Lambda entry point (tp-order-validator): configuration and clients are decided here, once per cold start. */
export const handler = (event: SQSEvent | S3Event, context: Context) => {
  validator ??= buildValidator({
    config: loadConfig(['ordersTable', 'mainQueueUrl', 'mainDlqUrl', 'ingestDlqUrl']),
    sqs: sqsClient(),
    dynamo: dynamoClient(),
    s3: objectStore(),
    sns: snsClient(),
    timeoutEarlyMs: timeoutEarly(context.getRemainingTimeInMillis()),
  })
  return validator(event, context)
}
