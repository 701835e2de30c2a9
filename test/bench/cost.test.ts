/**
 * The cost model (cost.ts): its arithmetic on a case computed by hand, and the price file (prices.json): every
 * price the model uses is there, positive, with the page it was read from and the day it was taken.
 */
import test from 'ava'
import {
  billedMs,
  costPerMillion,
  gbSecondsPerOrder,
  loadPrices,
  PRICE_IDS,
  priceProblems,
  sqsChunks,
  type Price,
  type PriceId,
  type PriceTable,
  type UsagePerOrder,
} from './cost.ts'

const price = (usd: number, per: number): Price => ({
  service: 'test',
  item: 'test',
  usd,
  per,
  unit: 'unit',
  region: 'us-east-1',
  source: 'https://example.com/prices',
  taken: '2026-12-02',
})

/** Round prices, so that each line below can be checked by hand. */
const prices: Record<PriceId, Price> = {
  lambdaRequest: price(0.2, 1_000_000),
  lambdaGbSecondArm: price(0.0000133334, 1),
  sqsStandardRequest: price(0.4, 1_000_000),
  dynamoWriteRequestUnit: price(0.625, 1_000_000),
  dynamoReadRequestUnit: price(0.125, 1_000_000),
  s3PutRequest: price(0.005, 1000),
  s3GetRequest: price(0.0004, 1000),
  cloudWatchApiRequest: price(0.01, 1000),
  logsIngestionGb: price(0.5, 1),
  apiGatewayRestRequest: price(3.5, 1_000_000),
  snsPublish: price(0.5, 1_000_000),
}

const usage: UsagePerOrder = {
  lambda: [
    // A worker batch of 10 orders: 0.1 invocation an order, 20 ms each.
    { name: 'worker', invocationsPerOrder: 0.1, billedMsPerInvocation: 20 },
    // One API invocation an order, 4.2 ms: billed as 5 ms.
    { name: 'api', invocationsPerOrder: 1, billedMsPerInvocation: 4.2 },
  ],
  memoryMb: 512,
  sqsRequests: 0.3,
  dynamoWriteUnits: 6.7,
  dynamoReadUnits: 0.5,
  s3Puts: 0.002,
  s3Gets: 0.001,
  cloudWatchRequests: 0.101,
  logBytes: 1024 ** 3 / 1_000_000, // a millionth of a GB
  apiGatewayRequests: 1,
  snsPublishes: 0,
}

test('GB-seconds: invocations × billed duration rounded up to the ms × memory in GB', (t) => {
  // 0.1 × 0.020 s × 0.5 GB + 1 × 0.005 s × 0.5 GB = 0.001 + 0.0025
  t.is(Number(gbSecondsPerOrder(usage).toFixed(10)), 0.0035)
})

test('dollars per million orders, line by line, as computed by hand', (t) => {
  const { lines, usdPerMillionOrders } = costPerMillion(usage, { prices })
  const usd = Object.fromEntries(lines.map((l) => [l.id, Number(l.usdPerMillionOrders.toFixed(7))]))
  t.deepEqual(usd, {
    lambdaRequest: 0.22, // 1.1 invocations × 1e6 × $0.20 / 1e6
    lambdaGbSecondArm: 0.0466669, // 0.0035 GB-s × 1e6 × $0.0000133334
    sqsStandardRequest: 0.12, // 0.3 × $0.40
    dynamoWriteRequestUnit: 4.1875, // 6.7 × $0.625
    dynamoReadRequestUnit: 0.0625, // 0.5 × $0.125
    s3PutRequest: 0.01, // 0.002 × 1e6 × $0.005 / 1000
    s3GetRequest: 0.0004, // 0.001 × 1e6 × $0.0004 / 1000
    cloudWatchApiRequest: 1.01, // 0.101 × 1e6 × $0.01 / 1000
    logsIngestionGb: 0.5, // 1e-6 GB × 1e6 × $0.50
    apiGatewayRestRequest: 3.5, // 1 × $3.50
    snsPublish: 0,
  })
  t.is(Number(usdPerMillionOrders.toFixed(7)), 9.6570669)
  t.deepEqual(
    lines.map((l) => l.id),
    [...PRICE_IDS],
    'one line per price, in the order of PRICE_IDS',
  )
})

test('a price is per its own unit: the same S3 price per 1,000 or per million gives the same cost', (t) => {
  const perMillion = { ...prices, s3PutRequest: price(5, 1_000_000) }
  const a = costPerMillion(usage, { prices }).lines.find((l) => l.id === 's3PutRequest')!
  const b = costPerMillion(usage, { prices: perMillion }).lines.find((l) => l.id === 's3PutRequest')!
  t.is(a.usdPerMillionOrders.toFixed(10), b.usdPerMillionOrders.toFixed(10))
})

test('billed duration: CPU time scaled to the share of a vCPU (1,769 MB = 1), plus the wait, rounded up', (t) => {
  t.is(billedMs(1, 15, 512), 19) // 1 × 1769/512 = 3.455 + 15 → 18.455 → 19
  t.is(billedMs(1, 15, 1769), 16)
  t.is(billedMs(1, 15, 3538), 16, 'never faster than one vCPU: Node runs the handler on one thread')
  t.is(billedMs(0, 0, 512), 0)
})

test('SQS bills each 64 KB chunk of a payload as a request, at least one', (t) => {
  t.is(sqsChunks(0), 1)
  t.is(sqsChunks(7000), 1)
  t.is(sqsChunks(64 * 1024), 1)
  t.is(sqsChunks(64 * 1024 + 1), 2)
  t.is(sqsChunks(256 * 1024), 4)
})

test('prices.json: every price the model uses, positive, with its source URL and the date it was taken', (t) => {
  const table = loadPrices()
  t.deepEqual(Object.keys(table.prices).sort(), [...PRICE_IDS].sort())
  for (const id of PRICE_IDS) {
    const p = table.prices[id]
    t.true(p.usd > 0 && p.per > 0, `${id}: a positive price`)
    t.regex(p.source, /^https:\/\/\S+$/, `${id}: its source`)
    t.regex(p.taken, /^\d{4}-\d{2}-\d{2}$/, `${id}: the day it was taken`)
    t.false(Number.isNaN(Date.parse(p.taken)), `${id}: a real date`)
    t.true(
      p.region === table.targetRegion || p.region.includes(`${table.targetRegion} not found`),
      `${id}: the target region, or says it was not found (${p.region})`,
    )
  }
})

test('priceProblems names a price without a source or a date, and one the model does not know', (t) => {
  const table = loadPrices()
  const broken: PriceTable = {
    ...table,
    prices: {
      ...table.prices,
      s3GetRequest: { ...table.prices.s3GetRequest, source: '' },
      snsPublish: { ...table.prices.snsPublish, taken: 'last week' },
      extra: price(1, 1),
    } as PriceTable['prices'],
  }
  t.deepEqual(priceProblems(broken), [
    's3GetRequest: source must be an https URL',
    'snsPublish: taken must be a date (YYYY-MM-DD)',
    'extra: not a price the model uses',
  ])
})
