/**
 * The data lake's named queries, one source: `lib/lake/queries/<name>.sql`, each opening with `--` lines that are
 * its description. Athena runs them as the NamedQuery resources of cloudformation/analytics.yaml (written from
 * these files by scripts/delivery/lake-queries.ts), and DuckDB runs them here, over a local folder laid out as the
 * intake bucket (`processed/orders/year=…/month=…/day=…/*.parquet`, `processed/items/…`, `reports/**.json`).
 *
 * The SQL is the subset Athena (Trino) and DuckDB both read the same way, and its tables are the Glue tables:
 * `processed_orders`, `processed_items` (lib/lake/enriched.ts) and `intake_reports` (lib/lake/reports.ts). What
 * the SQL avoids: integer division (Trino truncates, DuckDB gives a double: divide a CAST(… AS DOUBLE)), bare
 * integer sums (DuckDB sums to HUGEINT: CAST(sum(…) AS BIGINT)), date formatting (date_format vs strftime: the day
 * is the partition columns joined with ||), and UNNEST of a map into two columns (DuckDB cannot:
 * `CROSS JOIN UNNEST(map_keys(m)) AS u (k)` with `m[u.k]`).
 *
 * The dialect shim, all of it in the DuckDB views of `lakeViews`:
 * - the partition columns year/month/day are read from the Hive paths as VARCHAR, as Glue declares them (DuckDB
 *   would infer integers and drop the leading zero);
 * - timestamps are cast to TIMESTAMP, in a session whose TimeZone is UTC: the Parquet files hold UTC instants,
 *   which Athena's `timestamp` (without a zone) reads as UTC wall-clock times, and DuckDB as TIMESTAMP WITH TIME ZONE;
 * - the reports (pretty-printed JSON, one document per file) are read with read_json and named as the Glue table
 *   names them (snake_case, where the files have camelCase), `rejected_by_reason` as a MAP;
 * - raw_orders is read as CSV with no delimiter, quote or escape a line can hold, so a line is one field; an empty
 *   line is '' (Athena's text SerDe), not NULL;
 * - `json_extract_scalar(line, '$.path')`, Athena's, is a DuckDB macro with Athena's answers (NULL for an object,
 *   an array or a line that is not JSON);
 * - a table without files is an empty view of the same columns (the command says so before it runs).
 *
 * DuckDB (@duckdb/node-api, a native module) is for the local command and the tests only, never a Lambda bundle: it
 * is loaded when a query runs, not when this module is imported.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { DuckDBType, Json } from '@duckdb/node-api'
import { ITEM_COLUMNS, ORDER_COLUMNS, PARTITION_COLUMNS, type Column, type ColumnType } from './enriched.ts'
import { RAW_COLUMNS, RAW_PARTITION_COLUMNS, RAW_PREFIX, RAW_SUFFIXES } from './raw.ts'
import { REPORT_COLUMNS, REPORTS_PREFIX } from './reports.ts'

export interface NamedQuery {
  /** The file's name without .sql: what `npm run query -- --named` takes, and the Athena NamedQuery's name. */
  name: string
  /** Its leading `--` lines, joined. */
  description: string
  /** The whole file, comments included. */
  sql: string
}

/** The folder of the .sql files. */
export const QUERIES_DIR = fileURLToPath(new URL('./queries/', import.meta.url))

/** A .sql file's leading comment, as one line. */
export const descriptionOf = (sql: string): string => {
  const lines: string[] = []
  for (const line of sql.split('\n')) {
    const comment = /^--\s?(.*)$/.exec(line.trim())
    if (!comment) break
    lines.push(comment[1]!.trim())
  }
  return lines.join(' ').trim()
}

