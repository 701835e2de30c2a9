/**
 * npm run generate: --out writes the generator's bytes under DIR/raw/year=/month=/day=/, --to uploads them to the
 * intake bucket (moto; streamed, in parts above 5 MB), and bad options are refused with a message naming them.
 */
import anyTest, { type TestFn } from 'ava'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { generateFile } from '../../lib/lake/generate.ts'
import { program, s3Target } from '../../scripts/generate.ts'
import { runCommand } from '../helpers/cli.ts'
import { tempDir } from '../helpers/fixtures.ts'
import { createResources, useMoto, type Clients, type Moto } from '../helpers/moto.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients }>
useMoto(test)

const root = new URL('../../', import.meta.url).pathname
/** In-process (runCommand swaps console.log: the tests that read the output run one at a time). */
const generate = async (...args: string[]) => runCommand(program, args)

test.serial(
  '--out writes DIR/raw/year=/month=/day=/orders-<seed>-<date>.jsonl: the generator of those options, counted',
  async (t) => {
    // Prepare
    const dir = tempDir(t, 'generate-out-')
    const options = { orders: 3000, seed: 5, date: '2026-01-07', invalidRate: 0.1, duplicateRate: 0.05 }
    // Act
    const out = await generate(
      ...['--orders', '3000', '--seed', '5', '--date', '2026-01-07'],
      ...['--invalid-rate', '0.1', '--duplicate-rate', '0.05', '--out', dir],
    )
    // Assess
    const path = join(dir, 'raw/year=2026/month=01/day=07/orders-5-2026-01-07.jsonl')
    const expected = generateFile(options)
    t.is(readFileSync(path, 'utf8'), expected.body)
    const s = expected.summary
    const n = (v: number) => v.toLocaleString('en-US')
    t.regex(out, new RegExp(`^wrote ${path}\n`))
    t.regex(
      out,
      new RegExp(`^${n(3000)} orders: ${n(s.valid)} valid, ${s.invalid} invalid \\(negative_amount \\d+, `, 'm'),
    )
    t.regex(out, new RegExp(`, ${s.duplicates} duplicates; ${n(s.bytes)} bytes$`))
    t.true(s.invalid > 0 && s.duplicates > 0, `${s.invalid} invalid, ${s.duplicates} duplicates`)
  },
)

test.serial('--json says what was written, and --dialects narrows the dialects', async (t) => {
  // Prepare
  const dir = tempDir(t, 'generate-json-')
  // Act
  const out = await generate('--orders', '50', '--date', '2026-06-30', '--dialects', 'rich', '--out', dir, '--json')
  // Assess
  const report = JSON.parse(out) as { path: string; orders: number; valid: number; bytes: number; seed: number }
  t.like(report, { orders: 50, valid: 50, seed: 1 })
  t.is(report.path, join(dir, 'raw/year=2026/month=06/day=30/orders-1-2026-06-30.jsonl'))
  const lines = readFileSync(report.path, 'utf8').trimEnd().split('\n')
  t.is(lines.length, 50)
  t.true(
    lines.every((l) => 'order_date' in (JSON.parse(l) as object)),
    `rich orders only`,
  )
  t.is(Buffer.byteLength(readFileSync(report.path)), report.bytes)
})

test.serial(
  '--to uploads the file to the key under the bucket and prefix (streamed: 10,000 orders go in parts)',
  async (t) => {
    // Prepare
    const { moto, clients } = t.context
    const r = await createResources(clients, 'generate')
    // Act
    const out = await generate(
      ...['--orders', '10000', '--seed', '9', '--date', '2026-01-08', '--duplicate-rate', '0.02'],
      ...['--to', `s3://${r.bucket}/raw/`, '--endpoint', moto.endpoint],
    )
    // Assess
    const key = 'raw/year=2026/month=01/day=08/orders-9-2026-01-08.jsonl'
    t.regex(out, new RegExp(`^wrote s3://${r.bucket}/${key}\n10,000 orders: `))
    const object = await clients.s3.send(new GetObjectCommand({ Bucket: r.bucket, Key: key }))
    const expected = generateFile({ orders: 10000, seed: 9, date: '2026-01-08', duplicateRate: 0.02 }).body
    t.true(Buffer.byteLength(expected) > 5 * 1024 * 1024, `more than one 5 MB part`)
    t.is(await object.Body!.transformToString(), expected)
  },
)

