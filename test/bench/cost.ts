/**
 * The cost model of `npm run bench` (the `cost` section): what one order uses of each billed AWS dimension, times
 * the unit prices of prices.json, in dollars per million orders. Pure arithmetic, no I/O but loadPrices: the bench
 * (cost.bench.ts) measures the usage, cost.test.ts checks the arithmetic on a case computed by hand.
 */
import { readFileSync } from 'node:fs'

export const PRICE_IDS = [
  'lambdaRequest',
  'lambdaGbSecondArm',
  'sqsStandardRequest',
  'dynamoWriteRequestUnit',
  'dynamoReadRequestUnit',
  's3PutRequest',
  's3GetRequest',
  'cloudWatchApiRequest',
  'logsIngestionGb',
  'apiGatewayRestRequest',
  'snsPublish',
] as const
export type PriceId = (typeof PRICE_IDS)[number]

/** One unit price: `usd` for `per` `unit`s, where it was read and when. */
export interface Price {
  service: string
  item: string
  usd: number
  per: number
  unit: string
  region: string
  source: string
  /** The day the price was taken (YYYY-MM-DD). */
  taken: string
  note?: string
}

export interface PriceTable {
  description: string
  currency: 'USD'
  targetRegion: string
  prices: Record<PriceId, Price>
}

export const PRICES_FILE = new URL('./prices.json', import.meta.url)

/** The problems of a price table: a price missing, not a positive number, or without a source URL or a date. */
export const priceProblems = (table: PriceTable): string[] => {
  const problems: string[] = []
  for (const id of PRICE_IDS) {
    const price = table.prices?.[id]
    if (!price) {
      problems.push(`${id}: missing`)
      continue
    }
    if (!(Number.isFinite(price.usd) && price.usd > 0)) problems.push(`${id}: usd must be a positive number`)
    if (!(Number.isFinite(price.per) && price.per > 0)) problems.push(`${id}: per must be a positive number`)
    if (!/^https:\/\/\S+$/.test(price.source ?? '')) problems.push(`${id}: source must be an https URL`)
    if (!/^\d{4}-\d{2}-\d{2}$/.test(price.taken ?? '') || Number.isNaN(Date.parse(price.taken)))
      problems.push(`${id}: taken must be a date (YYYY-MM-DD)`)
    if (!price.region) problems.push(`${id}: region is missing`)
    if (!price.unit) problems.push(`${id}: unit is missing`)
  }
  for (const id of Object.keys(table.prices ?? {}))
    if (!(PRICE_IDS as readonly string[]).includes(id)) problems.push(`${id}: not a price the model uses`)
  return problems
}

export const loadPrices = (file: URL = PRICES_FILE): PriceTable => {
  const table = JSON.parse(readFileSync(file, 'utf8')) as PriceTable
  const problems = priceProblems(table)
  if (problems.length > 0) throw new Error(`${file.pathname}: ${problems.join('; ')}`)
  return table
}

/** Dollars for one unit (one request, one GB-second, one GB). */
export const unitPrice = (price: Price): number => price.usd / price.per

/** One function's share of an order: its invocations per order and the billed duration of one invocation. */
export interface LambdaUse {
  name: string
  invocationsPerOrder: number
  /** Billed duration of one invocation, in ms (Lambda rounds each invocation up to the next ms). */
  billedMsPerInvocation: number
}

/** What one order uses on average, every figure already divided by the number of orders. */
export interface UsagePerOrder {
  lambda: LambdaUse[]
  /** The functions' configured memory, MB (cloudformation/main.yaml FunctionMemory). */
  memoryMb: number
  /** SQS requests as billed: every 64 KB chunk of a request's payload counts as one. */
  sqsRequests: number
  dynamoWriteUnits: number
  dynamoReadUnits: number
  s3Puts: number
  s3Gets: number
  /** CloudWatch PutMetricData requests. */
  cloudWatchRequests: number
  /** Bytes ingested by CloudWatch Logs (1 GB = 1024³ bytes). */
  logBytes: number
  apiGatewayRequests: number
  snsPublishes: number
}

export interface CostLine {
  id: PriceId
  label: string
  /** The billed quantity for one order, in the price's unit (GB-seconds, GB, requests, units). */
  perOrder: number
  usdPerMillionOrders: number
}

export interface CostBreakdown {
  lines: CostLine[]
  usdPerMillionOrders: number
}

const MILLION = 1_000_000
const GB = 1024 ** 3

/** GB-seconds of one order: Σ invocations × billed seconds × memory in GB. */
export const gbSecondsPerOrder = (usage: Pick<UsagePerOrder, 'lambda' | 'memoryMb'>): number =>
  usage.lambda.reduce(
    (sum, fn) => sum + fn.invocationsPerOrder * (Math.ceil(fn.billedMsPerInvocation) / 1000) * (usage.memoryMb / 1024),
    0,
  )

/** Dollars per million orders, line by line (a line per price, zero lines included) and in total. */
export const costPerMillion = (usage: UsagePerOrder, table: Pick<PriceTable, 'prices'>): CostBreakdown => {
  const quantities: Record<PriceId, [string, number]> = {
    lambdaRequest: ['Lambda invocations', usage.lambda.reduce((sum, fn) => sum + fn.invocationsPerOrder, 0)],
    lambdaGbSecondArm: ['Lambda GB-seconds (arm64)', gbSecondsPerOrder(usage)],
    sqsStandardRequest: ['SQS requests (64 KB chunks)', usage.sqsRequests],
    dynamoWriteRequestUnit: ['DynamoDB write request units', usage.dynamoWriteUnits],
    dynamoReadRequestUnit: ['DynamoDB read request units', usage.dynamoReadUnits],
    s3PutRequest: ['S3 PUT requests', usage.s3Puts],
    s3GetRequest: ['S3 GET requests', usage.s3Gets],
    cloudWatchApiRequest: ['CloudWatch PutMetricData requests', usage.cloudWatchRequests],
    logsIngestionGb: ['CloudWatch Logs ingestion (GB)', usage.logBytes / GB],
    apiGatewayRestRequest: ['API Gateway REST requests', usage.apiGatewayRequests],
    snsPublish: ['SNS publishes', usage.snsPublishes],
  }
  const lines = PRICE_IDS.map((id): CostLine => {
    const [label, perOrder] = quantities[id]
    return { id, label, perOrder, usdPerMillionOrders: perOrder * MILLION * unitPrice(table.prices[id]) }
  })
  return { lines, usdPerMillionOrders: lines.reduce((sum, line) => sum + line.usdPerMillionOrders, 0) }
}

/** SQS bills each 64 KB chunk of a request's payload as one request. */
export const sqsChunks = (payloadBytes: number): number => Math.max(1, Math.ceil(payloadBytes / (64 * 1024)))

/**
 * Billed duration of one invocation, ms, from what the bench measures on this machine: its CPU time scaled to the
 * function's share of a vCPU (Lambda gives one vCPU at 1,769 MB and CPU in proportion to memory) plus the time it
 * waited on the network; at most one vCPU's worth, however large the memory.
 */
export const LAMBDA_MB_PER_VCPU = 1769
export const billedMs = (cpuMs: number, waitMs: number, memoryMb: number): number =>
  Math.ceil(cpuMs * Math.max(1, LAMBDA_MB_PER_VCPU / memoryMb) + waitMs)
