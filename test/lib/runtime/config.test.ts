import test from 'ava'
import { ConfigError, loadConfig, type RequiredKey } from '../../../lib/runtime/config.ts'

const ALL_REQUIRED: RequiredKey[] = ['ordersTable', 'mainQueueUrl', 'mainDlqUrl', 'ingestDlqUrl']
const REQUIRED_ENV = {
  ORDERS_TABLE: 'tp-orders',
  MAIN_QUEUE_URL: 'https://sqs.eu-west-3.amazonaws.com/123456789012/tp-orders-main',
  MAIN_DLQ_URL: 'https://sqs.eu-west-3.amazonaws.com/123456789012/tp-orders-main-dlq',
  INGEST_DLQ_URL: 'https://sqs.eu-west-3.amazonaws.com/123456789012/tp-orders-ingest-dlq',
}

test('loadConfig reads every variable it is given', (t) => {
  // Act
  const config = loadConfig(ALL_REQUIRED, {
    ...REQUIRED_ENV,
    ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-3:123456789012:tp-alerts',
    METRICS_NAMESPACE: 'Shop',
    STAGE: 'prod',
    METRICS_MODE: 'emf',
    STOCK_TRACKING: 'off',
    DEFAULT_CURRENCY: 'BRL',
    MAX_ORDER_AMOUNT: '2500.50',
    WORKER_CONCURRENCY: '3',
    ORDER_RETENTION_DAYS: '730',
    CORS_ORIGINS: 'https://shop.example.com, https://www.shop.example.com',
    SENDS_IN_FLIGHT: '4',
    INGEST_QUEUE_URL: 'https://sqs.eu-west-3.amazonaws.com/123456789012/tp-orders-ingest',
    RANGE_BYTES: '4096',
    INTAKE_BUCKET: 'tp-orders-intake-123456789012-eu-west-3',
    RAW_PREFIX: 'lake/',
    GENERATED_ORDERS: '250',
    GENERATOR_SEED: '4294967295',
    INVALID_RATE: '0.05',
    DUPLICATE_RATE: '0.02',
    STATE_MACHINE_ARN: 'arn:aws:states:eu-west-3:123456789012:stateMachine:tp-order-workflow',
    CUSTOMER_TOPIC_ARN: 'arn:aws:sns:eu-west-3:123456789012:tp-order-notifications',
    PAYMENT_SUCCESS_RATE: '0.75',
    PAYMENT_TIMEOUT_RATE: '0.1',
    MAX_STOCK_WAITS: '3',
  })
  // Assess
  t.deepEqual(config, {
    ordersTable: 'tp-orders',
    mainQueueUrl: REQUIRED_ENV.MAIN_QUEUE_URL,
    mainDlqUrl: REQUIRED_ENV.MAIN_DLQ_URL,
    ingestDlqUrl: REQUIRED_ENV.INGEST_DLQ_URL,
    alertTopicArn: 'arn:aws:sns:eu-west-3:123456789012:tp-alerts',
    metricsNamespace: 'Shop',
    stage: 'prod',
    metricsMode: 'emf',
    stockTracking: false,
    defaultCurrency: 'BRL',
    maxOrderAmount: 2500.5,
    workerConcurrency: 3,
    orderRetentionDays: 730,
    corsOrigins: ['https://shop.example.com', 'https://www.shop.example.com'],
    sendsInFlight: 4,
    ingestQueueUrl: 'https://sqs.eu-west-3.amazonaws.com/123456789012/tp-orders-ingest',
    rangeBytes: 4096,
    intakeBucket: 'tp-orders-intake-123456789012-eu-west-3',
    rawPrefix: 'lake/',
    generatedOrders: 250,
    generatorSeed: 4294967295,
    invalidRate: 0.05,
    duplicateRate: 0.02,
    stateMachineArn: 'arn:aws:states:eu-west-3:123456789012:stateMachine:tp-order-workflow',
    customerTopicArn: 'arn:aws:sns:eu-west-3:123456789012:tp-order-notifications',
    paymentSuccessRate: 0.75,
    paymentTimeoutRate: 0.1,
    maxStockWaits: 3,
  })
})

