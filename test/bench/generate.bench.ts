/**
 * The data lake's order generator (lib/lake/generate.ts): orders per second and bytes per order for 200,000 orders
 * of the default mix (the three dialects, 2 % invalid, 1 % duplicates), generated and serialised in memory and
 * counted, as `npm run generate` streams them (nothing written: the disk is not what is measured); and bytes per
 * order of each dialect alone. Run alone: `npx tsx test/bench/generate.bench.ts`.
 */
import { performance } from 'node:perf_hooks'
import { countLine, emptySummary, generateLines, type GenerateOptions } from '../../lib/lake/generate.ts'
import { DIALECTS } from '../../lib/orders/order.ts'
import { fmt, median, round, runIfMain, table, target, type Section } from './helpers.ts'

const ORDERS = 200_000
const RUNS = 3
/** A million orders in 20 s. */
const TARGET_PER_SECOND = 50_000
const MIX: GenerateOptions = { orders: ORDERS, seed: 1, date: '2026-01-07', invalidRate: 0.02, duplicateRate: 0.01 }

/** One pass: every line generated and counted (its UTF-8 length measured, as the command counts bytes). */
const pass = (options: GenerateOptions) => {
  const summary = emptySummary()
  const start = performance.now()
  for (const line of generateLines(options)) countLine(summary, line)
  return { ms: performance.now() - start, summary }
}

export const generate = async (): Promise<Section> => {
  pass({ ...MIX, orders: 20_000 }) // warm-up: the JIT, the catalogue tables
  const runs = Array.from({ length: RUNS }, () => pass(MIX))
  const ms = median(runs.map((r) => r.ms))
  const { summary } = runs[0]!
  const perSecond = ORDERS / (ms / 1000)
  const bytesPerOrder = summary.bytes / summary.orders
  const mark = target(perSecond, TARGET_PER_SECOND, 'orders/s', 'min')
  const dialects = DIALECTS.map((dialect) => {
    const { summary: s, ms: t } = pass({ orders: 50_000, seed: 1, date: '2026-01-07', dialects: [dialect] })
    return { dialect, bytesPerOrder: round(s.bytes / s.orders, 1), ordersPerSecond: Math.round(50_000 / (t / 1000)) }
  })
  const heapMb = process.memoryUsage().heapUsed / 1024 / 1024
  return {
    title: `generate: ${fmt(ORDERS)} orders (three dialects, 2 % invalid, 1 % duplicates), median of ${RUNS} runs`,
    lines: [
      ...table(
        ['figure', 'value', 'target'],
        [
          ['orders per second', fmt(perSecond), mark.text],
          ['bytes per order', fmt(bytesPerOrder, 1), ''],
          ['MB per second', fmt((summary.bytes / 1024 / 1024) * (1000 / ms), 1), ''],
          ['time', `${fmt(ms)} ms`, ''],
          ['a million orders, estimated', `${fmt(1_000_000 / perSecond, 1)} s, about ${fmt(bytesPerOrder, 0)} MB`, ''],
        ],
      ),
      '',
      ...table(
        ['dialect alone', 'bytes/order', 'orders/s'],
        dialects.map((d) => [d.dialect, fmt(d.bytesPerOrder, 1), fmt(d.ordersPerSecond)]),
      ),
      `  heap in use after the runs: ${fmt(heapMb, 0)} MB (the lines are not kept: the generator streams)`,
    ],
    figures: {
      orders: ORDERS,
      runs: RUNS,
      ordersPerSecond: Math.round(perSecond),
      ordersPerSecondTarget: TARGET_PER_SECOND,
      pass: mark.pass,
      bytesPerOrder: round(bytesPerOrder, 1),
      ms: round(ms, 0),
      runsMs: runs.map((r) => round(r.ms, 0)),
      valid: summary.valid,
      invalid: summary.invalid,
      duplicates: summary.duplicates,
      bytes: summary.bytes,
      dialects,
    },
  }
}

await runIfMain(import.meta.url, generate)
