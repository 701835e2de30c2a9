/**
 * The named queries, run by DuckDB over the fixture lake (test/helpers/lake.ts: ten orders over two days, written
 * with toParquet, and three intake reports): each returns the figures worked out by hand from the fixture's rows.
 * Also: the files are the one source of the queries, the views are the Glue tables' columns and types, and a table
 * without files is empty rather than an error.
 */
import anyTest, { type TestFn } from 'ava'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { ITEM_COLUMNS, ORDER_COLUMNS, PARTITION_COLUMNS, partitionPath } from '../../../lib/lake/enriched.ts'
import { toParquet } from '../../../lib/lake/parquet.ts'
import {
  NAMED_QUERIES,
  descriptionOf,
  filesOf,
  loadNamedQueries,
  namedQuery,
  runQuery,
  tablesOf,
} from '../../../lib/lake/queries.ts'
import { REPORT_COLUMNS } from '../../../lib/lake/reports.ts'
import { RAW_COLUMNS, RAW_PARTITION_COLUMNS } from '../../../lib/lake/raw.ts'
import { generateFile, rawKey } from '../../../lib/lake/generate.ts'
import { gzipSync } from 'node:zlib'
import { tempDir } from '../../helpers/fixtures.ts'
import { FIXTURE_ITEMS, FIXTURE_ORDERS, writeFixtureLake } from '../../helpers/lake.ts'

const test = anyTest as TestFn<{ dir: string }>

test.before((t) => {
  t.context.dir = mkdtempSync(join(tmpdir(), 'lake-queries-'))
  writeFixtureLake(t.context.dir)
})
test.after.always((t) => rmSync(t.context.dir, { recursive: true, force: true }))

const run = async (dir: string, name: string) => (await runQuery(namedQuery(name).sql, dir)).rows

test('there is one named query per question, each from its .sql file with a description', (t) => {
  t.deepEqual(
    NAMED_QUERIES.map((q) => q.name),
    [
      'delivery-priority-mix',
      'orders-per-day',
      'pending-stock-per-day',
      'rejections-per-file',
      'revenue-by-segment',
      'top-products',
    ],
  )
  for (const q of NAMED_QUERIES) {
    t.regex(q.description, /^[A-Z][^:]+: .{40,}\.$/, `${q.name}`)
    t.true(q.description.length <= 1024, `${q.name}: Athena's limit for a description`)
    t.regex(q.sql, /^--/, `${q.name}`)
  }
  t.is(descriptionOf('-- One.\n--   Two.\nSELECT 1\n-- not this'), 'One. Two.')
})

test('an unknown query name is refused with the known names', (t) => {
  const error = t.throws(() => namedQuery('revenue'))
  t.regex(
    error?.message ?? '',
    /no named query "revenue" \(known: delivery-priority-mix, orders-per-day, .*top-products\)/,
  )
})

test('a .sql file without its description comment is refused', (t) => {
  const dir = tempDir(t, 'queries-')
  writeFileSync(join(dir, 'bare.sql'), 'SELECT 1\n')
  t.throws(() => loadNamedQueries(dir), { message: /bare\.sql: no description/ })
})

test('each query names the tables it reads', (t) => {
  t.deepEqual(tablesOf(namedQuery('orders-per-day').sql), ['processed_orders'])
  t.deepEqual(tablesOf(namedQuery('top-products').sql), ['processed_items'])
  t.deepEqual(tablesOf(namedQuery('rejections-per-file').sql), ['intake_reports'])
  t.deepEqual(tablesOf('SELECT * FROM processed_orders o JOIN processed_items i USING (order_id)'), [
    'processed_orders',
    'processed_items',
  ])
})

