/**
 * The data lake end to end on the local stack (the demo's data-lake step, scripts/local/lake-demo.ts): a generated
 * file (the demo's 1,000 orders; here 400 of the same mix, to keep the suite's time) written to raw/year=/month=/day=/ goes through the validator, the queue and the worker, and
 * the exporter (fed by the table's stream) writes processed/: the file's PROCESSED orders in the table and its orders
 * in processed/orders/ are the same ids with the same amounts. The stack has no workflow (it would add four Lambda
 * invocations per order to the emulator's load; test/e2e/workflow.test.ts covers it).
 */
import anyTest, { type TestFn } from 'ava'
import { LAKE_DEMO_FILE, runLakeDemo } from '../../scripts/local/lake-demo.ts'
import { deployLocalStack, type LocalStack } from '../helpers/local-stack.ts'

const test = anyTest as TestFn<{ stack: LocalStack }>

test.before(async (t) => {
  t.context.stack = await deployLocalStack('lake')
})
test.after.always(async (t) => t.context.stack?.stop())

test('a generated file in raw/ ends as exactly the PROCESSED orders of the table in processed/', async (t) => {
  t.timeout(300_000, 'a file of 400 orders through the local stack')
  const { stack } = t.context
  const printed: string[] = []
  // Act
  const result = await runLakeDemo({
    deployment: stack.runner.deployment,
    log: stack.outcomes,
    endpoint: stack.moto.endpoint,
    region: 'eu-west-3',
    date: '2026-12-01',
    orders: 400,
    print: (text) => printed.push(text),
  })
  // Assess
  const output = printed.join('\n')
  t.is(LAKE_DEMO_FILE.orders, 1000)
  t.true(result.expected > 360 && result.expected < 400, `${result.expected} valid orders of 400`)
  const missing = result.mismatched.map((m) => String(m))
  t.deepEqual(
    [result.stored, result.exported, result.mismatched],
    [result.expected, result.expected, []],
    [
      output.slice(-3000),
      `failed batches: ${stack.failedBatches.slice(-20).join(' | ') || 'none'}`,
      `warnings and errors: ${stack.logs
        .filter((l) => /"level":(40|50|60)/.test(l))
        .slice(-10)
        .join('\n')}`,
      `lines naming the missing: ${stack.logs.filter((l) => missing.some((id) => l.includes(id))).join('\n')}`,
    ].join('\n'),
  )
  t.true(result.ok)
  t.is(result.key, 'raw/year=2026/month=12/day=01/orders-2026-2026-12-01.jsonl')
  t.regex(output, /the data lake holds exactly the PROCESSED orders of the file/)
  t.regex(output, /revenue-by-segment[^\n]*\nsegment\s+currency\s+orders/)
  t.regex(output, /orders-per-day[^\n]*\nprocessed_day\s+currency\s+orders/)
})
