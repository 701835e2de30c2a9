/**
 * toParquet read back by DuckDB: each Glue type becomes the Parquet type whose DuckDB reading is that type (names
 * and order kept), the values and the nulls come back, one row group, Snappy; a value that does not fit its
 * column's type is refused with the row and the column named.
 */
import test from 'ava'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { ORDER_COLUMNS, type Column } from '../../../lib/lake/enriched.ts'
import { PARQUET_CODEC, toParquet } from '../../../lib/lake/parquet.ts'
import { tempDir } from '../../helpers/fixtures.ts'
import { FIXTURE_ORDERS } from '../../helpers/lake.ts'

/** One column of each Glue type (enriched.ts has no double or boolean column yet). */
const EVERY_TYPE = [
  { name: 'a_string', type: 'string', comment: '' },
  { name: 'a_bigint', type: 'bigint', comment: '' },
  { name: 'an_int', type: 'int', comment: '' },
  { name: 'a_double', type: 'double', comment: '' },
  { name: 'a_boolean', type: 'boolean', comment: '' },
  { name: 'a_timestamp', type: 'timestamp', comment: '' },
  { name: 'a_date', type: 'date', comment: '' },
] as const satisfies readonly Column[]

const ROWS = [
  {
    a_string: 'Zoë, "quoted"',
    a_bigint: 9_007_199_254_740_991,
    an_int: -2_147_483_648,
    a_double: 12.5,
    a_boolean: true,
    a_timestamp: '2026-01-07T10:15:30.250Z',
    a_date: '2026-01-07',
  },
  { a_string: null, a_bigint: null, an_int: null, a_double: null, a_boolean: null, a_timestamp: null, a_date: null },
  {
    a_string: '',
    a_bigint: -1,
    an_int: 2_147_483_647,
    a_double: -0.001,
    a_boolean: false,
    a_timestamp: '2026-01-07T12:00:00+02:00',
    a_date: '2024-02-29',
  },
]