test('loadConfig defaults: EUR, 10000, OrderPipeline, dev, metrics by API, stock on, no alert topic, 10 records at once', (t) => {
  // Act
  const config = loadConfig(ALL_REQUIRED, { ...REQUIRED_ENV })
  // Assess
  t.like(config, {
    defaultCurrency: 'EUR',
    maxOrderAmount: 10000,
    metricsNamespace: 'OrderPipeline',
    stage: 'dev',
    metricsMode: 'api',
    stockTracking: true,
    alertTopicArn: undefined,
    workerConcurrency: 10,
    ingestQueueUrl: undefined,
    rangeBytes: 8 * 1024 * 1024,
    rawPrefix: 'raw/',
    generatedOrders: 1000,
    generatorSeed: undefined,
    invalidRate: 0,
    duplicateRate: 0,
    customerTopicArn: undefined,
    paymentSuccessRate: 0.9,
    paymentTimeoutRate: 0,
    maxStockWaits: 168,
  })
})

test('empty optional variables fall back to their defaults', (t) => {
  // Act
  const config = loadConfig([], {
    ALERT_TOPIC_ARN: '',
    METRICS_NAMESPACE: '',
    STAGE: '',
    METRICS_MODE: '',
    STOCK_TRACKING: '',
  })
  // Assess
  t.like(config, {
    alertTopicArn: undefined,
    metricsNamespace: 'OrderPipeline',
    stage: 'dev',
    metricsMode: 'api',
    stockTracking: true,
  })
})

test('loadConfig names every missing required variable in one error', (t) => {
  // Act
  const err = t.throws(() => loadConfig(ALL_REQUIRED, {}), { instanceOf: ConfigError })
  // Assess
  t.is(err?.message, 'Missing environment variables: ORDERS_TABLE, MAIN_QUEUE_URL, MAIN_DLQ_URL, INGEST_DLQ_URL')
  t.is(err?.name, 'ConfigError')
})

test('loadConfig names only the variables that are missing, an empty one included', (t) => {
  // Act
  const err = t.throws(
    () => loadConfig(ALL_REQUIRED, { ...REQUIRED_ENV, MAIN_QUEUE_URL: undefined, MAIN_DLQ_URL: '' }),
    { instanceOf: ConfigError },
  )
  // Assess
  t.is(err?.message, 'Missing environment variables: MAIN_QUEUE_URL, MAIN_DLQ_URL')
})

test('one missing variable is named in the singular', (t) => {
  // Act
  const err = t.throws(() => loadConfig(['ordersTable'], {}), { instanceOf: ConfigError })
  // Assess
  t.is(err?.message, 'Missing environment variable: ORDERS_TABLE')
})

test('a variable this function does not require may be missing', (t) => {
  // Act
  const config = loadConfig(['ordersTable', 'mainDlqUrl'], { ORDERS_TABLE: 't', MAIN_DLQ_URL: 'q' })
  // Assess
  t.is(config.ordersTable, 't')
  t.is(config.mainQueueUrl, '')
  t.is(config.ingestDlqUrl, '')
})

const stockFlag = test.macro({
  exec: (t, value: string, expected: boolean) =>
    t.is(loadConfig([], { STOCK_TRACKING: value }).stockTracking, expected),
  title: (_provided, value: string, expected: boolean) =>
    `STOCK_TRACKING=${value} turns stock tracking ${expected ? 'on' : 'off'}`,
})
test(stockFlag, 'on', true)
test(stockFlag, 'off', false)
test(stockFlag, 'true', true)
test(stockFlag, 'false', false)
test(stockFlag, 'ON', true)
test(stockFlag, 'False', false)
test(stockFlag, '1', true)
test(stockFlag, '0', false)

