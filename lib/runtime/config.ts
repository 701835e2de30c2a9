/**
 * Configuration, read from the environment once per cold start. Every variable is listed in the README; a missing
 * required one stops the function at load with its name, not at the first order.
 */
export interface Config {
  /** ORDERS_TABLE: the single DynamoDB table (orders, rejections, conflicts, stock). */
  ordersTable: string
  /** MAIN_QUEUE_URL: where valid, normalised orders go. */
  mainQueueUrl: string
  /** MAIN_DLQ_URL: order-level rejects, with their reasons. */
  mainDlqUrl: string
  /** INGEST_DLQ_URL: file-level failures of the S3 intake. */
  ingestDlqUrl: string
  /** ALERT_TOPIC_ARN (optional): SNS topic for pending-stock alerts and rejects. */
  alertTopicArn: string | undefined
  /** METRICS_NAMESPACE (default OrderPipeline). */
  metricsNamespace: string
  /** STAGE (default dev): the metrics dimension. */
  stage: string
  /**
   * METRICS_MODE (default api): how the metrics leave the function. `api`: one PutMetricData per invocation;
   * `emf`: one Embedded Metric Format line on stdout, which CloudWatch Logs turns into the same metrics.
   * loadConfig always sets it; optional so that a configuration built by hand (a test's, a bench's) may leave it
   * out, which means api.
   */
  metricsMode?: MetricsMode
  /** STOCK_TRACKING (default on): reserve stock in the order's transaction. */
  stockTracking: boolean
  /** DEFAULT_CURRENCY (default EUR): for dialects that name none. */
  defaultCurrency: string
  /** MAX_ORDER_AMOUNT (default 10000): orders must stay below it. */
  maxOrderAmount: number
  /** WORKER_CONCURRENCY (default 10): records of one batch the worker processes at once. */
  workerConcurrency: number
  /** ORDER_RETENTION_DAYS (default 0, kept): days until an order record expires (DynamoDB TTL on expires_at). */
  orderRetentionDays?: number
  /** CORS_ORIGINS (comma-separated; default none): origins of the order form, answered by the API. */
  corsOrigins: string[]
  /** SENDS_IN_FLIGHT (default 8, 1 to 64): SendMessageBatch calls the validator keeps on their way per file. */
  sendsInFlight: number
  /**
   * INGEST_QUEUE_URL (optional): where the validator sends the ranges of a large file. Without it, every file is
   * read in one invocation.
   */
  ingestQueueUrl: string | undefined
  /** RANGE_BYTES (default 8 MiB, at least 1 KiB): a file larger than this is read in ranges of about this size. */
  rangeBytes: number
  /** INTAKE_BUCKET: the intake bucket, where the order generator writes its files. */
  intakeBucket: string
  /** RAW_PREFIX (default raw/): the generator's key prefix (one path segment and a slash; never reports/). */
  rawPrefix: string
  /** GENERATED_ORDERS (default 1000, 1 to 100000): lines of each file the generator writes. */
  generatedOrders: number
  /**
   * GENERATOR_SEED (optional, 0 to 4294967295): the generator's seed. Without it, each invocation's time (its
   * scheduled time) gives the seed, so that each scheduled run writes other orders.
   */
  generatorSeed: number | undefined
  /** INVALID_RATE (default 0, 0 to 1): share of the generated lines made invalid on purpose. */
  invalidRate: number
  /** DUPLICATE_RATE (default 0, 0 to 1): share of the generated lines that repeat an earlier one. */
  duplicateRate: number
  /** STATE_MACHINE_ARN: the order workflow the starter starts (handlers/workflow.ts). */
  stateMachineArn: string
  /** CUSTOMER_TOPIC_ARN (optional): the customers' notifications of the workflow; without it, none is sent. */
  customerTopicArn: string | undefined
  /** PAYMENT_SUCCESS_RATE (default 0.9, 0 to 1): the simulated provider approves orders whose id hashes under it. */
  paymentSuccessRate: number
  /** PAYMENT_TIMEOUT_RATE (default 0, 0 to 1): share of payment attempts the simulated provider times out on. */
  paymentTimeoutRate: number
  /** MAX_STOCK_WAITS (default 168, 0 to 10000): checks of a pending-stock order before the workflow gives up. */
  maxStockWaits: number
}

export type ConfigKey = keyof Config

/** The values of METRICS_MODE. */
export const METRICS_MODES = ['api', 'emf'] as const
export type MetricsMode = (typeof METRICS_MODES)[number]