test('orders-per-day: orders, units and revenue for each day and currency', async (t) => {
  t.deepEqual(await run(t.context.dir, 'orders-per-day'), [
    {
      processed_day: '2026-01-06',
      currency: 'EUR',
      orders: 4,
      units: 11,
      revenue_cents: 168500,
      revenue: 1685,
      average_order: 421.25,
    },
    {
      processed_day: '2026-01-07',
      currency: 'EUR',
      orders: 5,
      units: 14,
      revenue_cents: 47000,
      revenue: 470,
      average_order: 94,
    },
    {
      processed_day: '2026-01-07',
      currency: 'USD',
      orders: 1,
      units: 3,
      revenue_cents: 6000,
      revenue: 60,
      average_order: 60,
    },
  ])
})

test('revenue-by-segment: vip first with 69.6 % of the EUR revenue, customers counted once', async (t) => {
  const rows = await run(t.context.dir, 'revenue-by-segment')
  t.deepEqual(
    rows.map((r) => [r.segment, r.currency, r.orders, r.customers, r.revenue_cents, r.revenue_pct, r.average_order]),
    [
      ['vip', 'EUR', 1, 1, 150000, 69.6, 1500],
      ['returning', 'EUR', 3, 3, 39000, 18.1, 130],
      ['new', 'EUR', 4, 4, 18500, 8.6, 46.25],
      ['loyal', 'EUR', 1, 1, 8000, 3.7, 80],
      ['new', 'USD', 1, 1, 6000, 100, 60],
    ],
  )
})

test('top-products: C sells the most units, D the most revenue, ties broken by revenue', async (t) => {
  const rows = await run(t.context.dir, 'top-products')
  t.deepEqual(
    rows.map((r) => [r.sku, r.category, r.currency, r.units, r.orders, r.revenue_cents, r.units_rank, r.revenue_rank]),
    [
      ['C', 'garden', 'EUR', 8, 4, 16000, 1, 4],
      ['A', 'books', 'EUR', 7, 5, 17500, 2, 3],
      ['D', 'electronics', 'EUR', 5, 1, 150000, 3, 1],
      ['B', 'toys', 'EUR', 3, 2, 21000, 4, 2],
      ['C', 'garden', 'USD', 3, 1, 6000, 4, 1],
      ['E', 'toys', 'EUR', 2, 2, 11000, 6, 5],
    ],
  )
  t.is(rows[0]?.revenue, 160)
})

test('delivery-priority-mix: the four priorities in order, their shares adding up to 100 %', async (t) => {
  const rows = await run(t.context.dir, 'delivery-priority-mix')
  t.deepEqual(rows, [
    { priority: 'urgent', orders: 2, orders_pct: 20, units: 5, average_shipping: 10 },
    { priority: 'high', orders: 2, orders_pct: 20, units: 8, average_shipping: 5 },
    { priority: 'normal', orders: 4, orders_pct: 40, units: 11, average_shipping: 4.25 },
    { priority: 'low', orders: 2, orders_pct: 20, units: 4, average_shipping: 1.5 },
  ])
})

test('pending-stock-per-day: 1 of 4 orders pending on the 6th, 2 of 6 on the 7th', async (t) => {
  t.deepEqual(await run(t.context.dir, 'pending-stock-per-day'), [
    { processed_day: '2026-01-06', orders: 4, pending_orders: 1, pending_pct: 25, pending_lines: 1 },
    { processed_day: '2026-01-07', orders: 6, pending_orders: 2, pending_pct: 33.3, pending_lines: 3 },
  ])
})

test('rejections-per-file: each reason of each file with rejects, from the pretty-printed reports', async (t) => {
  t.deepEqual(await run(t.context.dir, 'rejections-per-file'), [
    {
      file_key: 'orders/2026-01-06.jsonl',
      reason: 'ValidationError:required',
      orders: 2,
      file_accepted: 4,
      file_rejected: 3,
      orders_pct: 28.6,
    },
    {
      file_key: 'orders/2026-01-06.jsonl',
      reason: 'SyntaxError',
      orders: 1,
      file_accepted: 4,
      file_rejected: 3,
      orders_pct: 14.3,
    },
    {
      file_key: 'raw/year=2026/month=01/day=07/orders.jsonl.gz',
      reason: 'ConflictError',
      orders: 1,
      file_accepted: 6,
      file_rejected: 1,
      orders_pct: 14.3,
    },
  ])
})

