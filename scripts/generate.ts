/**
 * npm run generate -- --orders N [--seed S] [--date YYYY-MM-DD] [--invalid-rate R] [--duplicate-rate R]
 *   [--dialects canonical,rich,api] (--out DIR | --to s3://BUCKET/raw/) [--endpoint URL] [--region R] [--json]
 * Writes one file of generated orders (lib/lake/generate.ts) under raw/year=YYYY/month=MM/day=DD/, to a folder or
 * to the intake bucket, streamed either way (the lines are generated as they are written), and says what it wrote.
 */
import { createWriteStream, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Upload } from '@aws-sdk/lib-storage'
import { SingleBar } from 'cli-progress'
import { Command, Option } from 'commander'
import { s3Client } from '../lib/aws/clients.ts'
import {
  countLine,
  emptySummary,
  fileName,
  generateLines,
  INVALID_KINDS,
  rawKey,
  type GenerationSummary,
} from '../lib/lake/generate.ts'
import { DIALECTS, type Dialect } from '../lib/orders/order.ts'
import { run } from './cli.ts'
import { intakeKey, intakePrefix, pathOption, shown } from './ops/paths.ts'

/** Above this many orders, a progress bar on stderr. */
export const PROGRESS_ABOVE = 100_000
/** Lines joined into one chunk of the stream: fewer, larger writes. */
const CHUNK_LINES = 500

interface Options {
  orders?: number
  seed: number
  date: string
  invalidRate: number
  duplicateRate: number
  dialects: Dialect[]
  out?: string
  to?: { bucket: string; prefix: string }
  region: string
  endpoint?: string
  json?: boolean
}

const wholeNumber = (name: string, max: number) => (text: string) => {
  const value = Number(text)
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value > max)
    throw new Error(`${name} must be a whole number from 0 to ${max}, got "${text}"`)
  return value
}
const positive = (name: string) => (text: string) => {
  const value = wholeNumber(name, Number.MAX_SAFE_INTEGER)(text)
  if (value < 1) throw new Error(`${name} must be at least 1, got "${text}"`)
  return value
}
const rate = (name: string) => (text: string) => {
  const value = Number(text)
  if (text.trim() === '' || !(value >= 0 && value <= 1))
    throw new Error(`${name} must be a number from 0 to 1, got "${text}"`)
  return value
}
const calendarDate = (text: string) => {
  const ms = Date.parse(`${text}T00:00:00Z`)
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== text)
    throw new Error(`--date must be a calendar date YYYY-MM-DD, got "${text}"`)
  return text
}
const dialectList = (text: string): Dialect[] => {
  const names = text.split(',').map((d) => d.trim())
  const unknown = names.filter((d) => !(DIALECTS as readonly string[]).includes(d))
  if (names.length === 0 || unknown.length > 0)
    throw new Error(`--dialects: unknown dialect "${unknown.join(',')}" (use some of ${DIALECTS.join(',')})`)
  return [...new Set(names)] as Dialect[]
}
/**
 * `s3://bucket/raw/` → bucket and key prefix (a slash added; `s3://bucket` alone: raw/). The prefix is an intake
 * prefix or a folder under one (ops/paths.ts intakePrefix): the file is an order file, which the validator reads.
 */
export const s3Target = (text: string): { bucket: string; prefix: string } => {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/s.exec(text)
  if (!match) throw new Error(`--to must be s3://BUCKET/PREFIX/, e.g. s3://tp-orders-intake-…/raw/, got ${shown(text)}`)
  const path = match[2] ?? ''
  const prefix = path === '' ? 'raw/' : path.endsWith('/') ? path : `${path}/`
  return { bucket: match[1]!, prefix: intakePrefix('--to', prefix) }
}

/** The file's lines as chunks of text, counted into `summary` as they go; `onLine` for the progress bar. */
async function* chunks(
  options: Parameters<typeof generateLines>[0],
  summary: GenerationSummary,
  onLines: (n: number) => void,
): AsyncGenerator<string> {
  let parts: string[] = []
  for (const line of generateLines(options)) {
    countLine(summary, line)
    parts.push(line.text)
    if (parts.length >= CHUNK_LINES) {
      yield `${parts.join('\n')}\n`
      onLines(parts.length)
      parts = []
    }
  }
  if (parts.length > 0) {
    yield `${parts.join('\n')}\n`
    onLines(parts.length)
  }
}

const describe = (summary: GenerationSummary): string => {
  const kinds = INVALID_KINDS.filter((k) => summary.invalidByKind[k] > 0)
    .map((k) => `${k} ${summary.invalidByKind[k].toLocaleString('en-US')}`)
    .join(', ')
  const n = (v: number) => v.toLocaleString('en-US')
  return (
    `${n(summary.orders)} orders: ${n(summary.valid)} valid, ${n(summary.invalid)} invalid${kinds ? ` (${kinds})` : ''}, ` +
    `${n(summary.duplicates)} duplicates; ${n(summary.bytes)} bytes`
  )
}

const today = (): string => new Date().toISOString().slice(0, 10)

