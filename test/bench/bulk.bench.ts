/**
 * Bulk intake: a 1,000,000-line JSONL file, a gzipped copy and a 100 MB .json array, read as the validator reads a
 * large file: planned in ranges (RANGE_BYTES, 8 MiB), then each range validated and queued as its own invocation
 * would. Each step runs in a fresh process (bulk-run.ts), so that its peak RSS is its own; the ranges run one after
 * the other in one process, as one warm function would take their messages.
 *
 * Time on the queue is simulated, not waited for: a million lines are 100,000 SendMessageBatch calls, which at
 * 15 ms each would take minutes of sleeping. The runs use an SQS that answers at once (their time is the parse,
 * validate and SDK work), and the simulated time of a range adds the queue's latency as its sends overlap:
 * calls × 15 ms ÷ sends in flight. The file's simulated time is its planning plus its slowest range (the ranges run
 * side by side, one invocation each); one after the other, it would be the planning plus all of them. A 40,000-line
 * run with a real 15 ms latency checks the model.
 */
import { spawnSync } from 'node:child_process'
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createGzip } from 'node:zlib'
import { build } from 'esbuild'
import { DEFAULT_LIMITS } from '../../lib/intake/read.ts'
import { DEFAULTS } from '../../lib/runtime/config.ts'
import { fmt, round, runIfMain, table, target, type Section } from './helpers.ts'
import { makeOrders } from './fake-aws.ts'

const LINES = 1_000_000
const ARRAY_MB = 100
const CHECK_LINES = 40_000
const SQS_LATENCY_MS = 15
const SENDS_IN_FLIGHT = DEFAULTS.sendsInFlight
const RANGE_BYTES = DEFAULTS.rangeBytes
const source = fileURLToPath(new URL('./bulk-run.ts', import.meta.url))
const runner = fileURLToPath(new URL('../../.build/bulk-run.mjs', import.meta.url))

/**
 * The runner is bundled as the functions are (esbuild, ESM, minified): run through tsx, the loader alone would add
 * about 35 MB of RSS that no function carries (a node process holding the validator's bundle starts at about 55 MB).
 */
const bundleRunner = async (): Promise<void> => {
  await build({
    entryPoints: [source],
    outfile: runner,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    mainFields: ['module', 'main'],
    minify: true,
    legalComments: 'none',
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    logLevel: 'warning',
  })
}
/**
 * V8's old-space limit for the runs, as in a small function: without one, V8 on a 24 GiB machine lets garbage
 * pile up before it collects, which says nothing of what the intake holds. With it, a run that needed more would
 * fail: the peak shows what the intake needs.
 */
const HEAP_MB = 96

/** Writes `lines` orders as JSONL (gzipped if asked), 10,000 generated at a time. */
const writeFile = async (file: string, lines: number, gzip: boolean): Promise<void> => {
  const out = createWriteStream(file)
  const sink = gzip ? createGzip() : undefined
  sink?.pipe(out)
  const target = sink ?? out
  for (let start = 0; start < lines; start += 10_000) {
    const orders = makeOrders(Math.min(10_000, lines - start), `BULK${start / 10_000}`, 20260107 + start)
    const text = `${orders.map((o) => JSON.stringify(o)).join('\n')}\n`
    if (!target.write(text)) await new Promise<void>((resolve) => target.once('drain', () => resolve()))
  }
  await new Promise<void>((resolve, reject) => {
    out.once('finish', resolve).once('error', reject)
    target.end()
  })
}

/** Writes a .json array of orders of about `megabytes`, pretty-printed as an export would be. */
const writeArray = async (file: string, megabytes: number): Promise<number> => {
  const out = createWriteStream(file)
  let bytes = 0
  let count = 0
  out.write('[\n')
  for (let batch = 0; bytes < megabytes * 1024 * 1024; batch++) {
    const orders = makeOrders(5_000, `ARR${batch}`, 20260107 + batch)
    const text = orders.map((o) => JSON.stringify(o, null, 2)).join(',\n')
    const chunk = `${batch > 0 ? ',\n' : ''}${text}`
    bytes += Buffer.byteLength(chunk)
    count += orders.length
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
  }
  out.write('\n]\n')
  await new Promise<void>((resolve, reject) => out.once('finish', resolve).once('error', reject).end())
  return count
}