const refused = test.macro({
  exec(t, env: Record<string, string>, message: string) {
    // Act
    const err = t.throws(() => loadConfig([], env), { instanceOf: ConfigError })
    // Assess
    t.is(err?.message, message)
  },
  title: (_provided, env: Record<string, string>) =>
    `loadConfig refuses ${Object.entries(env)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(' ')}, naming it`,
})
test(refused, { STOCK_TRACKING: 'maybe' }, 'STOCK_TRACKING must be on or off, got "maybe"')
test(refused, { METRICS_MODE: 'cloudwatch' }, 'METRICS_MODE must be api or emf, got "cloudwatch"')
test(refused, { METRICS_MODE: 'EMF' }, 'METRICS_MODE must be api or emf, got "EMF"')
test('METRICS_MODE=api and METRICS_MODE=emf are read as they are', (t) => {
  t.is(loadConfig([], { METRICS_MODE: 'api' }).metricsMode, 'api')
  t.is(loadConfig([], { METRICS_MODE: 'emf' }).metricsMode, 'emf')
})
test(refused, { STOCK_TRACKING: 'enabled' }, 'STOCK_TRACKING must be on or off, got "enabled"')
test(
  refused,
  { MAX_ORDER_AMOUNT: 'lots' },
  'MAX_ORDER_AMOUNT must be a positive number up to 10000000 (the schemas\' bound on money), got "lots"',
)
test(
  refused,
  { MAX_ORDER_AMOUNT: '0' },
  'MAX_ORDER_AMOUNT must be a positive number up to 10000000 (the schemas\' bound on money), got "0"',
)
test(
  refused,
  { MAX_ORDER_AMOUNT: '-100' },
  'MAX_ORDER_AMOUNT must be a positive number up to 10000000 (the schemas\' bound on money), got "-100"',
)
test(
  refused,
  { MAX_ORDER_AMOUNT: 'Infinity' },
  'MAX_ORDER_AMOUNT must be a positive number up to 10000000 (the schemas\' bound on money), got "Infinity"',
)
test(refused, { DEFAULT_CURRENCY: 'EURO' }, 'DEFAULT_CURRENCY must be an ISO 4217 code, got "EURO"')
test(refused, { DEFAULT_CURRENCY: 'eur' }, 'DEFAULT_CURRENCY must be an ISO 4217 code, got "eur"')
test(refused, { WORKER_CONCURRENCY: '0' }, 'WORKER_CONCURRENCY must be a positive integer, got "0"')
test(refused, { WORKER_CONCURRENCY: '2.5' }, 'WORKER_CONCURRENCY must be a positive integer, got "2.5"')
test(refused, { SENDS_IN_FLIGHT: '0' }, 'SENDS_IN_FLIGHT must be an integer from 1 to 64, got "0"')
test(refused, { SENDS_IN_FLIGHT: '100' }, 'SENDS_IN_FLIGHT must be an integer from 1 to 64, got "100"')
test(refused, { RANGE_BYTES: '100' }, 'RANGE_BYTES must be an integer of at least 1024, got "100"')
test(refused, { RANGE_BYTES: '8MB' }, 'RANGE_BYTES must be an integer of at least 1024, got "8MB"')

