/**
 * npm start, the product's main command: the demo's outcomes all match (exit 0 with --once), and starting again on
 * the same emulator re-deploys the unchanged stack (moto's "no changes" answer is tolerated). The console starts
 * with it and says where. While it runs, its state file lets `npm run status` find the stack without --endpoint;
 * the file goes when npm start stops.
 */
import test from 'ava'
import { execFile, spawn } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { promisify } from 'node:util'
import { localStateFile, readLocalState } from '../../scripts/stack/local-state.ts'
import { freePort, startMoto } from '../helpers/moto.ts'
import { waitFor } from '../helpers/local-stack.ts'

const root = new URL('../../', import.meta.url).pathname

const start = async (...args: string[]) =>
  promisify(execFile)('npx', ['tsx', 'scripts/start.ts', '--once', '--no-build', ...args], {
    cwd: root,
    env: { ...process.env, AWS_ENDPOINT_URL: '' },
  })

test('npm start --once runs the demo with every outcome as it must be, and starts again on the same emulator', async (t) => {
  t.timeout(240_000, 'the demo and its workflow step')
  // An emulator of the test's own, whose state machines send their Lambda tasks to the runner at --lambda-port.
  const lambdaPort = String(await freePort())
  const moto = await startMoto({ MOTO_LAMBDA_ENDPOINT: `http://localhost:${lambdaPort}` })
  try {
    const port = new URL(moto.endpoint).port
    const ports = async () => [
      ...['--port', port, '--api-port', String(await freePort()), '--lambda-port', lambdaPort],
      ...['--console-port', String(await freePort())],
    ]
    // Act
    // The data-lake step has a file of its own (test/e2e/lake.test.ts), on a stack without the workflow.
    const stateFile = localStateFile()
    rmSync(stateFile, { force: true })
    const first = await start(...(await ports()), '--prefix', 'demo', '--no-lake')
    // Again, kept running (no --once): the state file appears, status finds the stack by it, SIGTERM removes it.
    t.false(existsSync(stateFile), '--once removed the state file when it stopped')
    const env: NodeJS.ProcessEnv = { ...process.env }
    delete env.AWS_ENDPOINT_URL
    delete env.NAME_PREFIX
    const child = spawn(
      'node',
      ['--import', 'tsx', 'scripts/start.ts', '--no-build', '--no-demo', '--prefix', 'demo', ...(await ports())],
      { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    let statusRun: { stdout: string; stderr: string }
    try {
      const state = await waitFor('the state file of npm start', async () => readLocalState(stateFile), 90)
      t.is(state.pid, child.pid ?? -1)
      t.is(state.endpoint, moto.endpoint)
      statusRun = await promisify(execFile)('node', ['--import', 'tsx', 'scripts/status.ts', '--json'], {
        cwd: root,
        env,
      })
    } finally {
      child.kill('SIGTERM')
    }
    t.is(await exited, 0, `npm start said: ${out}`)
    t.false(existsSync(stateFile), 'stopping npm start removed its state file')
    const again = { stdout: out }
    t.is((JSON.parse(statusRun.stdout) as { stack: { name: string } }).stack.name, 'demo-order-pipeline')
    t.regex(
      statusRun.stderr,
      /^status: using the local stack at http:\/\/localhost:\d+ \(npm start, prefix demo\); --endpoint or --profile for another$/m,
    )
    // Assess
    t.regex(first.stdout, /every order got the outcome it must get/)
    t.regex(first.stdout, /console: http:\/\/127\.0\.0\.1:\d+ {2}\(dashboard/)
    t.regex(first.stdout, /ORD-20231001-0001\s+PROCESSED \(pending stock\)\s+PROCESSED \(pending stock\)\s+yes/)
    t.regex(first.stdout, /OrdersProcessed\s+5/)
    // The workflow step: three paid and notified, one declined with its stock back, one waiting for stock.
    t.regex(first.stdout, /ORD-2026-001\s+NOTIFIED\s+NOTIFIED\s+SUCCEEDED\s+yes\s+payment pay_[0-9a-f]{24}/)
    t.regex(
      first.stdout,
      /ORD-2026-006\s+PAYMENT_FAILED\s+PAYMENT_FAILED\s+SUCCEEDED\s+yes\s+stock RELEASED; SKU-2 ×3 RELEASED/,
    )
    t.regex(first.stdout, /ORD-20231001-0001\s+WAITING_FOR_STOCK\s+PROCESSED\s+RUNNING\s+yes/)
    t.regex(first.stdout, /PaymentsSucceeded\s+3\s+PaymentsFailed\s+1\s+NotificationsSent\s+4\s+WorkflowsFailed\s+0/)
    t.regex(first.stdout, /every workflow ended where it must/)
    t.regex(again.stdout, /no changes to deploy|stack demo-order-pipeline deployed/)
    t.regex(again.stdout, /polling demo-orders-main → demo-order-worker/)
  } finally {
    moto.stop()
  }
})