interface Common {
  seconds: number
  cpuSeconds: number
  peakRssMB: number
}
interface PlanRun extends Common {
  ranges: number
}
interface ParseRun extends Common {
  lines: number
  valid: number
}
interface RangesRun extends Common {
  accepted: number
  rejected: number
  ranges: { seconds: number; calls: number; lines: number }[]
  calls: number
  maxSendsInFlight: number
}

const runStep = <T>(options: Record<string, unknown>): T => {
  const result = spawnSync(
    process.execPath,
    [
      `--max-old-space-size=${HEAP_MB}`,
      runner,
      JSON.stringify({
        sendsInFlight: SENDS_IN_FLIGHT,
        rangeBytes: RANGE_BYTES,
        maxLineBytes: DEFAULT_LIMITS.maxLineBytes,
        latencyMs: 0,
        ...options,
      }),
    ],
    { encoding: 'utf8', env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
  )
  if (result.status !== 0) throw new Error(`bulk run failed: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`)
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as T
}

/** A range's simulated time: its own work plus its calls' latency, overlapped by the sends in flight. */
const rangeSeconds = (range: { seconds: number; calls: number }, latencyMs = SQS_LATENCY_MS): number =>
  range.seconds + (range.calls * latencyMs) / 1000 / SENDS_IN_FLIGHT

interface FileCase {
  name: string
  figure: string
  file: string
  kind: 'json' | 'jsonl'
  gzip: boolean
  lines: number
}

const measure = (c: FileCase, parse: boolean) => {
  const plan = runStep<PlanRun>({ mode: 'plan', file: c.file, kind: c.kind, gzip: c.gzip })
  const ranges = runStep<RangesRun>({ mode: 'ranges', file: c.file, kind: c.kind, gzip: c.gzip })
  const parsed = parse ? runStep<ParseRun>({ mode: 'parse', file: c.file, kind: c.kind, gzip: c.gzip }) : undefined
  const simulated = ranges.ranges.map((r) => rangeSeconds(r))
  const slowest = Math.max(...simulated)
  const seconds = plan.seconds + slowest
  const sequential = plan.seconds + simulated.reduce((a, b) => a + b, 0)
  const lines = ranges.accepted + ranges.rejected
  const peakRssMB = Math.max(plan.peakRssMB, ranges.peakRssMB)
  return {
    c,
    seconds,
    peakRssMB,
    figures: {
      lines,
      fileMB: round(statSync(c.file).size / 1024 / 1024, 1),
      accepted: ranges.accepted,
      ranges: ranges.ranges.length,
      rangeBytes: RANGE_BYTES,
      seconds: round(seconds, 1),
      planSeconds: round(plan.seconds, 1),
      slowestRangeSeconds: round(slowest, 1),
      sequentialSeconds: round(sequential, 1),
      // Per core: the intake is one thread (its wall time); the CPU time also counts V8's GC helper threads.
      ...(parsed
        ? {
            linesPerSecond: Math.round(parsed.lines / parsed.seconds),
            linesPerCpuSecond: Math.round(parsed.lines / parsed.cpuSeconds),
          }
        : {}),
      intakeLinesPerSecond: Math.round(lines / ranges.cpuSeconds),
      peakRssMB: Math.round(peakRssMB),
      planPeakRssMB: Math.round(plan.peakRssMB),
      rangesPeakRssMB: Math.round(ranges.peakRssMB),
      sqsLatencyMs: SQS_LATENCY_MS,
      sendsInFlight: SENDS_IN_FLIGHT,
      maxSendsInFlight: ranges.maxSendsInFlight,
      heapLimitMB: HEAP_MB,
      sendMessageBatchCalls: ranges.calls,
    },
  }
}

export const bulk = async (): Promise<Section> => {
  const dir = mkdtempSync(join(tmpdir(), 'bulk-'))
  try {
    const plain = join(dir, 'bulk.jsonl')
    const gz = join(dir, 'bulk.jsonl.gz')
    const array = join(dir, 'bulk.json')
    const check = join(dir, 'check.jsonl')
    await writeFile(plain, LINES, false)
    await writeFile(gz, LINES, true)
    const arrayLines = await writeArray(array, ARRAY_MB)
    await writeFile(check, CHECK_LINES, false)
    await bundleRunner()
    const cases: FileCase[] = [
      { name: 'JSONL', figure: 'jsonl', file: plain, kind: 'jsonl', gzip: false, lines: LINES },
      { name: 'JSONL, gzipped', figure: 'gzip', file: gz, kind: 'jsonl', gzip: true, lines: LINES },
      { name: '.json array', figure: 'jsonArray', file: array, kind: 'json', gzip: false, lines: arrayLines },
    ]
    const results = cases.map((c) => measure(c, c.figure === 'jsonl'))
    // The model, checked: one range of 40,000 lines with a real 15 ms a call, against its modelled time.
    const checkRun = runStep<RangesRun>({
      mode: 'ranges',
      file: check,
      kind: 'jsonl',
      gzip: false,
      latencyMs: SQS_LATENCY_MS,
      rangeBytes: 1024 * 1024 * 1024,
    })
    const checkFree = runStep<RangesRun>({
      mode: 'ranges',
      file: check,
      kind: 'jsonl',
      gzip: false,
      rangeBytes: 1024 * 1024 * 1024,
    })
    const checkModel = rangeSeconds(checkFree.ranges[0]!)
    const jsonl = results[0]!.figures
    const rows = results.map(({ c, seconds, peakRssMB, figures }) => [
      c.name,
      fmt(figures.fileMB, 1),
      fmt(figures.accepted),
      fmt(figures.ranges),
      fmt(figures.planSeconds, 1),
      fmt(figures.slowestRangeSeconds, 1),
      `${fmt(seconds, 0)} ${target(seconds, 300, 's').text}`,
      fmt(figures.sequentialSeconds, 0),
      `${fmt(peakRssMB)} ${target(peakRssMB, 150, 'MB').text}`,
    ])
    return {
      title: `4. Bulk intake — ${fmt(LINES)}-line files and a ${ARRAY_MB} MB array, in ranges of ${fmt(RANGE_BYTES / 1024 / 1024)} MiB`,
      lines: [
        `  Generated canonical orders on disk, streamed in 64 KB chunks as an S3 Body; SQS answered by a fake network,`,
        `  the SDK in full. A range's simulated time = its work + SendMessageBatch calls × ${SQS_LATENCY_MS} ms ÷ ${SENDS_IN_FLIGHT} in flight;`,
        `  the file's = planning + its slowest range (ranges side by side). V8 old space capped at ${HEAP_MB} MB.`,
        `  Target: ≤ 300 s simulated, ≤ 150 MB peak RSS, ≥ 100,000 lines/s parse + validate per core.`,
        '',
        ...table(
          ['file', 'MB', 'queued', 'ranges', 'plan s', 'slowest range s', 'simulated s', 'one by one s', 'peak RSS MB'],
          rows,
        ),
        '',
        `  parse + validate (no sends): ${fmt(jsonl.linesPerSecond ?? 0)} lines/s on one thread ${target(jsonl.linesPerSecond ?? 0, 100_000, 'lines/s', 'min').text}` +
          ` (${fmt(jsonl.linesPerCpuSecond ?? 0)} a CPU second, GC threads included);` +
          ` with the queue's SDK work: ${fmt(jsonl.intakeLinesPerSecond)} lines/s`,
        `  check of the model, ${fmt(CHECK_LINES)} lines in one range with a real ${SQS_LATENCY_MS} ms a call: measured ${fmt(checkRun.seconds, 1)} s,` +
          ` modelled ${fmt(checkModel, 1)} s, ${checkRun.maxSendsInFlight} sends in flight at most`,
      ],
      figures: {
        ...Object.fromEntries(results.map((r) => [r.c.figure, r.figures])),
        check: { lines: CHECK_LINES, measuredSeconds: round(checkRun.seconds, 1), modelSeconds: round(checkModel, 1) },
      },
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await runIfMain(import.meta.url, bulk)
