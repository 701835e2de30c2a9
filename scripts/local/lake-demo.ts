/**
 * The demo's data-lake step: stocks the catalogue, writes a generated file of orders to raw/year=/month=/day=/ of
 * the intake bucket (the validator → queue → worker path every order file takes), waits until the table holds
 * every valid order of the file and processed/ holds the same orders (the exporter, fed by the table's stream),
 * and answers two named queries with DuckDB. It passes when the PROCESSED orders of the file in the table and the
 * orders of the file in processed/orders/ are the same ids with the same amounts.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { paginateScan } from '@aws-sdk/lib-dynamodb'
import { dynamoClient, s3Client } from '../../lib/aws/clients.ts'
import { ORDER_SK, setStock } from '../../lib/aws/table.ts'
import { reportKey } from '../../lib/intake/report.ts'
import { stockLevels } from '../../lib/lake/catalogue.ts'
import { fileName, generateFile, rawKey, type GenerateOptions } from '../../lib/lake/generate.ts'
import { namedQuery, runQuery, tablesOf, type LakeTable } from '../../lib/lake/queries.ts'
import { formatTable } from '../format.ts'
import { copyTables } from '../query.ts'
import type { Deployment } from '../stack/deployment.ts'
import type { OutcomeLog } from './demo.ts'

/** The generated file: 1,000 lines, a few of them invalid or repeated, placed today. */
export const LAKE_DEMO_FILE: Omit<GenerateOptions, 'date'> = {
  orders: 1000,
  seed: 2026,
  invalidRate: 0.03,
  duplicateRate: 0.02,
}

/** The named queries the step prints. */
export const LAKE_DEMO_QUERIES = ['orders-per-day', 'revenue-by-segment'] as const

/** The tables the check and the queries read: the ones copied from the bucket. */
const LAKE_DEMO_TABLES: LakeTable[] = [
  ...new Set<LakeTable>(['processed_orders', ...LAKE_DEMO_QUERIES.flatMap((name) => tablesOf(namedQuery(name).sql))]),
]

export interface LakeDemoOptions {
  deployment: Deployment
  /** What the functions logged (the worker's settled orders, by correlation id). */
  log: OutcomeLog
  endpoint: string
  region: string
  /** The day the orders are placed (default today, UTC). */
  date?: string
  /** Gives up when neither the table nor processed/ gained an order for this long (default 90 s). */
  stallSeconds?: number
  /** How many lines the file has (default LAKE_DEMO_FILE's 1,000). */
  orders?: number
  print?: (text: string) => void
}

export interface LakeDemoResult {
  ok: boolean
  key: string
  /** Valid lines written once: the PROCESSED orders the file must give. */
  expected: number
  /** The file's PROCESSED orders in the table. */
  stored: number
  /** The file's distinct orders in processed/orders/. */
  exported: number
  /** Orders whose amount differs between the table and processed/, or that only one of them holds. */
  mismatched: string[]
}

/** order id → amount in cents. */
type Amounts = Map<string, number>

/** The correlation id of the file's report (reports/<key>.json), once the validator has written it. */
const reportedCorrelationId = async (
  options: LakeDemoOptions,
  key: string,
  stalled: (count: number, before: number) => boolean,
): Promise<string | undefined> => {
  const s3 = s3Client(options)
  for (;;) {
    try {
      const report = await s3.send(new GetObjectCommand({ Bucket: options.deployment.bucket, Key: reportKey(key) }))
      return (JSON.parse(await report.Body!.transformToString()) as { correlationId?: string }).correlationId
    } catch (err) {
      if ((err as { name?: string }).name !== 'NoSuchKey' || stalled(0, 0)) return undefined
      await sleep(500)
    }
  }
}

const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`

/**
 * The file's stored order records (their `source` is `s3://bucket/key?versionId=…#line`): stored PROCESSED, whatever
 * the workflow has made of their status since.
 */
const storedOrders = async (options: LakeDemoOptions, file: string): Promise<Amounts> => {
  const amounts: Amounts = new Map()
  const pages = paginateScan(
    { client: dynamoClient(options) },
    {
      TableName: options.deployment.table,
      FilterExpression: 'sk = :sk AND begins_with(#source, :file)',
      ExpressionAttributeNames: { '#source': 'source' },
      ExpressionAttributeValues: { ':sk': ORDER_SK, ':file': file },
      ProjectionExpression: 'order_id, amount_cents',
    },
  )
  for await (const page of pages)
    for (const item of page.Items ?? []) amounts.set(String(item.order_id), Number(item.amount_cents))
  return amounts
}

/** The file's orders in processed/orders/ (a copy of the bucket's, in `dir`), each once. */
const exportedOrders = async (dir: string, file: string): Promise<Amounts> => {
  const { rows } = await runQuery(
    `SELECT order_id, max(amount_cents) AS amount_cents FROM processed_orders WHERE source_file = ${literal(file)} GROUP BY order_id`,
    dir,
  )
  return new Map(rows.map((r) => [String(r.order_id), Number(r.amount_cents)]))
}