/** Every named query, by file name. */
export const loadNamedQueries = (dir = QUERIES_DIR): NamedQuery[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((file) => {
      const sql = readFileSync(join(dir, file), 'utf8')
      const name = file.slice(0, -'.sql'.length)
      const description = descriptionOf(sql)
      if (!description) throw new Error(`${join(dir, file)}: no description (the file opens with -- lines)`)
      return { name, description, sql }
    })

export const NAMED_QUERIES: readonly NamedQuery[] = loadNamedQueries()

/** The named query called `name`, or an error that lists the known names. */
export const namedQuery = (name: string): NamedQuery => {
  const query = NAMED_QUERIES.find((q) => q.name === name)
  if (!query) throw new Error(`no named query "${name}" (known: ${NAMED_QUERIES.map((q) => q.name).join(', ')})`)
  return query
}

// ---------------------------------------------------------------------------------------------------------------
// The tables, where their files are in a bucket (or a folder laid out as one)

export const LAKE_TABLES = {
  processed_orders: { prefix: 'processed/orders/', suffixes: ['.parquet'] },
  processed_items: { prefix: 'processed/items/', suffixes: ['.parquet'] },
  intake_reports: { prefix: REPORTS_PREFIX, suffixes: ['.json'] },
  raw_orders: { prefix: RAW_PREFIX, suffixes: RAW_SUFFIXES },
} as const satisfies Record<string, { prefix: string; suffixes: readonly string[] }>

/** Whether a key (or a path relative to the bucket's root) is one of the table's files. */
export const isTableFile = (table: LakeTable, key: string): boolean =>
  key.startsWith(LAKE_TABLES[table].prefix) && LAKE_TABLES[table].suffixes.some((s) => key.endsWith(s))

export type LakeTable = keyof typeof LAKE_TABLES

/** The lake tables a query reads (by name: a word of the SQL). */
export const tablesOf = (sql: string): LakeTable[] =>
  (Object.keys(LAKE_TABLES) as LakeTable[]).filter((table) => new RegExp(`\\b${table}\\b`, 'i').test(sql))

/** The table's files under `dir`, relative to it. */
export const filesOf = (dir: string, table: LakeTable): string[] => {
  const { prefix } = LAKE_TABLES[table]
  const root = join(dir, prefix)
  if (!existsSync(root)) return []
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .map((f) => `${prefix}${f}`)
    .filter((f) => isTableFile(table, f))
}

// ---------------------------------------------------------------------------------------------------------------
// DuckDB

const DUCKDB_TYPES: Record<ColumnType, string> = {
  string: 'VARCHAR',
  bigint: 'BIGINT',
  int: 'INTEGER',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
  date: 'DATE',
}

/** DuckDBTypeId.DECIMAL (the type ids are the C API's). */
const DECIMAL = 19

const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`
const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`

const parquetView = (table: LakeTable, columns: readonly Column[], dir: string): string => {
  const all = [...columns, ...PARTITION_COLUMNS]
  if (filesOf(dir, table).length === 0) {
    const empty = all.map((c) => `CAST(NULL AS ${DUCKDB_TYPES[c.type]}) AS ${ident(c.name)}`).join(', ')
    return `CREATE OR REPLACE VIEW ${table} AS SELECT ${empty} WHERE false`
  }
  const select = all
    .map((c) => (c.type === 'timestamp' ? `CAST(${ident(c.name)} AS TIMESTAMP) AS ${ident(c.name)}` : ident(c.name)))
    .join(', ')
  const hiveTypes = PARTITION_COLUMNS.map((c) => `${literal(c.name)}: 'VARCHAR'`).join(', ')
  const glob = literal(join(dir, LAKE_TABLES[table].prefix, '**', '*.parquet'))
  return (
    `CREATE OR REPLACE VIEW ${table} AS SELECT ${select} FROM read_parquet(${glob}, ` +
    `hive_partitioning = true, hive_types = {${hiveTypes}}, union_by_name = true)`
  )
}

const reportsView = (dir: string): string => {
  if (filesOf(dir, 'intake_reports').length === 0) {
    const empty = REPORT_COLUMNS.map((c) => `CAST(NULL AS ${c.duckdb}) AS ${ident(c.name)}`).join(', ')
    return `CREATE OR REPLACE VIEW intake_reports AS SELECT ${empty} WHERE false`
  }
  const select = REPORT_COLUMNS.map((c) => `${ident(c.field)} AS ${ident(c.name)}`).join(', ')
  const columns = REPORT_COLUMNS.map((c) => `${literal(c.field)}: ${literal(c.duckdb)}`).join(', ')
  const glob = literal(join(dir, REPORTS_PREFIX, '**', '*.json'))
  return (
    `CREATE OR REPLACE VIEW intake_reports AS SELECT ${select} FROM read_json(${glob}, ` +
    `format = 'auto', hive_partitioning = false, columns = {${columns}})`
  )
}

/** raw_orders: each line of the JSONL files as one string, '' for an empty line (as Athena's text SerDe reads it). */
const rawView = (dir: string): string => {
  const all = [...RAW_COLUMNS, ...RAW_PARTITION_COLUMNS]
  if (filesOf(dir, 'raw_orders').length === 0) {
    const empty = all.map((c) => `CAST(NULL AS ${DUCKDB_TYPES[c.type]}) AS ${ident(c.name)}`).join(', ')
    return `CREATE OR REPLACE VIEW raw_orders AS SELECT ${empty} WHERE false`
  }
  const globs = RAW_SUFFIXES.filter((suffix) => filesOf(dir, 'raw_orders').some((f) => f.endsWith(suffix))).map(
    (suffix) => literal(join(dir, RAW_PREFIX, '**', `*${suffix}`)),
  )
  const hiveTypes = RAW_PARTITION_COLUMNS.map((c) => `${literal(c.name)}: 'VARCHAR'`).join(', ')
  // No delimiter, quote or escape a line can hold (\x01, as Hive's default field delimiter): the line is the field.
  return (
    `CREATE OR REPLACE VIEW raw_orders AS SELECT coalesce(line, '') AS line, year, month, day FROM read_csv([${globs.join(', ')}], ` +
    `columns = {'line': 'VARCHAR'}, delim = '\x01', quote = '', escape = '', header = false, auto_detect = false, ` +
    `hive_partitioning = true, hive_types = {${hiveTypes}})`
  )
}

/** The statements that make the Glue tables views over `dir` (and the session settings they need). */
export const lakeViews = (dir: string): string[] => [
  "SET TimeZone = 'UTC'",
  // Athena's json_extract_scalar: the scalar at a JSON path as text; NULL for an object, an array or invalid JSON.
  'CREATE OR REPLACE MACRO json_extract_scalar(j, p) AS CASE WHEN json_valid(j) AND ' +
    "json_type(j, p) NOT IN ('OBJECT', 'ARRAY') THEN json_extract_string(j, p) END",
  parquetView('processed_orders', ORDER_COLUMNS, dir),
  parquetView('processed_items', ITEM_COLUMNS, dir),
  reportsView(dir),
  rawView(dir),
]

export interface QueryResult {
  /** The result's columns, with their DuckDB types (BIGINT, DOUBLE, VARCHAR, ...). */
  columns: { name: string; type: string }[]
  /** The rows as JSON values: integers and decimals as numbers (as strings beyond 2^53), timestamps as text. */
  rows: Record<string, Json>[]
}

/** DuckDB's JSON form of an integer or decimal is a string for the wide types: a number where it is exact. */
const numeric = (value: Json, type: DuckDBType, numericTypes: Set<number>): Json => {
  if (typeof value !== 'string' || !numericTypes.has(type.typeId)) return value
  const n = Number(value)
  return Number.isSafeInteger(n) || (type.typeId === DECIMAL && Number.isFinite(n)) ? n : value
}

/** Runs `sql` in a fresh in-memory DuckDB over the lake folder `dir` (lakeViews). */
export const runQuery = async (sql: string, dir: string): Promise<QueryResult> => {
  const { DuckDBInstance, DuckDBTypeId: T } = await import('@duckdb/node-api')
  const numericTypes = new Set<number>([
    ...[T.TINYINT, T.SMALLINT, T.INTEGER, T.BIGINT, T.HUGEINT, T.DECIMAL],
    ...[T.UTINYINT, T.USMALLINT, T.UINTEGER, T.UBIGINT, T.UHUGEINT],
  ])
  const instance = await DuckDBInstance.create(':memory:')
  const connection = await instance.connect()
  try {
    for (const statement of lakeViews(dir)) await connection.run(statement)
    const reader = await connection.runAndReadAll(sql)
    const names = reader.deduplicatedColumnNames()
    const types = reader.columnTypes()
    const rows = reader
      .getRowObjectsJson()
      .map((row) =>
        Object.fromEntries(names.map((name, i) => [name, numeric(row[name] ?? null, types[i]!, numericTypes)])),
      )
    return { columns: names.map((name, i) => ({ name, type: types[i]!.toString() })), rows }
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}
