/**
 * Bulk intake: one 1,000,000-line JSONL file (and a gzipped copy) through validateFile, each run in a fresh process
 * (bulk-run.ts) so that its peak RSS is its own.
 *
 * Time on the queue is simulated, not waited for: a million lines are 100,000 SendMessageBatch calls, which at
 * 15 ms each would take minutes of sleeping. The 1M-line runs use an SQS that answers at once (their time is the
 * parse, validate and SDK work: lines per second), and the simulated time adds the queue's latency as the sends
 * overlap: calls × 15 ms ÷ sends in flight. A 40,000-line run with a real 15 ms latency checks that model.
 */
import { spawnSync } from 'node:child_process'
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createGzip } from 'node:zlib'
import { fmt, round, runIfMain, table, target, type Section } from './helpers.ts'
import { makeOrders } from './fake-aws.ts'

const LINES = 1_000_000
const CHECK_LINES = 40_000
const SQS_LATENCY_MS = 15
const SENDS_IN_FLIGHT = 8
const runner = fileURLToPath(new URL('./bulk-run.ts', import.meta.url))
/**
 * V8's old-space limit for the runs, as in a small function: without one, V8 on a 24 GiB machine lets garbage
 * pile up before it collects (the same 1M-line run then peaks at about 220 MB), which says nothing of what the
 * intake holds. With it, a run that needed more would fail: the peak shows what the intake needs.
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

interface Run {
  accepted: number
  rejected: number
  seconds: number
  cpuSeconds: number
  peakRssMB: number
  calls: number
  maxSendsInFlight: number
}

const runOnce = (file: string, gzip: boolean, latencyMs: number): Run => {
  const result = spawnSync(
    process.execPath,
    [
      `--max-old-space-size=${HEAP_MB}`,
      '--import=tsx',
      runner,
      JSON.stringify({ file, gzip, latencyMs, sendsInFlight: SENDS_IN_FLIGHT }),
    ],
    { encoding: 'utf8', env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
  )
  if (result.status !== 0) throw new Error(`bulk run failed: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`)
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as Run
}

const simulated = (run: Run, latencyMs: number): number =>
  run.seconds + (run.calls * latencyMs) / 1000 / SENDS_IN_FLIGHT

export const bulk = async (): Promise<Section> => {
  const dir = mkdtempSync(join(tmpdir(), 'bulk-'))
  try {
    const plain = join(dir, 'bulk.jsonl')
    const gz = join(dir, 'bulk.jsonl.gz')
    const check = join(dir, 'check.jsonl')
    await writeFile(plain, LINES, false)
    await writeFile(gz, LINES, true)
    await writeFile(check, CHECK_LINES, false)
    const runs = [
      { name: 'JSONL', file: plain, gzip: false, run: runOnce(plain, false, 0) },
      { name: 'JSONL, gzipped', file: gz, gzip: true, run: runOnce(gz, true, 0) },
    ]
    const checkRun = runOnce(check, false, SQS_LATENCY_MS)
    const checkModel = simulated({ ...runOnce(check, false, 0) }, SQS_LATENCY_MS)
    const figures = Object.fromEntries(
      runs.map(({ name, file, run }) => {
        const seconds = simulated(run, SQS_LATENCY_MS)
        return [
          name === 'JSONL' ? 'jsonl' : 'gzip',
          {
            lines: LINES,
            fileMB: round(statSync(file).size / 1024 / 1024, 1),
            accepted: run.accepted,
            seconds: round(seconds, 1),
            parseSeconds: round(run.seconds, 1),
            linesPerSecond: Math.round(LINES / run.seconds),
            peakRssMB: Math.round(run.peakRssMB),
            sqsLatencyMs: SQS_LATENCY_MS,
            sendsInFlight: SENDS_IN_FLIGHT,
            maxSendsInFlight: run.maxSendsInFlight,
            heapLimitMB: HEAP_MB,
            sendMessageBatchCalls: run.calls,
          },
        ]
      }),
    )
    const rows = runs.map(({ name, file, run }) => {
      const seconds = simulated(run, SQS_LATENCY_MS)
      return [
        name,
        fmt(statSync(file).size / 1024 / 1024, 1),
        fmt(run.accepted),
        fmt(run.seconds, 1),
        fmt(LINES / run.seconds),
        `${fmt(seconds, 0)} ${target(seconds, 300, 's').text}`,
        `${fmt(run.peakRssMB)} ${target(run.peakRssMB, 150, 'MB').text}`,
      ]
    })
    return {
      title: `4. Bulk intake — ${fmt(LINES)}-line files through validateFile`,
      lines: [
        `  Generated canonical orders on disk, streamed in 64 KB chunks as an S3 Body; SQS answered by a fake network,`,
        `  the SDK in full. Simulated time = parse time + SendMessageBatch calls × ${SQS_LATENCY_MS} ms ÷ ${SENDS_IN_FLIGHT} in flight (the`,
        `  sends overlap; see the check below). V8 old space capped at ${HEAP_MB} MB, as in a small function.`,
        `  Target: ≤ 300 s simulated, ≤ 150 MB peak RSS, ≥ 100,000 lines/s.`,
        '',
        ...table(['file', 'MB', 'queued', 'parse s', 'lines/s', 'simulated s (15 ms SQS)', 'peak RSS MB'], rows),
        '',
        `  check of the model, ${fmt(CHECK_LINES)} lines with a real ${SQS_LATENCY_MS} ms per call: measured ${fmt(checkRun.seconds, 1)} s,` +
          ` modelled ${fmt(checkModel, 1)} s, ${checkRun.maxSendsInFlight} sends in flight at most`,
      ],
      figures: {
        ...figures,
        check: { lines: CHECK_LINES, measuredSeconds: round(checkRun.seconds, 1), modelSeconds: round(checkModel, 1) },
      },
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await runIfMain(import.meta.url, bulk)