const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(0)} s`

/** Prints a progress line at most every 5 s, and the last one always. */
const throttled = (print: (text: string) => void) => {
  let last = 0
  return (text: string, final: boolean) => {
    if (!final && Date.now() - last < 5000) return
    last = Date.now()
    print(text)
  }
}

const differences = (a: Amounts, b: Amounts): string[] =>
  [...new Set([...a.keys(), ...b.keys()])].filter((id) => a.get(id) !== b.get(id)).sort()

/** Runs the step; `ok` when processed/ holds exactly the file's PROCESSED orders of the table. */
export const runLakeDemo = async (options: LakeDemoOptions): Promise<LakeDemoResult> => {
  const { deployment: d } = options
  const print = options.print ?? ((text: string) => console.log(text))
  const s3 = s3Client(options)
  const stall = (options.stallSeconds ?? 90) * 1000
  let lastGain = Date.now()
  /** Whether waiting is over: `count` grew (waiting goes on), or nothing grew for `stall` ms. */
  const stalled = (count: number, before: number) => {
    if (count > before) lastGain = Date.now()
    return Date.now() - lastGain > stall
  }
  const date = options.date ?? new Date().toISOString().slice(0, 10)

  const levels = stockLevels()
  print(`\ndata lake: stocking the catalogue's ${levels.length} SKUs`)
  const now = new Date().toISOString()
  const dynamo = dynamoClient(options)
  for (const [sku, n] of levels) await setStock(dynamo, d.table, sku, n, now)

  const { body, summary } = generateFile({ ...LAKE_DEMO_FILE, orders: options.orders ?? LAKE_DEMO_FILE.orders, date })
  const key = rawKey(date, fileName(LAKE_DEMO_FILE.seed, date))
  const file = `s3://${d.bucket}/${key}`
  await s3.send(new PutObjectCommand({ Bucket: d.bucket, Key: key, Body: body }))
  print(
    `wrote ${summary.orders} generated orders to ${file} (${summary.valid} valid, ${summary.invalid} invalid, ` +
      `${summary.duplicates} repeated)`,
  )

  // The table first: every valid line stored once (repeats and invalid lines are not). Progress from the worker's
  // log (the file's correlation id is in its report); the table itself is scanned once, at the end (a scan of a
  // few thousand items costs moto a second).
  const started = Date.now()
  const progress = throttled(print)
  const correlationId = await reportedCorrelationId(options, key, stalled)
  for (let count = 0; correlationId !== undefined;) {
    const before = count
    count = options.log.storedWith(correlationId)
    const done = count >= summary.valid || stalled(count, before)
    progress(`  table: ${count} of ${summary.valid} orders stored (${seconds(started)})`, done)
    if (done) break
    await sleep(500)
  }
  const stored = await storedOrders(options, file)

  // Then processed/: the exporter writes a file per stream batch.
  const dir = mkdtempSync(join(tmpdir(), 'lake-demo-'))
  let exported: Amounts = new Map()
  try {
    lastGain = Date.now()
    for (;;) {
      rmSync(join(dir, 'processed'), { recursive: true, force: true })
      await copyTables(s3, d.bucket, LAKE_DEMO_TABLES, dir)
      const before = exported.size
      exported = await exportedOrders(dir, file)
      const done = (stored.size > 0 && differences(stored, exported).length === 0) || stalled(exported.size, before)
      progress(`  processed/: ${exported.size} of ${stored.size} orders exported (${seconds(started)})`, done)
      if (done) break
      await sleep(2000)
    }
    const mismatched = differences(stored, exported)
    const ok = stored.size === summary.valid && mismatched.length === 0
    print(
      formatTable(
        [
          { what: 'valid orders in the file', orders: summary.valid },
          { what: 'PROCESSED in the table', orders: stored.size },
          { what: 'in processed/orders/', orders: exported.size },
          { what: 'amount or presence differs', orders: mismatched.length },
        ],
        ['what', 'orders'],
      ),
    )
    if (mismatched.length > 0) print(`  differing orders: ${mismatched.slice(0, 10).join(', ')}`)
    for (const name of LAKE_DEMO_QUERIES) {
      const query = namedQuery(name)
      const result = await runQuery(query.sql, dir)
      const columns = result.columns.map((c) => c.name)
      print(`\n${name} (DuckDB over a copy of processed/): ${query.description}`)
      print(formatTable(result.rows.slice(0, 10) as Record<string, unknown>[], columns))
    }
    print(
      `\n${ok ? 'the data lake holds exactly the PROCESSED orders of the file' : 'the data lake does NOT hold exactly the PROCESSED orders of the file'}`,
    )
    return { ok, key, expected: summary.valid, stored: stored.size, exported: exported.size, mismatched }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
