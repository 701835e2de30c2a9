/**
 * tp-order-exporter: the orders table's stream (new PROCESSED order records, by the event source mapping's filter)
 * → enriched rows → Parquet files under processed/ (lib/lake/export.ts). A batch that fails is thrown whole: Lambda
 * retries it (and splits it) until it is written, then parks its position in the export DLQ.
 */
import middy from '@middy/core'
import errorLogger from '@middy/error-logger'
import type { Context, DynamoDBStreamEvent } from 'aws-lambda'
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { dynamoClient } from '../lib/aws/clients.ts'
import { objectStore, type ObjectStore } from '../lib/aws/objects.ts'
import { skuOf } from '../lib/lake/catalogue.ts'
import { exportRecords, type ExportSummary } from '../lib/lake/export.ts'
import { LOG, METRIC } from '../lib/orders/outcomes.ts'
import { loadConfig, type Config } from '../lib/runtime/config.ts'
import { logger as baseLogger, type Logger } from '../lib/runtime/logger.ts'
import { flushMetrics, type MetricsContext } from '../middlewares/metrics.ts'

export type ExporterConfig = Pick<Config, 'ordersTable' | 'metricsNamespace' | 'metricsMode' | 'stage'> & {
  lakeBucket: string
}

export interface ExporterDeps {
  config: ExporterConfig
  dynamo: DynamoDBDocumentClient
  s3: ObjectStore
  /** Default: built on the first flush, in METRICS_MODE=api only (emf sends no request). */
  cloudWatch?: CloudWatchClient
  logger?: Logger
  now?: () => Date
}

/** The exporter's middy chain: metrics flushed once, a failure logged and thrown (the batch is retried). */
export const buildExporter = (deps: ExporterDeps) => {
  const { config } = deps
  const log = deps.logger ?? baseLogger
  const exportDeps = {
    dynamo: deps.dynamo,
    s3: deps.s3,
    config: { ordersTable: config.ordersTable, lakeBucket: config.lakeBucket },
    categoryOf: skuOf,
    now: deps.now ?? (() => new Date()),
  }
  return middy<DynamoDBStreamEvent, ExportSummary, Error, MetricsContext>()
    .use(
      flushMetrics({
        namespace: config.metricsNamespace,
        stage: config.stage,
        mode: config.metricsMode,
        client: deps.cloudWatch,
        logger: log,
      }),
    )
    .use(errorLogger({ logger: (request: { error: unknown }) => log.error({ err: request.error }, 'export failed') }))
    .handler(async (event, context) => {
      const summary = await exportRecords(event.Records ?? [], exportDeps)
      context.metrics.count(METRIC.EXPORTED, summary.orders)
      log.info({ records: event.Records?.length ?? 0, ...summary }, LOG.ORDERS_EXPORTED)
      return summary
    })
}

/** @throws naming LAKE_BUCKET when it is missing */
export const lakeBucketOf = (env: NodeJS.ProcessEnv): string => {
  if (!env.LAKE_BUCKET) throw new Error('Missing environment variable: LAKE_BUCKET')
  return env.LAKE_BUCKET
}

let exporter: ReturnType<typeof buildExporter> | undefined
/** The Lambda entry point (tp-order-exporter): configuration and clients are decided here, once per cold start. */
export const handler = (event: DynamoDBStreamEvent, context: Context) => {
  exporter ??= buildExporter({
    config: { ...loadConfig(['ordersTable']), lakeBucket: lakeBucketOf(process.env) },
    dynamo: dynamoClient(),
    s3: objectStore(),
  })
  return exporter(event, context as Context & MetricsContext)
}
