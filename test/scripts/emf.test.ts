/**
 * The local runner's share of CloudWatch Logs (scripts/local/emf.ts): the EMF documents a function writes on their
 * own become PutMetricData calls, logger lines never do (status reads the failed-PutMetricData ones from the logs).
 */
import test from 'ava'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PutMetricDataCommand, type PutMetricDataCommandInput } from '@aws-sdk/client-cloudwatch'
import { embeddedMetrics, extractEmbeddedMetrics } from '../../lib/aws/metrics.ts'
import { LOG } from '../../lib/orders/outcomes.ts'
import { emfForwarder, metricCallsOf } from '../../scripts/local/emf.ts'
import { LambdaHost } from '../../scripts/local/lambda-host.ts'
import { loggedMetrics } from '../../scripts/ops/observe.ts'
import { tempDir } from '../helpers/fixtures.ts'

const NOW = Date.parse('2026-01-07T10:00:00Z')
const document = (values: Record<string, number>, stage = 'local') =>
  embeddedMetrics(Object.entries(values) as never, 'OrderPipeline', stage, new Date(NOW - 60_000))
/** What METRICS_MODE=emf writes: the document alone. */
const emfLine = (values: Record<string, number>) => JSON.stringify(document(values))
/** What a failed PutMetricData logs in api mode: a logger line carrying the document. */
const fallbackLine = (values: Record<string, number>) =>
  JSON.stringify({
    level: 'warn',
    time: new Date(NOW).toISOString(),
    msg: LOG.METRICS_NOT_PUBLISHED,
    ...document(values),
  })

/** A CloudWatch client that records what it is sent, and fails where told. */
const fakeCloudWatch = (fail?: (input: PutMetricDataCommandInput) => boolean) => {
  const sent: PutMetricDataCommandInput[] = []
  return {
    sent,
    send: async (command: PutMetricDataCommand) => {
      if (fail?.(command.input)) throw new Error('emulator down')
      sent.push(command.input)
      return {}
    },
  }
}

test('a document written on its own is the PutMetricData it stands for', (t) => {
  const line = emfLine({ OrdersProcessed: 3, OrdersRejected: 0 })
  const calls = metricCallsOf(line)
  t.deepEqual(calls, extractEmbeddedMetrics(line))
  t.is(calls.length, 1)
  t.is(calls[0]?.Namespace, 'OrderPipeline')
  t.deepEqual(
    calls[0]?.MetricData?.map((d) => [d.MetricName, d.Value, d.Unit, d.Dimensions, d.Timestamp?.getTime()]),
    [
      ['OrdersProcessed', 3, 'Count', [{ Name: 'Stage', Value: 'local' }], NOW - 60_000],
      ['OrdersRejected', 0, 'Count', [{ Name: 'Stage', Value: 'local' }], NOW - 60_000],
    ],
  )
})

test('logger lines are never replayed, not even one carrying EMF (status reads those from the logs)', (t) => {
  t.deepEqual(metricCallsOf(fallbackLine({ OrdersProcessed: 3 })), [])
  t.deepEqual(metricCallsOf(JSON.stringify({ level: 40, ...document({ OrdersProcessed: 3 }) })), [])
  t.deepEqual(metricCallsOf('{"level":"info","msg":"order settled","orderId":"O-1"}'), [])
  t.deepEqual(metricCallsOf('Task timed out "_aws"'), [])
  t.deepEqual(metricCallsOf('null'), [])
})

test('the forwarder sends each line as it comes; a failure is reported with its function and stops nothing', async (t) => {
  // Prepare
  const cloudWatch = fakeCloudWatch((input) => input.MetricData?.[0]?.Value === 13)
  const errors: string[] = []
  const forwarder = emfForwarder(cloudWatch, (fn, err) => errors.push(`${fn}: ${(err as Error).message}`))
  // Act
  forwarder.line('tp-order-worker', emfLine({ OrdersProcessed: 2 }))
  forwarder.line('tp-order-worker', '{"level":"info","msg":"order settled"}')
  forwarder.line('tp-order-api', emfLine({ OrdersAccepted: 13 }))
  forwarder.line('tp-order-worker', fallbackLine({ OrdersProcessed: 5 }))
  forwarder.line('tp-order-validator', emfLine({ OrdersAccepted: 4 }))
  await forwarder.settled()
  // Assess
  t.deepEqual(
    cloudWatch.sent.map((input) => input.MetricData!.map((d) => `${d.MetricName}=${d.Value}`).join(',')),
    ['OrdersProcessed=2', 'OrdersAccepted=4'],
  )
  t.deepEqual(errors, ['tp-order-api: emulator down'])
})

test("a function process's EMF line on stdout, among its other output, reaches the forwarder through the host", async (t) => {
  // Prepare: a function that writes as the bundles do (pino-like lines and one EMF document per invocation)
  const dir = tempDir(t, 'emf-host-')
  const line = emfLine({ OrdersProcessed: 7 })
  writeFileSync(
    join(dir, 'index.mjs'),
    `export const handler = async () => {
      process.stdout.write('{"level":"info","msg":"order settled","orderId":"O-1"}\\n')
      process.stdout.write(${JSON.stringify(`${line}\n`)})
      console.error('a warning on stderr')
      return 'ok'
    }`,
  )
  const cloudWatch = fakeCloudWatch()
  const forwarder = emfForwarder(cloudWatch)
  const host = new LambdaHost({ name: 'tp-emf', dir, handler: 'index.handler', env: {}, timeoutSeconds: 5 })
  host.on('log', forwarder.line)
  t.teardown(async () => host.stop())
  // Act
  t.is(await host.invoke({}), 'ok')
  for (let i = 0; i < 50 && cloudWatch.sent.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  await forwarder.settled()
  // Assess
  t.deepEqual(cloudWatch.sent, extractEmbeddedMetrics(line))
})

test('the log reader of status counts the failed-PutMetricData lines only: the runner already put the EMF documents', (t) => {
  const dir = tempDir(t, 'emf-logs-')
  writeFileSync(
    join(dir, 'tp-order-worker.log'),
    [emfLine({ OrdersProcessed: 100 }), fallbackLine({ OrdersProcessed: 3, OrdersDuplicate: 1 })].join('\n'),
  )
  t.deepEqual(Object.fromEntries(loggedMetrics(dir, 'OrderPipeline', 'local', NOW)), {
    OrdersProcessed: 3,
    OrdersDuplicate: 1,
  })
})