const program = new Command('generate')
  .description(
    'Write one file of generated orders (JSONL, the three dialects) under raw/year=YYYY/month=MM/day=DD/, to a folder ' +
      'or to the intake bucket. The same options give the same bytes.',
  )
  .addOption(new Option('--orders <n>', 'lines to write (every kind included)').argParser(positive('--orders')))
  .addOption(
    new Option('--seed <s>', 'the seed (0 to 4294967295)').default(1).argParser(wholeNumber('--seed', 0xffff_ffff)),
  )
  .addOption(
    new Option('--date <YYYY-MM-DD>', 'the day the orders are placed (UTC)')
      .default(today(), 'today')
      .argParser(calendarDate),
  )
  .addOption(
    new Option('--invalid-rate <r>', 'share of lines made invalid on purpose (0 to 1)')
      .default(0)
      .argParser(rate('--invalid-rate')),
  )
  .addOption(
    new Option('--duplicate-rate <r>', 'share of lines that repeat an earlier canonical or rich line (0 to 1)')
      .default(0)
      .argParser(rate('--duplicate-rate')),
  )
  .addOption(
    new Option('--dialects <list>', 'comma-separated: canonical, rich, api')
      .default([...DIALECTS], DIALECTS.join(','))
      .argParser(dialectList),
  )
  .addOption(
    new Option(
      '--out <dir>',
      'write DIR/raw/year=…/month=…/day=…/orders-<seed>-<date>.jsonl (no ".." in DIR)',
    ).argParser(pathOption('--out')),
  )
  .addOption(
    new Option(
      '--to <s3url>',
      'upload to s3://BUCKET/PREFIX/year=…/…/orders-<seed>-<date>.jsonl (PREFIX under orders/ or raw/)',
    ).argParser(s3Target),
  )
  .addOption(new Option('--region <region>', 'AWS region').env('AWS_REGION').default('eu-west-3'))
  .addOption(
    new Option('--endpoint <url>', 'AWS endpoint, e.g. the local moto server http://localhost:5000').env(
      'AWS_ENDPOINT_URL',
    ),
  )
  .option('--json', 'print what was written as JSON')
  .addHelpText(
    'after',
    `
Examples:
  npm run generate -- --orders 1000 --out .build/lake
  npm run generate -- --orders 20000 --seed 7 --date 2026-01-07 --invalid-rate 0.02 --duplicate-rate 0.01 --out .build/lake
  npm run generate -- --orders 1000 --dialects canonical,rich --to s3://tp-orders-intake-123456789012-eu-west-3/raw/
  npm run generate -- --orders 500 --to s3://demo-orders-intake-123456789012-eu-west-3/raw/ --endpoint http://localhost:5000

An invalid line is one of, at random: a negative amount (a negative price for the API dialect), no items, an
amount that is not the items' sum (canonical and rich), a line cut short (not JSON). A duplicate repeats an earlier
canonical or rich line byte for byte: the worker answers DUPLICATE. Above ${PROGRESS_ABOVE.toLocaleString('en-US')}
orders, a progress bar on stderr (on a terminal). The same options give the same bytes.`,
  )
  .action(async (options: Options) => {
    if (options.orders === undefined)
      throw new Error('--orders is required: how many lines to write, e.g. --orders 1000')
    if ((options.out === undefined) === (options.to === undefined))
      throw new Error(
        options.out === undefined
          ? 'say where the file goes: --out DIR (a folder) or --to s3://BUCKET/raw/ (the intake bucket)'
          : 'give --out or --to, not both',
      )
    if (options.invalidRate + options.duplicateRate > 1)
      throw new Error(
        `--invalid-rate + --duplicate-rate must be at most 1, got ${options.invalidRate} + ${options.duplicateRate}`,
      )
    if (options.duplicateRate > 0 && !options.dialects.some((d) => d !== 'api'))
      throw new Error(
        '--duplicate-rate needs --dialects with canonical or rich: an API line gets the id of its line, so its copy is a new order',
      )

    const generation = {
      orders: options.orders,
      seed: options.seed,
      date: options.date,
      invalidRate: options.invalidRate,
      duplicateRate: options.duplicateRate,
      dialects: options.dialects,
    }
    const name = fileName(options.seed, options.date)
    const summary = emptySummary()
    const bar =
      options.orders > PROGRESS_ABOVE
        ? new SingleBar({
            format: 'generate [{bar}] {percentage}% | {value}/{total} orders | ETA {eta}s',
            stream: process.stderr,
          })
        : undefined
    bar?.start(options.orders, 0)
    const body = Readable.from(chunks(generation, summary, (n) => bar?.increment(n)))
    let where: Record<string, string>
    try {
      if (options.out !== undefined) {
        const path = join(options.out, rawKey(options.date, name))
        mkdirSync(dirname(path), { recursive: true })
        await pipeline(body, createWriteStream(path))
        where = { path }
      } else {
        const { bucket, prefix } = options.to!
        const key = intakeKey('--to', rawKey(options.date, name, prefix))
        // A stream of unknown length: Upload sends it as one PutObject when small, in parts otherwise.
        await new Upload({
          client: s3Client({ region: options.region, endpoint: options.endpoint }),
          params: { Bucket: bucket, Key: key, Body: body, ContentType: 'application/x-ndjson' },
        }).done()
        where = { bucket, key, url: `s3://${bucket}/${key}` }
      }
    } finally {
      bar?.stop()
    }
    if (options.json) {
      console.log(JSON.stringify({ ...where, seed: options.seed, date: options.date, ...summary }, null, 2))
      return
    }
    console.log(`wrote ${where.path ?? where.url}`)
    console.log(describe(summary))
  })

if (import.meta.url === `file://${process.argv[1]}`) await run(program)
export { program }
