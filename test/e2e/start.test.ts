/**
 * npm start, the product's main command: the demo's outcomes all match (exit 0 with --once), and starting again on
 * the same emulator re-deploys the unchanged stack (moto's "no changes" answer is tolerated).
 */
import test from 'ava'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { freePort, startMoto } from '../helpers/moto.ts'

const root = new URL('../../', import.meta.url).pathname

const start = async (...args: string[]) =>
  promisify(execFile)('npx', ['tsx', 'scripts/start.ts', '--once', '--no-build', ...args], {
    cwd: root,
    env: { ...process.env, AWS_ENDPOINT_URL: '' },
  })

test('npm start --once runs the demo with every outcome as it must be, and starts again on the same emulator', async (t) => {
  t.timeout(360_000, 'the demo and its data-lake step (1,000 generated orders)')
  const moto = await startMoto()
  try {
    const port = new URL(moto.endpoint).port
    // Act
    const first = await start('--port', port, '--api-port', String(await freePort()), '--prefix', 'demo')
    const again = await start('--port', port, '--api-port', String(await freePort()), '--prefix', 'demo', '--no-demo')
    // Assess
    t.regex(first.stdout, /every order got the outcome it must get/)
    t.regex(first.stdout, /ORD-20231001-0001\s+PROCESSED \(pending stock\)\s+PROCESSED \(pending stock\)\s+yes/)
    t.regex(first.stdout, /OrdersProcessed\s+4/)
    // The data-lake step: the generated file's valid orders, each in the table and in processed/ exactly once.
    const lake =
      /valid orders in the file\s+(\d+)\s+PROCESSED in the table\s+(\d+)\s+in processed\/orders\/\s+(\d+)\s+amount or presence differs\s+(\d+)/.exec(
        first.stdout,
      )
    t.truthy(lake, `${first.stdout.slice(-3000)}`)
    const [, valid, stored, exported, differing] = lake!.map(Number)
    t.true(valid! > 900, `${valid} valid orders`)
    t.deepEqual([stored, exported, differing], [valid, valid, 0])
    t.regex(first.stdout, /the data lake holds exactly the PROCESSED orders of the file/)
    t.regex(first.stdout, /revenue-by-segment[^\n]*\nsegment\s+currency\s+orders/)
    t.regex(again.stdout, /no changes to deploy|stack demo-order-pipeline deployed/)
    t.regex(again.stdout, /polling demo-orders-main → demo-order-worker/)
  } finally {
    moto.stop()
  }
})
