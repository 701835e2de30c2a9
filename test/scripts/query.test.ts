/**
 * npm run query: over a local folder (--dir) it prints a table, JSON or CSV; against moto (--bucket, --endpoint)
 * it copies the objects the query reads into a temporary folder and runs there; wrong arguments, unknown names,
 * a missing stack and a bucket without data are refused with a message that says what is wrong.
 */
import anyTest, { type TestFn } from 'ava'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { copyTables, program } from '../../scripts/query.ts'
import { runCommand } from '../helpers/cli.ts'
import { tempDir } from '../helpers/fixtures.ts'
import { fixtureObjects, writeFixtureLake } from '../helpers/lake.ts'
import { createResources, useMoto, type Clients, type Moto } from '../helpers/moto.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients; dir: string }>
useMoto(test)

test.before((t) => {
  t.context.dir = mkdtempSync(join(tmpdir(), 'query-command-'))
  writeFixtureLake(t.context.dir)
})

/** The fixture lake in a moto bucket, made once (useMoto's hook runs beside the one above). */
let lakeBucket: Promise<string> | undefined
const bucketOf = (clients: Clients): Promise<string> =>
  (lakeBucket ??= (async () => {
    const { bucket } = await createResources(clients, 'qry')
    for (const [key, body] of fixtureObjects())
      await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))
    // Not the lake's: left where they are.
    await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'orders/today.jsonl', Body: '{}' }))
    await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'processed/orders/_SUCCESS', Body: 'ok' }))
    return bucket
  })())
test.after.always((t) => rmSync(t.context.dir, { recursive: true, force: true }))

const query = (args: string[]) => runCommand(program, args)

// The command prints through console.log, which runCommand captures: one at a time.

test.serial('--named with --dir prints the rows as a table with a header and a count', async (t) => {
  const printed = await query(['--named', 'orders-per-day', '--dir', t.context.dir])
  const lines = printed.split('\n')
  t.regex(lines[0]!, /^processed_day\s+currency\s+orders\s+units\s+revenue_cents\s+revenue\s+average_order$/)
  t.regex(lines[1]!, /^2026-01-06\s+EUR\s+4\s+11\s+168500\s+1685\s+421\.25$/)
  t.regex(lines[3]!, /^2026-01-07\s+USD\s+1\s+3\s+6000\s+60\s+60$/)
  t.is(lines[4], '(3 rows)')
})

test.serial('--json prints the rows as a JSON array, numbers as numbers', async (t) => {
  const printed = await query(['--named', 'pending-stock-per-day', '--dir', t.context.dir, '--json'])
  t.deepEqual(JSON.parse(printed), [
    { processed_day: '2026-01-06', orders: 4, pending_orders: 1, pending_pct: 25, pending_lines: 1 },
    { processed_day: '2026-01-07', orders: 6, pending_orders: 2, pending_pct: 33.3, pending_lines: 3 },
  ])
})

test.serial('--csv prints a header and a line per row, quoting what needs it', async (t) => {
  const printed = await query([
    '--dir',
    t.context.dir,
    '--csv',
    "SELECT sku, category || ', ' || currency AS label, NULL AS nothing FROM processed_items GROUP BY 1, 2 ORDER BY 1, 2 LIMIT 2",
  ])
  t.is(printed, 'sku,label,nothing\nA,"books, EUR",\nB,"toys, EUR",')
})

test.serial('SQL of your own reads the same tables; nested values print as JSON', async (t) => {
  const printed = await query([
    '--dir',
    t.context.dir,
    "SELECT key, rejected_by_reason FROM intake_reports WHERE key LIKE 'raw/%'",
  ])
  t.regex(
    printed,
    /^key\s+rejected_by_reason\nraw\/year=2026\/month=01\/day=07\/orders\.jsonl\.gz\s+\[\{"key":"ConflictError","value":1\}\]\n\(1 row\)$/,
  )
})

test.serial('--list prints every named query with its description', async (t) => {
  const printed = await query(['--list'])
  t.regex(printed, /^name\s+description\n/)
  for (const name of [
    'orders-per-day',
    'revenue-by-segment',
    'top-products',
    'delivery-priority-mix',
    'pending-stock-per-day',
    'rejections-per-file',
  ])
    t.regex(printed, new RegExp(`^${name}\\s+\\S`, 'm'), `${name}`)
  const listed = JSON.parse(await query(['--list', '--json'])) as { name: string; description: string }[]
  t.is(listed.length, 6)
  t.regex(listed[0]!.description, /^Delivery priority mix: /)
})

test.serial('an unknown query name is refused with the known ones', async (t) => {
  await t.throwsAsync(query(['--named', 'revenue', '--dir', t.context.dir]), {
    message:
      /no named query "revenue" \(known: delivery-priority-mix, orders-per-day, pending-stock-per-day, rejections-per-file, revenue-by-segment, top-products\)/,
  })
})

