/**
 * tp-order-generator: the data lake's order generator as a Lambda. Each invocation (the EventBridge Scheduler
 * schedule of cloudformation/lake.yaml, or by hand) writes one file of GENERATED_ORDERS generated orders
 * (lib/lake/generate.ts) to `raw/year=YYYY/month=MM/day=DD/orders-<seed>-<date>.jsonl` in the intake bucket, whose
 * notification then sends it through the validator, the main queue and the worker like any order file.
 *
 * The seed is GENERATOR_SEED, else the invocation's time in seconds; that time is the schedule's
 * `scheduledTime` when the event carries one (the schedule's input), so that a retried invocation writes the same
 * file again (same key, same bytes: its orders come out DUPLICATE), else the clock's.
 */
import middy from '@middy/core'
import errorLogger from '@middy/error-logger'
import type { Context } from 'aws-lambda'
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import { objectStore, type ObjectStore } from '../lib/aws/objects.ts'
import { fileName, generateFile, rawKey, type GenerationSummary } from '../lib/lake/generate.ts'
import { LOG, METRIC } from '../lib/orders/outcomes.ts'
import { loadConfig, type Config } from '../lib/runtime/config.ts'
import { logger as baseLogger, type Logger } from '../lib/runtime/logger.ts'
import { flushMetrics, type MetricsContext } from '../middlewares/metrics.ts'

export type GeneratorConfig = Pick<
  Config,
  | 'intakeBucket'
  | 'rawPrefix'
  | 'generatedOrders'
  | 'generatorSeed'
  | 'invalidRate'
  | 'duplicateRate'
  | 'metricsNamespace'
  | 'metricsMode'
  | 'stage'
  | 'defaultCurrency'
  | 'maxOrderAmount'
>

/** What the schedule sends (its Input, with the scheduled time filled in by EventBridge Scheduler); {} by hand. */
export interface GeneratorEvent {
  /** ISO 8601: the time this run stands for. */
  scheduledTime?: string
}

export interface GeneratedFile extends GenerationSummary {
  bucket: string
  key: string
  seed: number
  date: string
}

export interface GeneratorDeps {
  config: GeneratorConfig
  s3: ObjectStore
  /** Default: built on the first flush, in METRICS_MODE=api only (emf sends no request). */
  cloudWatch?: CloudWatchClient
  logger?: Logger
  now?: () => Date
}

/** The time an invocation stands for: the event's scheduledTime, else now. */
const timeOf = (event: GeneratorEvent | null | undefined, now: () => Date): Date => {
  const scheduled = event?.scheduledTime
  if (scheduled === undefined) return now()
  const time = new Date(scheduled)
  if (typeof scheduled !== 'string' || Number.isNaN(time.getTime()))
    throw new TypeError(`scheduledTime must be an ISO 8601 time, got ${JSON.stringify(scheduled).slice(0, 80)}`)
  return time
}

/** One generated file, written with one PutObject (a body of 1,000 orders is about 620 KB). */
export const writeGeneratedFile = async (
  event: GeneratorEvent | null | undefined,
  deps: { config: GeneratorConfig; s3: ObjectStore; now: () => Date },
): Promise<GeneratedFile> => {
  const { config } = deps
  const time = timeOf(event, deps.now)
  const seed = config.generatorSeed ?? Math.floor(time.getTime() / 1000) >>> 0
  const date = time.toISOString().slice(0, 10)
  const { body, summary } = generateFile({
    orders: config.generatedOrders,
    seed,
    date,
    invalidRate: config.invalidRate,
    duplicateRate: config.duplicateRate,
    currency: config.defaultCurrency,
    maxOrderAmount: config.maxOrderAmount,
  })
  const key = rawKey(date, fileName(seed, date), config.rawPrefix)
  await deps.s3.put(config.intakeBucket, key, body, 'application/x-ndjson')
  return { bucket: config.intakeBucket, key, seed, date, ...summary }
}

/** The generator's middy chain: metrics flushed whatever happens, failures logged, one file per invocation. */
export const buildGenerator = (deps: GeneratorDeps) => {
  const { config } = deps
  const log = deps.logger ?? baseLogger
  const core = { config, s3: deps.s3, now: deps.now ?? (() => new Date()) }
  return middy<GeneratorEvent, GeneratedFile, Error, MetricsContext>()
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
      errorLogger({ logger: (request: { error: unknown }) => log.error({ err: request.error }, 'generator failed') }),
    )
    .handler(async (event, context) => {
      const file = await writeGeneratedFile(event, core)
      context.metrics.count(METRIC.GENERATED, file.orders)
      const { invalidByKind: _kinds, ...counts } = file
      log.info({ requestId: context.awsRequestId, ...counts }, LOG.FILE_GENERATED)
      return file
    })
}

let generator: ReturnType<typeof buildGenerator> | undefined
/** The Lambda entry point (tp-order-generator): configuration and clients are decided here, once per cold start. */
export const handler = (event: GeneratorEvent, context: Context) => {
  generator ??= buildGenerator({
    config: loadConfig(['intakeBucket']),
    s3: objectStore(),
  })
  return generator(event, context as MetricsContext)
}
