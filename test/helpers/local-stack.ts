/**
 * The local stack for end-to-end tests: a moto server of the test file's own, the real templates deployed to it
 * with scripts/deploy.sh (a fresh prefix per file), and the local runner running the built bundles.
 * `npm test` builds the bundles once before the tests (`npm run build`).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OutcomeLog } from '../../scripts/local/demo.ts'
import { deployToEmulator } from '../../scripts/local/deploy.ts'
import { startRunner, type Runner } from '../../scripts/local/runner.ts'
import { clientsFor, freePort, startMoto, type Clients, type Moto } from './moto.ts'

const root = new URL('../../', import.meta.url).pathname

export interface LocalStack {
  moto: Moto
  runner: Runner
  clients: Clients
  /** Every line the functions logged. */
  logs: string[]
  /** The outcomes the functions logged, by order id or source (the demo's reading of the logs). */
  outcomes: OutcomeLog
  /** Every batch a function failed (queues and streams), as `function: what failed`, for a failing test to show. */
  failedBatches: string[]
  stop: () => Promise<void>
}

/**
 * Deploys the stack with `parameters`; the order workflow only with `OrderWorkflow: 'on'` (its executions would
 * change the stock and the metrics the other end-to-end files count), and then the runner answers its tasks.
 */
export const deployLocalStack = async (
  prefix: string,
  parameters: Record<string, string | number> = {},
): Promise<LocalStack> => {
  if (!existsSync(join(root, 'dist/worker/index.mjs')))
    throw new Error('dist/ is missing: run npm run build (npm test does)')
  const lambdaPort = await freePort()
  const moto = await startMoto({ MOTO_LAMBDA_ENDPOINT: `http://localhost:${lambdaPort}` })
  const stackName = `${prefix}-order-pipeline`
  await deployToEmulator({
    endpoint: moto.endpoint,
    prefix,
    stage: 'test',
    parameters: { OrderWorkflow: 'off', ...parameters },
  })
  const workDir = mkdtempSync(join(tmpdir(), `${prefix}-`))
  const logs: string[] = []
  const outcomes = new OutcomeLog()
  const failedBatches: string[] = []
  const runner = await startRunner({
    endpoint: moto.endpoint,
    region: 'eu-west-3',
    stackName,
    prefix,
    stage: 'test',
    apiPort: await freePort(),
    lambdaPort,
    workDir,
    onLog: (fn, line) => {
      logs.push(line)
      outcomes.record(fn, line)
    },
    onBatch: (fn, report) => {
      if (report.failed > 0 || report.error)
        failedBatches.push(`${fn}: ${report.failed} of ${report.received} failed: ${report.error?.message ?? ''}`)
    },
  })
  return {
    moto,
    runner,
    logs,
    outcomes,
    failedBatches,
    clients: clientsFor(moto.endpoint),
    stop: async () => {
      await runner.stop()
      moto.stop()
      rmSync(workDir, { recursive: true, force: true })
    },
  }
}

/** Polls `check` until it returns something other than undefined/false, or fails after `seconds`. */
export const waitFor = async <T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  seconds = 30,
): Promise<T> => {
  const deadline = Date.now() + seconds * 1000
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`)
    await sleep(200)
  }
}