/** The default of every setting that has one: the one place they are decided. */
export const DEFAULTS = {
  metricsNamespace: 'OrderPipeline',
  stage: 'dev',
  metricsMode: 'api',
  stockTracking: true,
  defaultCurrency: 'EUR',
  maxOrderAmount: 10000,
  workerConcurrency: 10,
  sendsInFlight: 8,
  rangeBytes: 8 * 1024 * 1024,
  rawPrefix: 'raw/',
  generatedOrders: 1000,
  invalidRate: 0,
  duplicateRate: 0,
  paymentSuccessRate: 0.9,
  paymentTimeoutRate: 0,
  maxStockWaits: 168,
} as const satisfies Partial<Config>

export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** The settings without a default, and their variables. */
const REQUIRED_ENV = {
  ordersTable: 'ORDERS_TABLE',
  mainQueueUrl: 'MAIN_QUEUE_URL',
  mainDlqUrl: 'MAIN_DLQ_URL',
  ingestDlqUrl: 'INGEST_DLQ_URL',
  intakeBucket: 'INTAKE_BUCKET',
  stateMachineArn: 'STATE_MACHINE_ARN',
} as const satisfies Partial<Record<ConfigKey, string>>

export type RequiredKey = keyof typeof REQUIRED_ENV

const flag = (name: string, value: string | undefined, fallback: boolean): boolean => {
  if (value === undefined || value === '') return fallback
  if (/^(on|true|1|yes)$/i.test(value)) return true
  if (/^(off|false|0|no)$/i.test(value)) return false
  throw new ConfigError(`${name} must be on or off, got "${value}"`)
}

/** A share from 0 to 1; empty or unset: `fallback`. */
const rate = (name: string, value: string | undefined, fallback: number): number => {
  const n = Number(value || fallback)
  if (!(n >= 0 && n <= 1)) throw new ConfigError(`${name} must be a number from 0 to 1, got "${value}"`)
  return n
}

/**
 * Reads the configuration; `required` names the settings this function cannot run without.
 * @example const config = loadConfig(['ordersTable', 'mainDlqUrl'])
 */