test(
  refused,
  { RAW_PREFIX: 'raw' },
  'RAW_PREFIX must be one path segment ending in a slash (raw/), and not reports/, got "raw"',
)
test(
  refused,
  { RAW_PREFIX: 'reports/' },
  'RAW_PREFIX must be one path segment ending in a slash (raw/), and not reports/, got "reports/"',
)
test(
  refused,
  { RAW_PREFIX: 'raw/year=2026/' },
  'RAW_PREFIX must be one path segment ending in a slash (raw/), and not reports/, got "raw/year=2026/"',
)
test(refused, { GENERATED_ORDERS: '0' }, 'GENERATED_ORDERS must be an integer from 1 to 100000, got "0"')
test(refused, { GENERATED_ORDERS: '100001' }, 'GENERATED_ORDERS must be an integer from 1 to 100000, got "100001"')
test(refused, { GENERATED_ORDERS: 'many' }, 'GENERATED_ORDERS must be an integer from 1 to 100000, got "many"')
test(refused, { GENERATOR_SEED: '-1' }, 'GENERATOR_SEED must be an integer from 0 to 4294967295, got "-1"')
test(
  refused,
  { GENERATOR_SEED: '4294967296' },
  'GENERATOR_SEED must be an integer from 0 to 4294967295, got "4294967296"',
)
test(refused, { GENERATOR_SEED: '1.5' }, 'GENERATOR_SEED must be an integer from 0 to 4294967295, got "1.5"')
test(refused, { INVALID_RATE: '1.5' }, 'INVALID_RATE must be a number from 0 to 1, got "1.5"')
test(refused, { INVALID_RATE: 'some' }, 'INVALID_RATE must be a number from 0 to 1, got "some"')
test(refused, { PAYMENT_SUCCESS_RATE: '1.1' }, 'PAYMENT_SUCCESS_RATE must be a number from 0 to 1, got "1.1"')
test(refused, { PAYMENT_TIMEOUT_RATE: 'often' }, 'PAYMENT_TIMEOUT_RATE must be a number from 0 to 1, got "often"')
test(refused, { MAX_STOCK_WAITS: '-1' }, 'MAX_STOCK_WAITS must be an integer from 0 to 10000, got "-1"')
test(refused, { MAX_STOCK_WAITS: '1.5' }, 'MAX_STOCK_WAITS must be an integer from 0 to 10000, got "1.5"')
test(refused, { DUPLICATE_RATE: '-0.1' }, 'DUPLICATE_RATE must be a number from 0 to 1, got "-0.1"')
test(
  refused,
  { INVALID_RATE: '0.7', DUPLICATE_RATE: '0.4' },
  'INVALID_RATE + DUPLICATE_RATE must be at most 1, got 0.7 + 0.4',
)

test('the generator needs INTAKE_BUCKET, and its other settings have defaults (an empty seed: none)', (t) => {
  // Act
  const err = t.throws(() => loadConfig(['intakeBucket'], {}), { instanceOf: ConfigError })
  const config = loadConfig(['intakeBucket'], { INTAKE_BUCKET: 'b', GENERATOR_SEED: '', INVALID_RATE: '' })
  // Assess
  t.is(err?.message, 'Missing environment variable: INTAKE_BUCKET')
  t.like(config, {
    intakeBucket: 'b',
    rawPrefix: 'raw/',
    generatedOrders: 1000,
    generatorSeed: undefined,
    invalidRate: 0,
  })
  t.is(loadConfig([], { GENERATOR_SEED: '0' }).generatorSeed, 0)
})

test('a missing required variable is reported before an invalid optional one', (t) => {
  // Act
  const err = t.throws(() => loadConfig(['ordersTable'], { STOCK_TRACKING: 'maybe' }), { instanceOf: ConfigError })
  // Assess
  t.is(err?.message, 'Missing environment variable: ORDERS_TABLE')
})

test('MAX_ORDER_AMOUNT and DEFAULT_CURRENCY accept valid values', (t) => {
  // Act
  const config = loadConfig([], { MAX_ORDER_AMOUNT: '500', DEFAULT_CURRENCY: 'USD' })
  // Assess
  t.is(config.maxOrderAmount, 500)
  t.is(config.defaultCurrency, 'USD')
})

test('ORDER_RETENTION_DAYS: 0 by default (kept); a fraction, a negative or a text is refused naming the variable', (t) => {
  t.is(loadConfig(ALL_REQUIRED, { ...REQUIRED_ENV }).orderRetentionDays, 0)
  for (const value of ['1.5', '-1', 'soon', '36501'])
    t.throws(() => loadConfig(ALL_REQUIRED, { ...REQUIRED_ENV, ORDER_RETENTION_DAYS: value }), {
      message: /ORDER_RETENTION_DAYS must be a whole number of days/,
    })
})