/** Runs SQL over one Parquet file (its path as the table `f`). */
const query = async (file: string, sql: string): Promise<Record<string, unknown>[]> => {
  const instance = await DuckDBInstance.create(':memory:')
  const connection = await instance.connect()
  try {
    await connection.run("SET TimeZone = 'UTC'")
    await connection.run(`CREATE VIEW f AS SELECT * FROM read_parquet('${file}')`)
    return (await connection.runAndReadAll(sql)).getRowObjectsJson()
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}

const written = (t: { teardown: (fn: () => void) => void }, columns: readonly Column[], rows: object[]): string => {
  const file = join(tempDir(t, 'parquet-'), 'rows.parquet')
  writeFileSync(file, toParquet(columns, rows as Record<string, unknown>[]))
  return file
}

test('each Glue type reads back in DuckDB as its type, the columns named and ordered as given', async (t) => {
  // Prepare
  const file = written(t, EVERY_TYPE, ROWS)
  // Act
  const described = await query(file, 'DESCRIBE f')
  // Assess
  t.deepEqual(
    described.map((c) => `${String(c.column_name)} ${String(c.column_type)}`),
    [
      'a_string VARCHAR',
      'a_bigint BIGINT',
      'an_int INTEGER',
      'a_double DOUBLE',
      'a_boolean BOOLEAN',
      'a_timestamp TIMESTAMP WITH TIME ZONE',
      'a_date DATE',
    ],
  )
})

test('the values come back as written, nulls as nulls, timestamps as the same instant in UTC', async (t) => {
  const file = written(t, EVERY_TYPE, ROWS)
  const rows = await query(file, 'SELECT *, epoch_ms(a_timestamp) AS ms FROM f')
  t.deepEqual(rows, [
    {
      a_string: 'Zoë, "quoted"',
      a_bigint: '9007199254740991',
      an_int: -2147483648,
      a_double: 12.5,
      a_boolean: true,
      a_timestamp: '2026-01-07 10:15:30.25+00',
      a_date: '2026-01-07',
      ms: String(Date.parse('2026-01-07T10:15:30.250Z')),
    },
    {
      a_string: null,
      a_bigint: null,
      an_int: null,
      a_double: null,
      a_boolean: null,
      a_timestamp: null,
      a_date: null,
      ms: null,
    },
    {
      a_string: '',
      a_bigint: '-1',
      an_int: 2147483647,
      a_double: -0.001,
      a_boolean: false,
      a_timestamp: '2026-01-07 10:00:00+00',
      a_date: '2024-02-29',
      ms: String(Date.parse('2026-01-07T10:00:00Z')),
    },
  ])
})

test('the file has one row group for 1,500 rows, Snappy-compressed, with the logical types Athena reads', async (t) => {
  // More rows than the writer's default first row group (1,000).
  const file = written(
    t,
    EVERY_TYPE,
    Array.from({ length: 1500 }, (_, i) => ROWS[i % ROWS.length]!),
  )
  const chunks = await query(file, `SELECT row_group_id, compression FROM parquet_metadata('${file}')`)
  t.is(new Set(chunks.map((c) => c.row_group_id)).size, 1)
  t.deepEqual([...new Set(chunks.map((c) => c.compression))], [PARQUET_CODEC])
  const schema = await query(
    file,
    `SELECT name, type, converted_type, logical_type FROM parquet_schema('${file}') WHERE name <> 'root'`,
  )
  const byName = Object.fromEntries(schema.map((s) => [s.name, s]))
  t.is(byName.a_string?.type, 'BYTE_ARRAY')
  t.is(byName.a_string?.converted_type, 'UTF8')
  t.is(byName.a_bigint?.type, 'INT64')
  t.is(byName.an_int?.type, 'INT32')
  t.is(byName.a_timestamp?.type, 'INT64')
  t.regex(String(byName.a_timestamp?.logical_type), /TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(MILLIS=/)
  t.is(byName.a_date?.type, 'INT32')
  t.is(byName.a_date?.converted_type, 'DATE')
})

test('a whole lake file: the order columns in the order of enriched.ts, one row per order', async (t) => {
  const file = written(t, ORDER_COLUMNS, FIXTURE_ORDERS)
  const described = await query(file, 'DESCRIBE f')
  t.deepEqual(
    described.map((c) => c.column_name),
    ORDER_COLUMNS.map((c) => c.name),
  )
  const [summary] = await query(
    file,
    'SELECT count(*) AS n, sum(amount_cents) AS cents, count(source_file) AS with_file, ' +
      'max(expected_delivery_date) AS latest_due, min(processed_at) AS first FROM f',
  )
  t.deepEqual(summary, {
    n: '10',
    cents: '221500',
    with_file: '9',
    latest_due: '2026-01-08',
    first: '2026-01-06 11:15:00.25+00',
  })
})

test('no rows make a valid file with the columns and no row', async (t) => {
  const file = written(t, EVERY_TYPE, [])
  const [count] = await query(file, 'SELECT count(*) AS n FROM f')
  t.is(count?.n, '0')
  t.is((await query(file, 'DESCRIBE f')).length, EVERY_TYPE.length)
})

const refuses = test.macro((t, column: Column, value: unknown, message: RegExp) => {
  const error = t.throws(() => toParquet([column], [{ [column.name]: null }, { [column.name]: value }]), {
    instanceOf: TypeError,
  })
  t.regex(error?.message ?? '', message)
})

test(
  'a string column refuses a number',
  refuses,
  EVERY_TYPE[0],
  42,
  /row 1, column a_string \(string\): expected a string, got 42/,
)
test(
  'a bigint column refuses a fraction',
  refuses,
  EVERY_TYPE[1],
  1.5,
  /column a_bigint \(bigint\): expected a safe integer/,
)
test('a bigint column refuses digits in a string', refuses, EVERY_TYPE[1], '12', /expected a safe integer, got "12"/)
test('an int column refuses 2^31', refuses, EVERY_TYPE[2], 2 ** 31, /expected a 32-bit integer, got 2147483648/)
test('a double column refuses NaN', refuses, EVERY_TYPE[3], Number.NaN, /expected a finite number/)
test('a boolean column refuses "true"', refuses, EVERY_TYPE[4], 'true', /expected a boolean, got "true"/)
test('a timestamp needs its zone', refuses, EVERY_TYPE[5], '2026-01-07T10:00:00', /expected an ISO 8601 date-time/)
test('a timestamp is not a date', refuses, EVERY_TYPE[5], '2026-01-07', /expected an ISO 8601 date-time/)
test('a date must exist', refuses, EVERY_TYPE[6], '2026-02-30', /column a_date \(date\): expected a date YYYY-MM-DD/)
test('a date is not a timestamp', refuses, EVERY_TYPE[6], '2026-01-07T00:00:00Z', /expected a date YYYY-MM-DD/)

test('columns must be given once each', (t) => {
  t.throws(() => toParquet([], []), { instanceOf: TypeError, message: /no columns/ })
  t.throws(() => toParquet([EVERY_TYPE[0], EVERY_TYPE[0]], []), { instanceOf: TypeError, message: /appears twice/ })
})