test('the views have the Glue tables columns, in order, with the types Athena gives them', async (t) => {
  const duck = { string: 'VARCHAR', bigint: 'BIGINT', int: 'INTEGER', timestamp: 'TIMESTAMP', date: 'DATE' }
  for (const [table, columns] of [
    ['processed_orders', [...ORDER_COLUMNS, ...PARTITION_COLUMNS]],
    ['processed_items', [...ITEM_COLUMNS, ...PARTITION_COLUMNS]],
  ] as const) {
    const { rows } = await runQuery(`DESCRIBE ${table}`, t.context.dir)
    t.deepEqual(
      rows.map((r) => `${String(r.column_name)} ${String(r.column_type)}`),
      columns.map((c) => `${c.name} ${duck[c.type as keyof typeof duck]}`),
      `${table}`,
    )
  }
  const { rows } = await runQuery('DESCRIBE intake_reports', t.context.dir)
  t.deepEqual(
    rows.map((r) => r.column_name),
    REPORT_COLUMNS.map((c) => c.name),
  )
  const [partitions] = (await runQuery('SELECT min(year || month || day) AS first FROM processed_items', t.context.dir))
    .rows
  t.is(partitions?.first, '20260106', `the partition values keep their leading zeros, as strings`)
})

test('raw_orders reads every line of the JSONL files under raw/, gzipped or not, as one string with its day', async (t) => {
  const dir = tempDir(t, 'lake-raw-')
  const { body, summary } = generateFile({ orders: 200, seed: 3, date: '2026-01-07', invalidRate: 0.1 })
  const plain = join(dir, rawKey('2026-01-07', 'plain'))
  mkdirSync(dirname(plain), { recursive: true })
  writeFileSync(plain, body)
  const zipped = join(dir, `${rawKey('2026-01-08', 'zipped')}.gz`)
  mkdirSync(dirname(zipped), { recursive: true })
  writeFileSync(
    zipped,
    gzipSync('{"order_id": "Z-1", "amount": 10, "note": "a,b;\\"c\\"|"}\n\n["not", "an", "order"]\n'),
  )
  writeFileSync(join(dirname(zipped), 'notes.txt'), 'not a table file\n')
  // Act
  const { rows } = await runQuery(
    `SELECT year || '-' || month || '-' || day AS day, count(*) AS lines,
       count(json_extract_scalar(line, '$.order_id')) AS with_id,
       count(*) FILTER (WHERE line = '') AS empty
     FROM raw_orders GROUP BY 1 ORDER BY 1`,
    dir,
  )
  const { rows: one } = await runQuery(
    "SELECT line, json_extract_scalar(line, '$.note') AS note, json_extract_scalar(line, '$.amount') AS amount FROM raw_orders WHERE json_extract_scalar(line, '$.order_id') = 'Z-1'",
    dir,
  )
  const { rows: columns } = await runQuery('DESCRIBE raw_orders', dir)
  // Assess
  // The lines that carry an order id (API-dialect orders get theirs from the validator; broken lines have none).
  const withId = body
    .trimEnd()
    .split('\n')
    .filter((line) => {
      try {
        return typeof (JSON.parse(line) as { order_id?: unknown }).order_id === 'string'
      } catch {
        return false
      }
    }).length
  t.true(summary.invalidByKind.malformed_json > 0, 'the file has lines that are not JSON')
  t.deepEqual(rows, [
    { day: '2026-01-07', lines: 200, with_id: withId, empty: 0 },
    { day: '2026-01-08', lines: 3, with_id: 1, empty: 1 },
  ])
  t.deepEqual(one, [
    { line: '{"order_id": "Z-1", "amount": 10, "note": "a,b;\\"c\\"|"}', note: 'a,b;"c"|', amount: '10' },
  ])
  t.deepEqual(
    columns.map((r) => `${String(r.column_name)} ${String(r.column_type)}`),
    [...RAW_COLUMNS, ...RAW_PARTITION_COLUMNS].map((c) => `${c.name} VARCHAR`),
  )
  t.deepEqual(filesOf(dir, 'raw_orders').sort(), [
    'raw/year=2026/month=01/day=07/plain.jsonl',
    'raw/year=2026/month=01/day=08/zipped.jsonl.gz',
  ])
})

