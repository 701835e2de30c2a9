/**
 * The user commands refuse paths, S3 keys and ids outside what they should read or write (scripts/ops/paths.ts):
 * one line naming the option and the rule, exit code 1 through `run`, before any file or AWS call; ordinary values
 * pass unchanged (local paths resolved).
 */
import test from 'ava'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import type { Command } from 'commander'
import { run } from '../../scripts/cli.ts'
import { program as consoleCommand } from '../../scripts/console.ts'
import { program as generate } from '../../scripts/generate.ts'
import { program as logs } from '../../scripts/logs.ts'
import {
  intakeKey,
  intakePrefix,
  lambdaName,
  localPath,
  orderId,
  S3_KEY_MAX_BYTES,
  shown,
  sku,
} from '../../scripts/ops/paths.ts'
import { program as query } from '../../scripts/query.ts'
import { program as redrive } from '../../scripts/redrive.ts'
import { program as report } from '../../scripts/report.ts'
import { program as status } from '../../scripts/status.ts'
import { program as stock } from '../../scripts/stock.ts'
import { tempDir } from '../helpers/fixtures.ts'

const root = new URL('../../', import.meta.url).pathname
/** Nothing answers here: a command that got past its checks fails on the connection, not on a check. */
const nowhere = ['--endpoint', 'http://127.0.0.1:9', '--region', 'eu-west-3']

// ---------------------------------------------------------------------------------------------------------------
// The checks

test('a local path with a ".." segment is refused, naming the option and where it would land', (t) => {
  t.throws(() => localPath('--out', 'reports/../../etc'), {
    message: `--out must not contain a ".." segment (a path that climbs out of the folder it names), got "reports/../../etc", which resolves to "${resolve('reports/../../etc')}"`,
  })
  for (const hostile of ['..', '../x', 'a/..', '/tmp/../etc', 'a\\..\\..\\b', 'a/b/../../../c'])
    t.throws(() => localPath('--write-form', hostile), { message: /^--write-form must not contain a "\.\." segment/ })
})

test('a local path with a NUL character, or an empty one, is refused', (t) => {
  t.throws(() => localPath('--dir', 'lake\0/x'), {
    message: '--dir must not contain a NUL character, got "lake\\u0000/x"',
  })
  t.throws(() => localPath('--log-dir', ''), { message: '--log-dir must be a path, got ""' })
})

test('an ordinary local path passes, resolved; an absolute one stands as typed', (t) => {
  t.is(localPath('--out', '.build/lake'), resolve('.build/lake'))
  t.is(localPath('--out', '/srv/site/order'), '/srv/site/order')
  t.is(localPath('--out', './a//b/.'), resolve('a/b'))
  t.is(localPath('--out', 'reports/..x/y..'), resolve('reports/..x/y..'), 'dots inside a name are a name')
})

