/**
 * npm run query -- [--named NAME | "SQL"]: a question to the data lake, answered by DuckDB on this machine. The
 * tables are those Athena has (processed_orders, processed_items, intake_reports, raw_orders: lib/lake/queries.ts), read from
 * a local folder laid out as the intake bucket (--dir), or from the bucket itself: the objects the query needs are
 * copied to a temporary folder first (DuckDB's httpfs extension, which would read s3:// paths, is not installed).
 */
import { createWriteStream, mkdtempSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve, sep } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { GetObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3'
import { SingleBar } from 'cli-progress'
import { Command, Option } from 'commander'
import pLimit from 'p-limit'
import { cloudFormationClient, s3Client } from '../lib/aws/clients.ts'
import {
  LAKE_TABLES,
  NAMED_QUERIES,
  filesOf,
  isTableFile,
  namedQuery,
  runQuery,
  tablesOf,
  type LakeTable,
  type QueryResult,
} from '../lib/lake/queries.ts'
import { notFound, run, withAwsOptions, type AwsOptions } from './cli.ts'
import { formatTable } from './format.ts'
import { pathOption } from './ops/paths.ts'
import { describeDeployment, listResources, stackNameOf } from './stack/deployment.ts'

type Options = AwsOptions & {
  named?: string
  list?: boolean
  csv?: boolean
  dir?: string
  bucket?: string
  stackName?: string
}

/** Above this many objects to copy, a progress bar (on a terminal). */
const PROGRESS_OBJECTS = 20
/** GetObject calls in flight. */
const COPIES_IN_FLIGHT = 8

// ---------------------------------------------------------------------------------------------------------------
// The bucket's objects, copied

export interface CopyReport {
  objects: number
  bytes: number
  /** Per table: how many of its objects there were. */
  byTable: Record<string, number>
}

/** The keys of a table's objects in the bucket. */
const keysOf = async (s3: S3Client, bucket: string, table: LakeTable): Promise<string[]> => {
  const keys: string[] = []
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: LAKE_TABLES[table].prefix }))
    for (const o of page.Contents ?? []) if (o.Key && isTableFile(table, o.Key)) keys.push(o.Key)
  return keys
}

/**
 * Copies the objects of `tables` from the bucket into `dir`, at the same keys (so `dir` is laid out as the bucket).
 * A key that would land outside `dir` (a `..` segment) is skipped.
 */
export const copyTables = async (
  s3: S3Client,
  bucket: string,
  tables: LakeTable[],
  dir: string,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<CopyReport> => {
  const root = resolve(dir)
  const byTable: Record<string, number> = {}
  const keys: string[] = []
  for (const table of tables) {
    const found = await keysOf(s3, bucket, table).catch((err: unknown) => {
      throw (err as { name?: string }).name === 'NoSuchBucket' ? new Error(`bucket ${bucket} not found`) : err
    })
    byTable[table] = found.length
    keys.push(...found)
  }
  const limit = pLimit(COPIES_IN_FLIGHT)
  let done = 0
  let bytes = 0
  await Promise.all(
    keys.map((key) =>
      limit(async () => {
        const target = resolve(root, key)
        if (target.startsWith(root + sep)) {
          const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
          mkdirSync(dirname(target), { recursive: true })
          // Streamed to the file: a day's Parquet file may be large.
          await pipeline(object.Body as Readable, createWriteStream(target))
          bytes += object.ContentLength ?? 0
        }
        onProgress(++done, keys.length)
      }),
    ),
  )
  return { objects: keys.length, bytes, byTable }
}

// ---------------------------------------------------------------------------------------------------------------
// Output

/** A cell as text: nested values (maps, lists) as JSON. */
const cell = (value: unknown): string =>
  value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value)

const csvField = (text: string): string => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text)

/** RFC 4180 CSV: a header line, then a line per row; nulls are empty fields. */
export const toCsv = (result: QueryResult): string =>
  [result.columns.map((c) => c.name), ...result.rows.map((row) => result.columns.map((c) => cell(row[c.name])))]
    .map((fields) => fields.map(csvField).join(','))
    .join('\n')

const toTable = (result: QueryResult): string => {
  const columns = result.columns.map((c) => c.name)
  const rows = result.rows.map((row) => Object.fromEntries(columns.map((c) => [c, cell(row[c])])))
  const count = `(${result.rows.length} ${result.rows.length === 1 ? 'row' : 'rows'})`
  return result.rows.length === 0 ? `${formatTable([], columns)}\n${count}` : `${formatTable(rows, columns)}\n${count}`
}

// ---------------------------------------------------------------------------------------------------------------
// The command