test("json_extract_scalar answers as Athena's: scalars as text, NULL for objects, arrays and lines that are not JSON", async (t) => {
  const { rows } = await runQuery(
    `SELECT json_extract_scalar('{"a": {"b": 3}}', '$.a.b') AS nested, json_extract_scalar('{"a": {"b": 3}}', '$.a') AS object,
       json_extract_scalar('{"a": [1, 2]}', '$.a') AS array, json_extract_scalar('{broken', '$.a') AS broken,
       json_extract_scalar('{"a": true}', '$.a') AS bool, json_extract_scalar('{"a": 1}', '$.missing') AS missing`,
    tempDir(t, 'lake-json-'),
  )
  t.deepEqual(rows, [{ nested: '3', object: null, array: null, broken: null, bool: 'true', missing: null }])
})

test('timestamps read as UTC wall-clock times, as Athena reads them', async (t) => {
  const { rows, columns } = await runQuery(
    "SELECT processed_at, expected_delivery_date FROM processed_orders WHERE order_id = 'O9'",
    t.context.dir,
  )
  t.deepEqual(rows, [{ processed_at: '2026-01-07 19:15:00.25', expected_delivery_date: '2026-01-08' }])
  t.deepEqual(
    columns.map((c) => c.type),
    ['TIMESTAMP', 'DATE'],
  )
})

test('a table without files is an empty view with its columns, and filesOf says so', async (t) => {
  const dir = tempDir(t, 'lake-empty-')
  t.deepEqual(filesOf(dir, 'processed_orders'), [])
  const { rows } = await runQuery(namedQuery('orders-per-day').sql, dir)
  t.is(rows.length, 0)
  const { rows: reasons } = await runQuery(namedQuery('rejections-per-file').sql, dir)
  t.is(reasons.length, 0)
  t.is(filesOf(t.context.dir, 'processed_orders').length, 3)
  t.is(filesOf(t.context.dir, 'intake_reports').length, 3)
})

test('a row exported twice (a split stream batch) is counted once by every query', async (t) => {
  // Prepare: the fixture lake, plus a second file holding copies of two orders and their lines
  const dir = tempDir(t, 'lake-twice-')
  writeFixtureLake(dir)
  const before = await Promise.all(NAMED_QUERIES.map(async (q) => run(dir, q.name)))
  const copies = FIXTURE_ORDERS.slice(0, 2)
  const lines = FIXTURE_ITEMS.filter((i) => copies.some((o) => o.order_id === i.order_id))
  for (const [table, columns, rows] of [
    ['orders', ORDER_COLUMNS, copies],
    ['items', ITEM_COLUMNS, lines],
  ] as const) {
    const days = new Map<string, Record<string, unknown>[]>()
    for (const row of rows as { processed_at: string | null }[]) {
      const day = row.processed_at!.slice(0, 10)
      days.set(day, [...(days.get(day) ?? []), row])
    }
    for (const [day, group] of days) {
      const file = join(dir, partitionPath(table, `${day}T00:00:00Z`), 'part-copy.parquet')
      mkdirSync(dirname(file), { recursive: true })
      writeFileSync(file, toParquet(columns, group))
    }
  }
  // Act
  const after = await Promise.all(NAMED_QUERIES.map(async (q) => run(dir, q.name)))
  // Assess
  t.true(lines.length > 0)
  NAMED_QUERIES.forEach((q, i) => t.deepEqual(after[i], before[i], `${q.name}: the same figures`))
})