const refused = test.macro({
  async exec(t, args: string[], message: RegExp) {
    const err = await t.throwsAsync(generate(...args))
    t.regex(err?.message ?? '', message)
  },
  title: (_provided, args: string[]) => `refuses ${args.join(' ')}, naming the option`,
})
test(
  refused,
  ['--orders', '10', '--invalid-rate', '2', '--out', '.'],
  /^--invalid-rate must be a number from 0 to 1, got "2"/,
)
test(
  refused,
  ['--orders', '10', '--duplicate-rate', '-1', '--out', '.'],
  /^--duplicate-rate must be a number from 0 to 1/,
)
test(refused, ['--orders', '10', '--date', '2026-02-30', '--out', '.'], /^--date must be a calendar date YYYY-MM-DD/)
test(refused, ['--orders', '10', '--dialects', 'canonical,xml', '--out', '.'], /^--dialects: unknown dialect "xml"/)
test(refused, ['--orders', '0', '--out', '.'], /^--orders must be at least 1/)
test(refused, ['--orders', 'many', '--out', '.'], /^--orders must be a whole number/)
test(refused, ['--orders', '10', '--seed', '-3', '--out', '.'], /^--seed must be a whole number from 0 to 4294967295/)
test(refused, ['--out', '.'], /^--orders is required/)
test(refused, ['--orders', '10'], /--out DIR .* or --to s3:\/\/BUCKET\/raw\//)
test(refused, ['--orders', '10', '--out', '.', '--to', 's3://bucket/raw/'], /^give --out or --to, not both/)
test(refused, ['--orders', '10', '--to', 'https://bucket/raw/'], /^--to must be s3:\/\/BUCKET\/PREFIX\//)
test(refused, ['--orders', '10', '--out', 'reports/../../etc'], /^--out must not contain a "\.\." segment/)
test(refused, ['--orders', '10', '--to', 's3://bucket/reports/'], /^--to must be under orders\/ or raw\//)
test(
  refused,
  ['--orders', '10', '--invalid-rate', '0.6', '--duplicate-rate', '0.5', '--out', '.'],
  /^--invalid-rate \+ --duplicate-rate must be at most 1/,
)
test(
  refused,
  ['--orders', '10', '--dialects', 'api', '--duplicate-rate', '0.1', '--out', '.'],
  /^--duplicate-rate needs --dialects with canonical or rich/,
)

test('s3Target reads the bucket and the key prefix, raw/ when none is given', (t) => {
  t.deepEqual(s3Target('s3://tp-orders-intake/raw/'), { bucket: 'tp-orders-intake', prefix: 'raw/' })
  t.deepEqual(s3Target('s3://tp-orders-intake/orders/2026'), { bucket: 'tp-orders-intake', prefix: 'orders/2026/' })
  t.deepEqual(s3Target('s3://tp-orders-intake'), { bucket: 'tp-orders-intake', prefix: 'raw/' })
  t.throws(() => s3Target('s3://UPPER/raw/'), { message: /^--to must be/ })
})

test('s3Target refuses a prefix outside the intake prefixes, or one that climbs or starts with a slash', (t) => {
  t.throws(() => s3Target('s3://tp-orders-intake/lake'), { message: /^--to must be under orders\/ or raw\// })
  t.throws(() => s3Target('s3://tp-orders-intake/reports/'), { message: /^--to must be under orders\/ or raw\// })
  t.throws(() => s3Target('s3://tp-orders-intake/raw/../reports/'), {
    message: /^--to must not contain a "\." or "\.\." segment/,
  })
  t.throws(() => s3Target('s3://tp-orders-intake//raw/'), { message: /^--to must not start with "\/"/ })
  t.throws(() => s3Target('s3://tp-orders-intake/raw/a\nb/'), { message: /^--to must not contain control characters/ })
})

test('npm run generate: --help shows examples, and a bad option exits 1 with one line naming it', async (t) => {
  const cli = (...args: string[]) =>
    promisify(execFile)('npx', ['tsx', 'scripts/generate.ts', ...args], { cwd: root }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    )
  const [help, bad] = await Promise.all([cli('--help'), cli('--orders', '5', '--invalid-rate', '1.5', '--out', '.')])
  t.is(help.code, 0)
  t.regex(help.stdout, /Examples:\n {2}npm run generate -- --orders 1000 --out /)
  t.regex(help.stdout, /--to <s3url>/)
  t.is(bad.code, 1)
  t.is(bad.stderr.trim(), 'generate: --invalid-rate must be a number from 0 to 1, got "1.5"')
})