test('an S3 key outside orders/ and raw/, or of a bad shape, is refused with the rule it breaks', (t) => {
  const refused = (key: string, message: RegExp) =>
    t.throws(() => intakeKey('<key>', key), { message }, `the key ${JSON.stringify(key)}`)
  refused('reports/orders/a.jsonl.json', /^<key> must be under orders\/ or raw\/ \(the intake prefixes\), got "reports/)
  refused('processed/orders/year=2026/part.parquet', /^<key> must be under orders\/ or raw\//)
  refused('orders/', /^<key> must be under orders\/ or raw\//)
  refused('', /^<key> must be under orders\/ or raw\//)
  refused('orders/../reports/x.json', /^<key> must not contain a "\." or "\.\." segment, got "orders\/\.\.\/reports/)
  refused('raw/./a.jsonl', /^<key> must not contain a "\." or "\.\." segment/)
  refused('/orders/a.jsonl', /^<key> must not start with "\/", got/)
  refused('orders\\..\\reports\\x', /^<key> must not contain a backslash, got "orders\\\\\.\.\\\\/)
  refused('orders/a\nb.jsonl', /^<key> must not contain control characters, got "orders\/a\\u000ab\.jsonl"$/)
  refused('orders/a\u0085b.jsonl', /^<key> must not contain control characters/)
  refused('orders/\0', /^<key> must not contain control characters/)
  refused(`orders/${'a'.repeat(S3_KEY_MAX_BYTES)}`, /^<key> must be at most 1024 bytes \(S3's limit\), got 1031 bytes$/)
  // Bytes, not characters: 607 characters, 1,207 bytes.
  refused(`orders/${'é'.repeat(600)}`, /^<key> must be at most 1024 bytes \(S3's limit\), got 1207 bytes$/)
})

test('an ordinary order file key passes as it is', (t) => {
  for (const key of [
    'orders/2026-01-07.jsonl',
    'orders/lot de commandes été.jsonl',
    'raw/year=2026/month=12/day=01/orders-0001.jsonl.gz',
    'orders/..hidden/a..b.json',
    `orders/${'a'.repeat(S3_KEY_MAX_BYTES - 'orders/'.length)}`,
  ])
    t.is(intakeKey('<key>', key), key)
})

test('a key prefix must be an intake prefix or a folder under one, ending in a slash', (t) => {
  t.is(intakePrefix('--to', 'raw/'), 'raw/')
  t.is(intakePrefix('--to', 'orders/2026/'), 'orders/2026/')
  t.throws(() => intakePrefix('--to', 'lake/'), { message: /^--to must be under orders\/ or raw\// })
  t.throws(() => intakePrefix('--to', 'raw'), { message: '--to must end in a slash, got "raw"' })
  t.throws(() => intakePrefix('--to', 'raw/../reports/'), {
    message: /^--to must not contain a "\." or "\.\." segment/,
  })
})

test("order ids and SKUs follow the API's id pattern; function names Lambda's", (t) => {
  for (const id of ['ORD-1', 'o', 'ORD:2026#1/a.b_c-d', 'A'.repeat(64)]) t.is(orderId('--order-id', id), id)
  for (const hostile of ['', '-rf', '.hidden', 'ORD 1', 'ORD\n1', 'ORD;1', 'A'.repeat(65), "x' OR '1'='1"])
    t.throws(() => orderId('--order-id', hostile), {
      message:
        /^--order-id must be 1 to 64 letters, digits and \. _ : # \/ -, starting with a letter or digit \(an order id as the API takes it\), got /,
    })
  t.is(sku('sku', 'SKU-ELEC-001'), 'SKU-ELEC-001')
  t.throws(() => sku('sku', '../SKU'), {
    message: /^sku must be 1 to 64 letters, .*\(a SKU as the order schemas take it\), got "\.\.\/SKU"$/,
  })
  t.is(lambdaName('<function>', 'tp-order-worker'), 'tp-order-worker')
  t.throws(() => lambdaName('<function>', '../../etc/passwd'), {
    message: /^<function> must be a Lambda function name/,
  })
})

test('a refused value is quoted on one line: control characters escaped, a long value cut', (t) => {
  t.is(shown('a"b\\c\r\n\u2028'), '"a\\"b\\\\c\\u000d\\u000a\\u2028"')
  t.is(shown('x'.repeat(500)), `"${'x'.repeat(120)}…"`)
})

// ---------------------------------------------------------------------------------------------------------------
// The commands

/** Runs `program` in-process through `run`, as its script does: what it printed on stderr, and its exit code. */
const runScript = async (program: Command, args: string[]): Promise<{ stderr: string[]; exitCode: unknown }> => {
  const stderr: string[] = []
  const error = console.error
  const exitCode = process.exitCode
  console.error = (...parts: unknown[]) => {
    stderr.push(parts.join(' '))
  }
  try {
    await run(program, ['node', program.name(), ...args])
    return { stderr, exitCode: process.exitCode }
  } finally {
    console.error = error
    process.exitCode = exitCode
  }
}

const refuses = test.macro({
  async exec(t, program: Command, args: string[], message: RegExp) {
    const { stderr, exitCode } = await runScript(program, args)
    t.is(exitCode, 1)
    t.is(stderr.length, 1, `printed: ${stderr.join(' | ')}`)
    t.false(stderr[0]!.includes('\n'), 'one line')
    t.regex(stderr[0]!, message)
  },
  title: (_provided, program: Command, args: string[]) => `${program.name()} ${args.join(' ')}: refused, exit 1`,
})

// runScript swaps console.error and process.exitCode: these run one at a time.
test.serial(
  refuses,
  generate,
  ['--orders', '5', '--out', 'reports/../../etc'],
  /^generate: --out must not contain a "\.\." segment .*, got "reports\/\.\.\/\.\.\/etc", which resolves to "\/[^"]*etc"$/,
)
test.serial(
  refuses,
  generate,
  ['--orders', '5', '--to', 's3://tp-orders-intake/reports/'],
  /^generate: --to must be under orders\/ or raw\//,
)
test.serial(
  refuses,
  generate,
  ['--orders', '5', '--to', 's3://tp-orders-intake/raw/../reports/'],
  /^generate: --to must not contain a "\." or "\.\." segment/,
)
test.serial(
  refuses,
  generate,
  ['--orders', '5', '--to', 's3://tp-orders-intake//raw/'],
  /^generate: --to must not start with "\/"/,
)
test.serial(
  refuses,
  report,
  ['reports/orders/a.jsonl', ...nowhere],
  /^report: <key> must be under orders\/ or raw\/ \(the intake prefixes\), got "reports\/orders\/a\.jsonl"$/,
)
test.serial(
  refuses,
  report,
  ['orders/../reports/x', '--bucket', 'b', ...nowhere],
  /^report: <key> must not contain a "\." or "\.\." segment/,
)
test.serial(
  refuses,
  report,
  ['orders/a\u0007.jsonl', '--bucket', 'b', ...nowhere],
  /^report: <key> must not contain control characters, got "orders\/a\\u0007\.jsonl"$/,
)
test.serial(
  refuses,
  report,
  [`raw/${'k'.repeat(1100)}`, '--bucket', 'b', ...nowhere],
  /^report: <key> must be at most 1024 bytes/,
)
test.serial(
  refuses,
  redrive,
  ['--order-id', 'ORD-1', '../../x', ...nowhere],
  /^redrive: --order-id must be 1 to 64 letters, .*got "\.\.\/\.\.\/x"$/,
)
test.serial(
  refuses,
  stock,
  ['show', 'SKU-1', 'SKU 2', ...nowhere],
  /^stock: sku must be 1 to 64 letters, .*got "SKU 2"$/,
)
test.serial(
  refuses,
  logs,
  ['../../etc/passwd', '--endpoint', 'http://127.0.0.1:9'],
  /^logs: <function> must be a Lambda function name: .*got "\.\.\/\.\.\/etc\/passwd"$/,
)
test.serial(
  refuses,
  logs,
  ['worker', '--prefix', '../../tmp/x', '--endpoint', 'http://127.0.0.1:9'],
  /^logs: --prefix must be letters, digits, - and _ \(it makes the function name "\.\.\/\.\.\/tmp\/x-order-worker"\), got "\.\.\/\.\.\/tmp\/x"$/,
)
test.serial(
  refuses,
  logs,
  ['worker', '--log-dir', '.build/../../x', '--endpoint', 'http://127.0.0.1:9'],
  /^logs: --log-dir must not contain a "\.\." segment/,
)
test.serial(
  refuses,
  status,
  ['--log-dir', 'logs/../../x', ...nowhere],
  /^status: --log-dir must not contain a "\.\." segment/,
)
test.serial(
  refuses,
  consoleCommand,
  ['--write-form', 'site/../../x', ...nowhere],
  /^console: --write-form must not contain a "\.\." segment/,
)
test.serial(
  refuses,
  consoleCommand,
  ['--log-dir', 'a\0b', ...nowhere],
  /^console: --log-dir must not contain a NUL character/,
)
test.serial(
  refuses,
  query,
  ['--dir', 'lake/../../x', '--named', 'orders-per-day'],
  /^query: --dir must not contain a "\.\." segment/,
)

test.serial('generate --out with a ".." segment writes nothing, there or anywhere', async (t) => {
  const dir = tempDir(t, 'paths-out-')
  const { exitCode } = await runScript(generate, ['--orders', '3', '--out', `${dir}/a/../b`])
  t.is(exitCode, 1)
  t.false(existsSync(join(dir, 'b')))
  t.false(existsSync(join(dir, 'a')))
})

test.serial(
  'ordinary values pass the checks: the command goes on to its AWS call (here, to an endpoint nobody answers)',
  async (t) => {
    for (const [program, args] of [
      [report, ['orders/lot de commandes été.jsonl', '--bucket', 'tp-orders-intake', ...nowhere]],
      [redrive, ['--order-id', 'ORD-1', 'ORD:2026#7', ...nowhere]],
      [stock, ['show', 'SKU-ELEC-001', ...nowhere]],
    ] as const) {
      const { stderr, exitCode } = await runScript(program, [...args])
      t.is(exitCode, 1)
      t.regex(stderr[0] ?? '', /ECONNREFUSED|nothing answers at that address/, `${program.name()}: ${stderr[0]}`)
      t.notRegex(stderr[0] ?? '', / must (be|not)/)
    }
  },
)

test('the checked options keep every value given, in order', (t) => {
  const orderIds = redrive.options.find((o) => o.long === '--order-id')!
  t.deepEqual(orderIds.parseArg!('ORD-2', orderIds.parseArg!('ORD-1', undefined)), ['ORD-1', 'ORD-2'])
  const skus = stock.commands.find((c) => c.name() === 'show')!.registeredArguments[0]!
  t.deepEqual(skus.parseArg!('SKU-2', ['SKU-1']), ['SKU-1', 'SKU-2'])
})

test('npm run report with a key outside the intake prefixes exits 1 with one line on stderr', async (t) => {
  const result = await promisify(execFile)('npx', ['tsx', 'scripts/report.ts', 'reports/x.json', '--bucket', 'b'], {
    cwd: root,
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  )
  t.is(result.code, 1)
  t.is(result.stderr, 'report: <key> must be under orders/ or raw/ (the intake prefixes), got "reports/x.json"\n')
})
