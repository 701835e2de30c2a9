/**
 * Rows → one Parquet file, typed by the lake's column lists (lib/lake/enriched.ts): what the exporter writes to
 * processed/ and what Athena (Glue tables of cloudformation/analytics.yaml) and DuckDB (lib/lake/queries.ts) read.
 *
 * hyparquet-writer is pure JavaScript (no native code, about 60 KB in a bundle) and compresses with its own
 * JavaScript Snappy, the codec Athena and DuckDB read fastest. One call writes one file with one row group: the
 * exporter writes a file per batch, and a batch fits in memory.
 *
 * Each Glue type has one Parquet type, with its logical type (and the legacy converted type that older readers
 * look at):
 *
 * | Glue type | Parquet physical type | logical type | from |
 * | --- | --- | --- | --- |
 * | string | BYTE_ARRAY | STRING (UTF8) | a string |
 * | bigint | INT64 | — | a safe integer |
 * | int | INT32 | — | an integer in ±2^31 |
 * | double | DOUBLE | — | a finite number |
 * | boolean | BOOLEAN | — | a boolean |
 * | timestamp | INT64 | TIMESTAMP(MILLIS, adjusted to UTC) (TIMESTAMP_MILLIS) | an ISO 8601 date-time with a zone |
 * | date | INT32 | DATE | YYYY-MM-DD |
 *
 * Every column is OPTIONAL: null (or undefined) is a null.
 */
import { parquetWriteBuffer } from 'hyparquet-writer'
import type { Column, ColumnType } from './enriched.ts'

type SchemaElement = NonNullable<Parameters<typeof parquetWriteBuffer>[0]['schema']>[number]

/** The compression codec of every column chunk (hyparquet-writer's own JavaScript Snappy). */
export const PARQUET_CODEC = 'SNAPPY'

/** A column's Parquet schema element, by Glue type. */
export const PARQUET_TYPES = {
  string: { type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } },
  bigint: { type: 'INT64' },
  int: { type: 'INT32' },
  double: { type: 'DOUBLE' },
  boolean: { type: 'BOOLEAN' },
  timestamp: {
    type: 'INT64',
    converted_type: 'TIMESTAMP_MILLIS',
    logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
  },
  date: { type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } },
} as const satisfies Record<ColumnType, Omit<SchemaElement, 'name'>>

const DAY_MS = 86_400_000
const INT32_MIN = -(2 ** 31)
const INT32_MAX = 2 ** 31 - 1
/** An ISO 8601 date-time with its zone (Z or ±hh:mm): a timestamp without one would be read in local time. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/

/** The value as the writer stores it (null stays null), or a message saying what was expected. */
const converters: Record<ColumnType, (value: unknown) => unknown> = {
  string: (v) => (typeof v === 'string' ? v : fail('a string', v)),
  bigint: (v) => (typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : fail('a safe integer', v)),
  int: (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX ? v : fail('a 32-bit integer', v),
  double: (v) => (typeof v === 'number' && Number.isFinite(v) ? v : fail('a finite number', v)),
  boolean: (v) => (typeof v === 'boolean' ? v : fail('a boolean', v)),
  timestamp: (v) => {
    const ms = typeof v === 'string' && ISO_DATE_TIME.test(v) ? Date.parse(v) : NaN
    return Number.isNaN(ms) ? fail('an ISO 8601 date-time with a zone (2026-01-07T10:00:00Z)', v) : BigInt(ms)
  },
  date: (v) => {
    const [, y, m, d] = (typeof v === 'string' && ISO_DATE.exec(v)) || []
    const ms = Date.UTC(Number(y), Number(m) - 1, Number(d))
    // Date.UTC rolls 2026-02-30 over to March: a real date reads back the same.
    const real = y !== undefined && new Date(ms).toISOString().slice(0, 10) === v
    return real ? ms / DAY_MS : fail('a date YYYY-MM-DD', v)
  },
}

class ValueError extends Error {}
const fail = (expected: string, value: unknown): never => {
  throw new ValueError(`expected ${expected}, got ${JSON.stringify(value) ?? String(value)}`)
}

/**
 * One Parquet file of `rows`, with the columns (names, order and types) of `columns`. A row's keys that are not
 * columns are ignored; a missing key is a null.
 * @throws TypeError naming the row, the column and the value that does not fit its type
 */
export const toParquet = (columns: readonly Column[], rows: readonly Record<string, unknown>[]): Uint8Array => {
  if (columns.length === 0) throw new TypeError('toParquet: no columns')
  const names = new Set(columns.map((c) => c.name))
  if (names.size !== columns.length) throw new TypeError('toParquet: a column name appears twice')
  const columnData = columns.map((column) => ({
    name: column.name,
    data: rows.map((row, i) => {
      const value = row[column.name]
      if (value === null || value === undefined) return null
      try {
        return converters[column.type](value)
      } catch (err) {
        if (!(err instanceof ValueError)) throw err
        throw new TypeError(`toParquet: row ${i}, column ${column.name} (${column.type}): ${err.message}`)
      }
    }),
  }))
  const schema: SchemaElement[] = [
    { name: 'root', num_children: columns.length },
    ...columns.map((c): SchemaElement => ({ name: c.name, repetition_type: 'OPTIONAL', ...PARQUET_TYPES[c.type] })),
  ]
  const buffer = parquetWriteBuffer({
    columnData,
    schema,
    codec: PARQUET_CODEC,
    // One row group for the whole call (the writer's default starts a new group after 1,000 rows).
    rowGroupSize: Math.max(1, rows.length),
    createdBy: 'order-pipeline lib/lake/parquet.ts (hyparquet-writer)',
  })
  return new Uint8Array(buffer)
}
