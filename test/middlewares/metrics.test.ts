import test from 'ava'
import middy from '@middy/core'
import { mockClient } from 'aws-sdk-client-mock'
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch'
import { flushMetrics, type MetricsContext } from '../../middlewares/metrics.ts'
import { fakeContext } from '../helpers/fixtures.ts'
import { createLogger } from '../../lib/runtime/logger.ts'

const setup = (handler: (context: MetricsContext) => unknown) => {
  const client = new CloudWatchClient({ region: 'eu-west-3' })
  const cloudWatch = mockClient(client)
  const warnings: string[] = []
  const logger = createLogger({
    level: 'warn',
    destination: {
      write: (line: string) => {
        warnings.push(line)
      },
    },
  })
  const run = middy<unknown, unknown, Error, MetricsContext>()
    .use(flushMetrics({ namespace: 'Shop/Orders', stage: 'prod', client, logger }))
    .handler(async (_event, context) => handler(context))
  return { cloudWatch, warnings, invoke: async () => run({}, fakeContext() as MetricsContext) }
}

test('one PutMetricData per invocation carries every count, zeros for the core three, with the Stage dimension', async (t) => {
  const { cloudWatch, invoke } = setup((context) => {
    context.metrics.count('OrdersProcessed')
    context.metrics.count('OrdersProcessed')
    context.metrics.count('OrdersPendingStock')
  })
  cloudWatch.on(PutMetricDataCommand).resolves({})
  await invoke()
  const calls = cloudWatch.commandCalls(PutMetricDataCommand)
  t.is(calls.length, 1)
  const input = calls[0]!.args[0].input
  t.is(input.Namespace, 'Shop/Orders')
  t.deepEqual(Object.fromEntries(input.MetricData!.map((d) => [d.MetricName, d.Value])), {
    OrdersProcessed: 2,
    OrdersRejected: 0,
    OrdersDuplicate: 0,
    OrdersPendingStock: 1,
  })
  t.true(
    input.MetricData!.every(
      (d) => d.Dimensions?.[0]?.Name === 'Stage' && d.Dimensions[0].Value === 'prod' && d.Unit === 'Count',
    ),
  )
})

test('nothing counted, nothing sent', async (t) => {
  const { cloudWatch, invoke } = setup(() => 'ok')
  await invoke()
  t.is(cloudWatch.commandCalls(PutMetricDataCommand).length, 0)
})

test('counts are flushed when the handler throws too', async (t) => {
  const { cloudWatch, invoke } = setup((context) => {
    context.metrics.count('OrdersRejected')
    throw new Error('boom')
  })
  cloudWatch.on(PutMetricDataCommand).resolves({})
  await t.throwsAsync(invoke(), { message: 'boom' })
  t.is(
    cloudWatch
      .commandCalls(PutMetricDataCommand)[0]
      ?.args[0].input.MetricData?.find((d) => d.MetricName === 'OrdersRejected')?.Value,
    1,
  )
})

test('a CloudWatch failure is logged and the response stands', async (t) => {
  const { cloudWatch, warnings, invoke } = setup((context) => {
    context.metrics.count('OrdersProcessed')
    return 'done'
  })
  cloudWatch.on(PutMetricDataCommand).rejects(new Error('Throttling'))
  t.is(await invoke(), 'done')
  t.is(warnings.length, 1)
  t.like(JSON.parse(warnings[0]!), { level: 'warn', msg: 'metrics not published', metrics: { OrdersProcessed: 1 } })
})

test('in a CloudWatch outage the counts are logged as Embedded Metric Format, which CloudWatch Logs turns into the same metrics', async (t) => {
  // Prepare
  const { cloudWatch, warnings, invoke } = setup((context) => {
    context.metrics.count('OrdersProcessed', 3)
    context.metrics.count('OrdersPendingStock')
  })
  cloudWatch.on(PutMetricDataCommand).rejects(Object.assign(new Error('unavailable'), { name: 'ServiceUnavailable' }))
  // Act
  await invoke()
  // Assess: the EMF specification's shape, on the line the MetricsNotPublished filter counts
  const line = JSON.parse(warnings[0]!) as Record<string, unknown> & {
    _aws: {
      Timestamp: number
      CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[]
    }
  }
  t.is(line.msg, 'metrics not published')
  const [directive] = line._aws.CloudWatchMetrics
  t.is(directive?.Namespace, 'Shop/Orders')
  t.deepEqual(directive?.Dimensions, [['Stage']])
  t.is(line.Stage, 'prod')
  const values = Object.fromEntries(directive!.Metrics.map((m) => [m.Name, line[m.Name]]))
  t.deepEqual(values, { OrdersProcessed: 3, OrdersRejected: 0, OrdersDuplicate: 0, OrdersPendingStock: 1 })
  t.true(directive!.Metrics.every((m) => m.Unit === 'Count'))
  t.true(Math.abs(line._aws.Timestamp - Date.now()) < 60_000)
})

test('a namespace is required at factory time', (t) => {
  t.throws(() => flushMetrics({ namespace: '' }), { instanceOf: TypeError, message: /namespace is required/ })
})
