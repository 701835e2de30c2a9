import test from 'ava'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import middy from '@middy/core'
import { mockClient } from 'aws-sdk-client-mock'
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch'
import { flushMetrics, type MetricsContext } from '../../middlewares/metrics.ts'
import { fakeContext } from '../helpers/fixtures.ts'
import { createLogger } from '../../lib/runtime/logger.ts'
import { captureStdout } from '../helpers/stdout.ts'

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

// ---------------------------------------------------------------------------------------------------------------
// METRICS_MODE=emf: the same figures as one EMF line on stdout, and no request

type EmfDocument = Record<string, unknown> & {
  _aws: {
    Timestamp: number
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[]
  }
}

/** The chain in `mode`, with a CloudWatch mock on the class: any client, given or built, answers through it. */
const chainIn = (mode: 'api' | 'emf' | undefined, handler: (context: MetricsContext) => unknown) => {
  const cloudWatch = mockClient(CloudWatchClient)
  cloudWatch.on(PutMetricDataCommand).resolves({})
  const logger = createLogger({ level: 'silent' })
  const run = middy<unknown, unknown, Error, MetricsContext>()
    .use(flushMetrics({ namespace: 'Shop/Orders', stage: 'prod', mode, logger }))
    .handler(async (_event, context) => handler(context))
  return { cloudWatch, invoke: async () => run({}, fakeContext() as MetricsContext) }
}

const counting = (context: MetricsContext) => {
  context.metrics.count('OrdersProcessed', 3)
  context.metrics.count('OrdersPendingStock')
  return 'done'
}

test.serial(
  'in emf mode one EMF line on stdout carries what the PutMetricData would, and nothing is sent',
  async (t) => {
    // Prepare
    const api = chainIn('api', counting)
    await api.invoke()
    const [call] = api.cloudWatch.commandCalls(PutMetricDataCommand)
    api.cloudWatch.restore()
    const emf = chainIn('emf', counting)
    // Act
    const { result, lines, writes } = await captureStdout(emf.invoke)
    // Assess
    t.is(result, 'done')
    t.is(emf.cloudWatch.commandCalls(PutMetricDataCommand).length, 0, 'no PutMetricData, on any client')
    emf.cloudWatch.restore()
    t.is(writes.length, 1, 'one write')
    t.is(lines.length, 1, 'one line')
    t.true(writes[0]!.endsWith('\n'))
    const line = JSON.parse(lines[0]!) as EmfDocument
    const [directive, ...others] = line._aws.CloudWatchMetrics
    t.is(others.length, 0)
    const input = call!.args[0].input
    t.is(directive?.Namespace, input.Namespace)
    t.deepEqual(directive?.Dimensions, [['Stage']])
    t.is(line.Stage, 'prod')
    t.deepEqual(
      Object.fromEntries(directive!.Metrics.map((m) => [m.Name, line[m.Name]])),
      Object.fromEntries(input.MetricData!.map((d) => [d.MetricName, d.Value])),
    )
    t.deepEqual(Object.fromEntries(directive!.Metrics.map((m) => [m.Name, line[m.Name]])), {
      OrdersProcessed: 3,
      OrdersRejected: 0,
      OrdersDuplicate: 0,
      OrdersPendingStock: 1,
    })
    t.true(directive!.Metrics.every((m) => m.Unit === 'Count'))
  },
)

test.serial(
  'in emf mode the counts are written when the handler throws too, and nothing when none was counted',
  async (t) => {
    const failing = chainIn('emf', (context) => {
      context.metrics.count('OrdersRejected')
      throw new Error('boom')
    })
    const { lines } = await captureStdout(async () => t.throwsAsync(failing.invoke(), { message: 'boom' }))
    failing.cloudWatch.restore()
    t.is(lines.length, 1)
    t.is((JSON.parse(lines[0]!) as EmfDocument).OrdersRejected, 1)
    const idle = chainIn('emf', () => 'ok')
    const quiet = await captureStdout(idle.invoke)
    idle.cloudWatch.restore()
    t.deepEqual(quiet.lines, [])
  },
)

test.serial('a mode left undefined (a configuration without metricsMode) publishes through the API', async (t) => {
  const chain = chainIn(undefined, counting)
  const { lines } = await captureStdout(chain.invoke)
  t.is(chain.cloudWatch.commandCalls(PutMetricDataCommand).length, 1)
  chain.cloudWatch.restore()
  t.deepEqual(lines, [])
})

test('an unknown mode is refused at factory time', (t) => {
  t.throws(() => flushMetrics({ mode: 'log' as never }), {
    instanceOf: TypeError,
    message: 'flushMetrics: mode must be api or emf, got "log"',
  })
})

/** Runs `script` in a process of its own, its stdout a pipe (as Lambda's and the local runner's): its lines, parsed. */
const runAlone = (script: string, env: Record<string, string>) => {
  const child = spawnSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    encoding: 'utf8',
    // An endpoint that leads nowhere: a PutMetricData would fail and log "metrics not published".
    env: {
      ...process.env,
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'x',
      AWS_MAX_ATTEMPTS: '1',
      ...env,
    },
  })
  if (child.status !== 0) throw new Error(`the script failed: ${child.stderr}`)
  return child.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

const LOGGING_FUNCTION = `
  import middy from '@middy/core'
  import { flushMetrics } from './middlewares/metrics.ts'
  import { createLogger } from './lib/runtime/logger.ts'
  const logger = createLogger({ name: 'tp-test' })
  const run = middy()
    .use(flushMetrics({ namespace: 'Shop/Orders', stage: 'prod', mode: 'emf', logger }))
    .handler(async (_event, context) => {
      logger.info({ orderId: 'O-1' }, 'order settled')
      context.metrics.count('OrdersProcessed', 2)
      logger.info('done')
    })
  await run({}, {})
  logger.info('after')
`

test('on a real stdout beside the logger, the EMF line is a line of its own with the document at its top level', (t) => {
  // Act
  const lines = runAlone(LOGGING_FUNCTION, { LOG_LEVEL: 'info' })
  // Assess
  t.deepEqual(
    lines.map((entry) => entry.msg ?? '(EMF)'),
    ['order settled', 'done', '(EMF)', 'after'],
  )
  const emf = lines[2] as EmfDocument
  t.deepEqual(Object.keys(emf).sort(), ['OrdersDuplicate', 'OrdersProcessed', 'OrdersRejected', 'Stage', '_aws'])
  t.is(emf._aws.CloudWatchMetrics[0]?.Namespace, 'Shop/Orders')
  t.is(emf.OrdersProcessed, 2)
})

test('the EMF line does not depend on the log level', (t) => {
  const lines = runAlone(LOGGING_FUNCTION, { LOG_LEVEL: 'silent' })
  t.is(lines.length, 1)
  t.is((lines[0] as EmfDocument).OrdersProcessed, 2)
})