export const loadConfig = (required: RequiredKey[], env: NodeJS.ProcessEnv = process.env): Config => {
  const missing = required.map((key) => REQUIRED_ENV[key]).filter((name) => !env[name])
  if (missing.length > 0)
    throw new ConfigError(`Missing environment variable${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`)

  const maxOrderAmount = Number(env.MAX_ORDER_AMOUNT ?? DEFAULTS.maxOrderAmount)
  if (!Number.isFinite(maxOrderAmount) || maxOrderAmount <= 0 || maxOrderAmount > 10_000_000) {
    throw new ConfigError(
      `MAX_ORDER_AMOUNT must be a positive number up to 10000000 (the schemas' bound on money), got "${env.MAX_ORDER_AMOUNT}"`,
    )
  }
  const defaultCurrency = env.DEFAULT_CURRENCY ?? DEFAULTS.defaultCurrency
  if (!Intl.supportedValuesOf('currency').includes(defaultCurrency))
    throw new ConfigError(`DEFAULT_CURRENCY must be an ISO 4217 code, got "${defaultCurrency}"`)

  const workerConcurrency = Number(env.WORKER_CONCURRENCY || DEFAULTS.workerConcurrency)
  if (!Number.isInteger(workerConcurrency) || workerConcurrency < 1)
    throw new ConfigError(`WORKER_CONCURRENCY must be a positive integer, got "${env.WORKER_CONCURRENCY}"`)

  const orderRetentionDays = Number(env.ORDER_RETENTION_DAYS || 0)
  if (!Number.isInteger(orderRetentionDays) || orderRetentionDays < 0 || orderRetentionDays > 36500)
    throw new ConfigError(
      `ORDER_RETENTION_DAYS must be a whole number of days from 0 (kept) to 36500, got "${env.ORDER_RETENTION_DAYS}"`,
    )

  const sendsInFlight = Number(env.SENDS_IN_FLIGHT || DEFAULTS.sendsInFlight)
  if (!Number.isInteger(sendsInFlight) || sendsInFlight < 1 || sendsInFlight > 64)
    throw new ConfigError(`SENDS_IN_FLIGHT must be an integer from 1 to 64, got "${env.SENDS_IN_FLIGHT}"`)

  const rangeBytes = Number(env.RANGE_BYTES || DEFAULTS.rangeBytes)
  if (!Number.isSafeInteger(rangeBytes) || rangeBytes < 1024)
    throw new ConfigError(`RANGE_BYTES must be an integer of at least 1024, got "${env.RANGE_BYTES}"`)

  const rawPrefix = env.RAW_PREFIX || DEFAULTS.rawPrefix
  if (!/^[A-Za-z0-9!_.*()=-]+\/$/.test(rawPrefix) || rawPrefix === 'reports/')
    throw new ConfigError(
      `RAW_PREFIX must be one path segment ending in a slash (raw/), and not reports/, got "${env.RAW_PREFIX}"`,
    )

  const generatedOrders = Number(env.GENERATED_ORDERS || DEFAULTS.generatedOrders)
  if (!Number.isInteger(generatedOrders) || generatedOrders < 1 || generatedOrders > 100_000)
    throw new ConfigError(`GENERATED_ORDERS must be an integer from 1 to 100000, got "${env.GENERATED_ORDERS}"`)

  const generatorSeed = env.GENERATOR_SEED ? Number(env.GENERATOR_SEED) : undefined
  if (
    generatorSeed !== undefined &&
    !(Number.isInteger(generatorSeed) && generatorSeed >= 0 && generatorSeed <= 0xffff_ffff)
  )
    throw new ConfigError(`GENERATOR_SEED must be an integer from 0 to 4294967295, got "${env.GENERATOR_SEED}"`)

  const invalidRate = rate('INVALID_RATE', env.INVALID_RATE, DEFAULTS.invalidRate)
  const duplicateRate = rate('DUPLICATE_RATE', env.DUPLICATE_RATE, DEFAULTS.duplicateRate)
  if (invalidRate + duplicateRate > 1)
    throw new ConfigError(`INVALID_RATE + DUPLICATE_RATE must be at most 1, got ${invalidRate} + ${duplicateRate}`)

  const metricsMode = (env.METRICS_MODE || DEFAULTS.metricsMode) as MetricsMode
  if (!METRICS_MODES.includes(metricsMode))
    throw new ConfigError(`METRICS_MODE must be ${METRICS_MODES.join(' or ')}, got "${env.METRICS_MODE}"`)

  const maxStockWaits = Number(env.MAX_STOCK_WAITS || DEFAULTS.maxStockWaits)
  if (!Number.isInteger(maxStockWaits) || maxStockWaits < 0 || maxStockWaits > 10_000)
    throw new ConfigError(`MAX_STOCK_WAITS must be an integer from 0 to 10000, got "${env.MAX_STOCK_WAITS}"`)

  return {
    ordersTable: env.ORDERS_TABLE ?? '',
    mainQueueUrl: env.MAIN_QUEUE_URL ?? '',
    mainDlqUrl: env.MAIN_DLQ_URL ?? '',
    ingestDlqUrl: env.INGEST_DLQ_URL ?? '',
    alertTopicArn: env.ALERT_TOPIC_ARN || undefined,
    metricsNamespace: env.METRICS_NAMESPACE || DEFAULTS.metricsNamespace,
    stage: env.STAGE || DEFAULTS.stage,
    metricsMode,
    stockTracking: flag('STOCK_TRACKING', env.STOCK_TRACKING, DEFAULTS.stockTracking),
    defaultCurrency,
    maxOrderAmount,
    workerConcurrency,
    orderRetentionDays,
    corsOrigins: (env.CORS_ORIGINS ?? '')
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    sendsInFlight,
    ingestQueueUrl: env.INGEST_QUEUE_URL || undefined,
    rangeBytes,
    intakeBucket: env.INTAKE_BUCKET ?? '',
    rawPrefix,
    generatedOrders,
    generatorSeed,
    invalidRate,
    duplicateRate,
    stateMachineArn: env.STATE_MACHINE_ARN ?? '',
    customerTopicArn: env.CUSTOMER_TOPIC_ARN || undefined,
    paymentSuccessRate: rate('PAYMENT_SUCCESS_RATE', env.PAYMENT_SUCCESS_RATE, DEFAULTS.paymentSuccessRate),
    paymentTimeoutRate: rate('PAYMENT_TIMEOUT_RATE', env.PAYMENT_TIMEOUT_RATE, DEFAULTS.paymentTimeoutRate),
    maxStockWaits,
  }
}

/**
 * How long before the function's timeout middy stops the handler so that `onError` can still park, report and
 * flush: a quarter of the time the function has, at most a second (middy's default, 5 ms, is too little).
 */
export const timeoutEarly = (remainingMs: number): number => Math.min(1000, Math.floor(remainingMs / 4))