const bucketOf = async (options: Options): Promise<string> => {
  if (options.bucket) return options.bucket
  const stackName = options.stackName ?? stackNameOf(options.prefix)
  const resources = await listResources(cloudFormationClient(options), stackName).catch((err: unknown) => {
    throw notFound(err, `stack ${stackName} not found (or give --bucket, or --dir for a local folder)`)
  })
  return describeDeployment(resources, options.prefix, options.region).bucket
}

const missingMessage = (table: LakeTable, where: string): string => {
  const { prefix, suffixes } = LAKE_TABLES[table]
  const writer = {
    intake_reports: 'the validator writes one per order file',
    raw_orders: 'npm run generate writes them, and any JSONL order file dropped there',
    processed_orders: 'the exporter writes them',
    processed_items: 'the exporter writes them',
  }[table]
  return `no ${table} data: no ${suffixes.map((s) => `${prefix}**/*${s}`).join(' or ')} in ${where} (${writer})`
}

const program = withAwsOptions(new Command('query'))
  .description(
    'Query the data lake with DuckDB: a named query or any SQL over processed_orders, processed_items, ' +
      'intake_reports and raw_orders, read from the intake bucket (copied to a temporary folder) or from a local folder.',
  )
  .argument('[sql]', 'SQL over processed_orders, processed_items, intake_reports and raw_orders (or --named)')
  .option('--named <name>', 'run a named query (lib/lake/queries/<name>.sql; --list names them)')
  .option('--list', 'list the named queries with their descriptions')
  .option('--csv', 'print CSV instead of a table')
  .addOption(
    new Option(
      '--dir <dir>',
      'a local folder laid out as the bucket (processed/orders/year=…/*.parquet, reports/…)',
    ).argParser(pathOption('--dir')),
  )
  .option('--bucket <name>', "the intake bucket (default: the deployment's, from its stack)")
  .option('--stack-name <name>', 'stack name (default <prefix>-order-pipeline)')
  .addHelpText(
    'after',
    `
Examples:
  npm run query -- --list
  npm run query -- --named orders-per-day
  npm run query -- --named top-products --csv > top-products.csv
  npm run query -- --named rejections-per-file --json --bucket tp-orders-intake-123456789012-eu-west-3
  npm run query -- --endpoint http://localhost:5000 --named revenue-by-segment     (the local stack)
  npm run query -- --dir ./lake "SELECT currency, count(*) AS orders FROM processed_orders GROUP BY currency"

Without --dir, the objects the query reads (processed/orders/, processed/items/, reports/, raw/) are copied from the
bucket into a temporary folder, removed afterwards. The same named queries are Athena named queries in the
deployment's workgroup <prefix>-orders (cloudformation/analytics.yaml).`,
  )
  .action(async (sqlArgument: string | undefined, options: Options) => {
    if (options.list) {
      if (options.json)
        console.log(
          JSON.stringify(
            NAMED_QUERIES.map(({ name, description }) => ({ name, description })),
            null,
            2,
          ),
        )
      else
        console.log(
          formatTable(
            NAMED_QUERIES.map(({ name, description }) => ({ name, description })),
            ['name', 'description'],
          ),
        )
      return
    }
    if (options.json && options.csv) throw new Error('give --json or --csv, not both')
    if (options.dir && options.bucket) throw new Error('give --dir or --bucket, not both')
    if (options.named && sqlArgument) throw new Error('give --named NAME or SQL, not both')
    if (!options.named && !sqlArgument)
      throw new Error('give a query: --named NAME or "SQL" (--list names the named queries)')
    const sql = options.named ? namedQuery(options.named).sql : sqlArgument!
    const tables = tablesOf(sql)

    let dir = options.dir
    let where = options.dir ?? ''
    let temporary: string | undefined
    try {
      if (!dir) {
        const bucket = await bucketOf(options)
        where = `s3://${bucket}`
        temporary = mkdtempSync(join(tmpdir(), 'npm-run-query-'))
        dir = temporary
        const bar = new SingleBar({
          format: `copying s3://${bucket} [{bar}] {value}/{total} objects`,
          stream: process.stderr,
          noTTYOutput: false,
        })
        let started = false
        await copyTables(s3Client(options), bucket, tables, dir, (done, total) => {
          if (total <= PROGRESS_OBJECTS) return
          if (!started) bar.start(total, 0)
          started = true
          bar.update(done)
        }).finally(() => started && bar.stop())
      }
      const missing = tables.filter((table) => filesOf(dir!, table).length === 0)
      if (missing.length > 0) throw new Error(missing.map((table) => missingMessage(table, where)).join('; '))
      const result = await runQuery(sql, dir)
      if (options.json) console.log(JSON.stringify(result.rows, null, 2))
      else if (options.csv) console.log(toCsv(result))
      else console.log(toTable(result))
    } finally {
      if (temporary) rmSync(temporary, { recursive: true, force: true })
    }
  })

if (import.meta.url === `file://${process.argv[1]}`) await run(program)
export { program }