test.serial('arguments that contradict each other, or no query at all, are refused before any work', async (t) => {
  await t.throwsAsync(query(['--dir', t.context.dir]), { message: /give a query: --named NAME or "SQL" \(--list/ })
  await t.throwsAsync(query(['--named', 'orders-per-day', 'SELECT 1']), { message: /--named NAME or SQL, not both/ })
  await t.throwsAsync(query(['--named', 'orders-per-day', '--json', '--csv', '--dir', t.context.dir]), {
    message: /--json or --csv, not both/,
  })
  await t.throwsAsync(query(['--named', 'orders-per-day', '--dir', t.context.dir, '--bucket', 'b']), {
    message: /--dir or --bucket, not both/,
  })
})

test.serial('a folder without the data a query reads says which table is missing and where', async (t) => {
  const empty = tempDir(t, 'query-empty-')
  await t.throwsAsync(query(['--named', 'top-products', '--dir', empty]), {
    message: new RegExp(
      `^no processed_items data: no processed/items/\\*\\*/\\*\\.parquet in ${empty} \\(the exporter`,
    ),
  })
})

test.serial(
  'against the bucket: the objects the query reads are copied, queried, and the folder removed',
  async (t) => {
    const bucket = await bucketOf(t.context.clients)
    const before = readdirSync(tmpdir()).filter((f) => f.startsWith('npm-run-query-')).length
    const printed = await query([
      '--named',
      'top-products',
      '--json',
      '--bucket',
      bucket,
      '--endpoint',
      t.context.moto.endpoint,
    ])
    const rows = JSON.parse(printed) as Record<string, unknown>[]
    t.is(rows.length, 6)
    t.deepEqual(rows[0], {
      sku: 'C',
      category: 'garden',
      currency: 'EUR',
      units: 8,
      orders: 4,
      revenue_cents: 16000,
      revenue: 160,
      units_rank: 1,
      revenue_rank: 4,
    })
    t.is(
      readdirSync(tmpdir()).filter((f) => f.startsWith('npm-run-query-')).length,
      before,
      `the temporary folder is gone`,
    )
    const reasons = await query(['--named', 'rejections-per-file', '--bucket', bucket])
    t.regex(reasons, /^orders\/2026-01-06\.jsonl\s+ValidationError:required\s+2\s+4\s+3\s+28\.6$/m)
    t.regex(reasons, /\(3 rows\)$/)
  },
)

test.serial('copyTables copies only the tables asked for, at their keys, and only their files', async (t) => {
  const bucket = await bucketOf(t.context.clients)
  const dir = tempDir(t, 'query-copy-')
  const copied = await copyTables(t.context.clients.s3, bucket, ['processed_orders', 'intake_reports'], dir)
  t.is(copied.objects, 6)
  t.deepEqual(copied.byTable, { processed_orders: 3, intake_reports: 3 })
  const expected = [...fixtureObjects()]
    .filter(([key]) => key.startsWith('processed/orders/') || key.startsWith('reports/'))
    .reduce((sum, [, body]) => sum + Buffer.byteLength(body), 0)
  t.is(copied.bytes, expected)
  t.true(existsSync(join(dir, 'processed/orders/year=2026/month=01/day=07/part-1.parquet')))
  t.true(existsSync(join(dir, 'reports/raw/year=2026/month=01/day=07/orders.jsonl.gz.json')))
  t.false(existsSync(join(dir, 'processed/items')), `processed_items was not asked for`)
  t.false(existsSync(join(dir, 'processed/orders/_SUCCESS')), `not a Parquet file`)
  t.false(existsSync(join(dir, 'orders')), `not a lake prefix`)
})

test.serial('a bucket without processed/ data, a missing bucket and a missing stack are each named', async (t) => {
  const endpoint = t.context.moto.endpoint
  await t.context.clients.s3.send(
    new CreateBucketCommand({ Bucket: 'qry-empty', CreateBucketConfiguration: { LocationConstraint: 'eu-west-3' } }),
  )
  await t.throwsAsync(query(['--named', 'orders-per-day', '--bucket', 'qry-empty', '--endpoint', endpoint]), {
    message:
      /^no processed_orders data: no processed\/orders\/\*\*\/\*\.parquet in s3:\/\/qry-empty \(the exporter writes them\)$/,
  })
  await t.throwsAsync(query(['--named', 'orders-per-day', '--bucket', 'qry-none', '--endpoint', endpoint]), {
    message: /^bucket qry-none not found$/,
  })
  await t.throwsAsync(query(['--named', 'orders-per-day', '--prefix', 'nostack', '--endpoint', endpoint]), {
    message: /^stack nostack-order-pipeline not found \(or give --bucket, or --dir for a local folder\)$/,
  })
})
