/**
 * Worker CPU time per order through the whole middy chain (metrics, error logger, partial batch failure, error
 * classification, duplicate detection, validation, the DynamoDB write), the SDK running in full but its network
 * faked (fake-aws.ts), logs at info level serialised to /dev/null. The messages are what the validator queued.
 */
import { performance } from 'node:perf_hooks'
import { fmt, median, round, runIfMain, table, type Section } from './helpers.ts'
import {
  batches,
  benchConfig,
  benchLogger,
  fakeAws,
  mainQueueRecord,
  makeOrders,
  runValidator,
  workerOn,
} from './fake-aws.ts'

const WARMUP = 500
const ORDERS = 5000
const BATCH = 10
const RUNS = 3

interface Measure {
  cpuUs: number
  userUs: number
  systemUs: number
  wallUs: number
}

const measure = async (stockTracking: boolean, logLevel: string) => {
  const config = benchConfig(stockTracking)
  const queueing = fakeAws()
  const messages = await runValidator(queueing, config, makeOrders(WARMUP + ORDERS, 'CPU'), benchLogger('silent'))
  const records = messages.map(mainQueueRecord)
  const worker = workerOn(fakeAws(), config, benchLogger(logLevel))
  for (const batch of batches(records.slice(0, WARMUP), BATCH)) await worker(batch)
  const measured = batches(records.slice(WARMUP), BATCH)
  const runs: Measure[] = []
  for (let run = 0; run < RUNS; run++) {
    const cpu = process.cpuUsage()
    const start = performance.now()
    for (const batch of measured) await worker(batch)
    const wall = performance.now() - start
    const { user, system } = process.cpuUsage(cpu)
    runs.push({
      cpuUs: (user + system) / ORDERS,
      userUs: user / ORDERS,
      systemUs: system / ORDERS,
      wallUs: (wall * 1000) / ORDERS,
    })
  }
  const pick = (k: keyof Measure) => runs.map((r) => r[k])
  return {
    stockTracking,
    logLevel,
    cpuUsPerOrder: median(pick('cpuUs')),
    cpuUsMin: Math.min(...pick('cpuUs')),
    cpuUsMax: Math.max(...pick('cpuUs')),
    userUsPerOrder: median(pick('userUs')),
    systemUsPerOrder: median(pick('systemUs')),
    wallUsPerOrder: median(pick('wallUs')),
    runs: runs.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v, 1)]))),
  }
}

export const workerCpu = async (): Promise<Section> => {
  const results = []
  for (const [stock, level] of [
    [false, 'info'],
    [true, 'info'],
    [false, 'silent'],
    [true, 'silent'],
  ] as const)
    results.push(await measure(stock, level))
  const rows = results.map((r) => [
    `stock ${r.stockTracking ? 'ON' : 'OFF'}`,
    r.logLevel === 'info' ? 'info (deployed)' : 'silent',
    fmt(r.cpuUsPerOrder, 0),
    `${fmt(r.cpuUsMin, 0)}–${fmt(r.cpuUsMax, 0)}`,
    fmt(r.userUsPerOrder, 0),
    fmt(r.systemUsPerOrder, 0),
    fmt(r.wallUsPerOrder, 0),
    fmt((r.cpuUsPerOrder * BATCH) / 1000, 2),
  ])
  return {
    title: '2. Worker CPU time per order — whole middy chain, SDK stubbed at the network',
    lines: [
      `  ${fmt(ORDERS)} orders in batches of ${BATCH} (${ORDERS / BATCH} invocations) after ${fmt(WARMUP)} warm-up orders, median of ${RUNS} runs;`,
      '  process.cpuUsage() delta (user + system) / orders. The SDK runs in full (marshalling, SigV4 signing, serialisation);',
      '  logs go to /dev/null. No target set. CPU can exceed wall time: cpuUsage counts every thread (GC helpers too).',
      '',
      ...table(
        [
          'scenario',
          'logs',
          'CPU µs/order',
          'min–max µs',
          'user µs',
          'system µs',
          'wall µs/order',
          'CPU ms/invocation',
        ],
        rows,
      ),
    ],
    figures: { orders: ORDERS, warmup: WARMUP, batchSize: BATCH, runs: RUNS, unit: 'µs per order', results },
  }
}

await runIfMain(import.meta.url, workerCpu)
