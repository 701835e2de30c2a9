/**
 * The two ways a flush leaves a function (lib/aws/metrics.ts): publishMetrics (one PutMetricData) and
 * writeEmbeddedMetrics (one EMF line on stdout) carry the same figures for the same buffer, and
 * extractEmbeddedMetrics reads an EMF line back as the PutMetricData calls CloudWatch Logs' extraction amounts to.
 */
import test from 'ava'
import fc from 'fast-check'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { CloudWatchClient, PutMetricDataCommand, type PutMetricDataCommandInput } from '@aws-sdk/client-cloudwatch'
import { mockClient } from 'aws-sdk-client-mock'
import {
  extractEmbeddedMetrics,
  MetricsBuffer,
  publishMetrics,
  writeEmbeddedMetrics,
  type LineOut,
} from '../../../lib/aws/metrics.ts'
import { METRIC, type MetricName } from '../../../lib/orders/outcomes.ts'
import { createLogger } from '../../../lib/runtime/logger.ts'

const NAMES = Object.values(METRIC) as MetricName[]

const bufferOf = (counts: [MetricName, number][]): MetricsBuffer => {
  const buffer = new MetricsBuffer()
  for (const [name, value] of counts) buffer.count(name, value)
  return buffer
}

/** What publishMetrics sends for `buffer`, through a fake client. */
const apiCalls = async (buffer: MetricsBuffer, namespace: string, stage: string) => {
  const client = new CloudWatchClient({ region: 'eu-west-3' })
  const cloudWatch = mockClient(client)
  cloudWatch.on(PutMetricDataCommand).resolves({})
  await publishMetrics(buffer, { client, namespace, stage, logger: createLogger({ level: 'silent' }) })
  return cloudWatch.commandCalls(PutMetricDataCommand).map((call) => call.args[0].input)
}

/** A stdout stand-in: what was written, and whether write says the stream is full. */
const fakeOut = (full = false) => {
  const out = new EventEmitter() as EventEmitter & LineOut & { written: string[] }
  out.written = []
  out.write = ((chunk: string) => {
    out.written.push(chunk)
    return !full
  }) as LineOut['write']
  return out
}

/** What writeEmbeddedMetrics writes for `buffer`. */
const emfOutput = async (buffer: MetricsBuffer, namespace: string, stage: string): Promise<string> => {
  const out = fakeOut()
  await writeEmbeddedMetrics(buffer, { namespace, stage }, out)
  return out.written.join('')
}

/**
 * An EMF line read as the specification says, independently of extractEmbeddedMetrics: the namespace, dimension
 * sets with their values, each metric's value and unit, the timestamp.
 */
const readEmf = (line: string) => {
  const doc = JSON.parse(line) as Record<string, unknown> & {
    _aws: {
      Timestamp: number
      CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit?: string }[] }[]
    }
  }
  const [directive] = doc._aws.CloudWatchMetrics
  return {
    directives: doc._aws.CloudWatchMetrics.length,
    namespace: directive!.Namespace,
    dimensions: directive!.Dimensions.map((set) => set.map((name) => ({ Name: name, Value: doc[name] }))),
    values: Object.fromEntries(directive!.Metrics.map((m) => [m.Name, doc[m.Name]])),
    units: [...new Set(directive!.Metrics.map((m) => m.Unit))],
    timestamp: doc._aws.Timestamp,
  }
}

/** A PutMetricData input read the same way. */
const readApi = (input: PutMetricDataCommandInput) => ({
  namespace: input.Namespace,
  dimensions: [...new Set(input.MetricData!.map((d) => JSON.stringify(d.Dimensions)))].map(
    (json) => JSON.parse(json) as unknown,
  ),
  values: Object.fromEntries(input.MetricData!.map((d) => [d.MetricName, d.Value])),
  units: [...new Set(input.MetricData!.map((d) => d.Unit))],
  timestamp: input.MetricData![0]!.Timestamp!.getTime(),
})

const sameFigures = test.macro({
  async exec(t, counts: [MetricName, number][], expected: Record<string, number>) {
    // Prepare
    const buffer = bufferOf(counts)
    // Act
    const [call, ...more] = await apiCalls(buffer, 'Shop/Orders', 'prod')
    const output = await emfOutput(buffer, 'Shop/Orders', 'prod')
    // Assess: one call, one line, and the same namespace, Stage dimension, values (zeros included) and unit
    t.is(more.length, 0, 'one PutMetricData')
    t.true(output.endsWith('\n') && !output.slice(0, -1).includes('\n'), 'one line')
    const api = readApi(call!)
    const emf = readEmf(output)
    t.is(emf.directives, 1)
    t.deepEqual(api.values, expected)
    t.deepEqual(emf.values, api.values)
    t.is(emf.namespace, 'Shop/Orders')
    t.is(api.namespace, 'Shop/Orders')
    t.deepEqual(emf.dimensions, [[{ Name: 'Stage', Value: 'prod' }]])
    t.deepEqual(emf.dimensions, api.dimensions)
    t.deepEqual(emf.units, ['Count'])
    t.deepEqual(emf.units, api.units)
    t.true(Math.abs(emf.timestamp - api.timestamp) < 5_000, 'the flush time')
  },
  title: (provided = '') => `the EMF line and the PutMetricData carry the same figures: ${provided}`,
})

test(
  'outcomes, with the zeros of the always-published three',
  sameFigures,
  [
    ['OrdersProcessed', 1],
    ['OrdersProcessed', 1],
    ['OrdersPendingStock', 1],
  ],
  { OrdersProcessed: 2, OrdersRejected: 0, OrdersDuplicate: 0, OrdersPendingStock: 1 },
)
test('a function that counts none of the three still publishes their zeros', sameFigures, [['PaymentsSucceeded', 3]], {
  OrdersProcessed: 0,
  OrdersRejected: 0,
  OrdersDuplicate: 0,
  PaymentsSucceeded: 3,
})
test('a count of zero is published as zero', sameFigures, [['OrdersAccepted', 0]], {
  OrdersProcessed: 0,
  OrdersRejected: 0,
  OrdersDuplicate: 0,
  OrdersAccepted: 0,
})

test('for any buffer, the EMF line read back is the PutMetricData of the same buffer (but its timestamp)', async (t) => {
  const withoutTime = (calls: PutMetricDataCommandInput[]) =>
    calls.map((c) => ({ ...c, MetricData: c.MetricData!.map(({ Timestamp: _, ...d }) => d) }))
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.constantFrom(...NAMES), fc.integer({ min: 0, max: 1_000_000 }))),
      fc.stringMatching(/^[A-Za-z0-9/_.-]{1,40}$/),
      fc.stringMatching(/^[a-z0-9-]{1,20}$/),
      async (counts, namespace, stage) => {
        const buffer = bufferOf(counts)
        const api = await apiCalls(buffer, namespace, stage)
        const output = await emfOutput(buffer, namespace, stage)
        const extracted = output === '' ? [] : extractEmbeddedMetrics(output.trimEnd())
        // Thrown, so that fast-check shrinks a failure to its smallest buffer.
        assert.deepStrictEqual(withoutTime(extracted), withoutTime(api))
      },
    ),
    { numRuns: 200 },
  )
  t.pass()
})

test('nothing counted: no line, as no request', async (t) => {
  t.is(await emfOutput(new MetricsBuffer(), 'Shop/Orders', 'prod'), '')
  t.deepEqual(await apiCalls(new MetricsBuffer(), 'Shop/Orders', 'prod'), [])
})

test('the EMF line is the document alone at its top level: no logger fields', async (t) => {
  const output = await emfOutput(bufferOf([['OrdersProcessed', 2]]), 'Shop/Orders', 'prod')
  const doc = JSON.parse(output) as Record<string, unknown>
  t.deepEqual(Object.keys(doc).sort(), ['OrdersDuplicate', 'OrdersProcessed', 'OrdersRejected', 'Stage', '_aws'])
})

test('when stdout is full, the flush ends only once it has drained', async (t) => {
  // Prepare
  const out = fakeOut(true)
  let done = false
  // Act
  const flushed = writeEmbeddedMetrics(bufferOf([['OrdersProcessed', 1]]), { namespace: 'N', stage: 's' }, out).then(
    () => (done = true),
  )
  await new Promise((resolve) => setTimeout(resolve, 20))
  // Assess
  t.is(out.written.length, 1, 'the line is written at once, whole')
  t.false(done, 'still waiting for the drain')
  out.emit('drain')
  await flushed
  t.true(done)
})

test('a broken stdout never fails the flush', async (t) => {
  const out = fakeOut()
  out.write = (() => {
    throw Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })
  }) as LineOut['write']
  await t.notThrowsAsync(writeEmbeddedMetrics(bufferOf([['OrdersProcessed', 1]]), { namespace: 'N', stage: 's' }, out))
})

const at = 1_767_780_000_000
const emfLine = (directives: unknown[], members: Record<string, unknown>) =>
  JSON.stringify({ _aws: { Timestamp: at, CloudWatchMetrics: directives }, ...members })

test('lines that are not EMF documents give no metrics', (t) => {
  for (const line of [
    'not json',
    '{"level":"info","msg":"order settled"}',
    '{"_aws":"not a directive"}',
    '{"_aws":{"CloudWatchMetrics":[]}}',
    '{"_aws":{"Timestamp":"yesterday","CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"A"}]}]},"A":1}',
    '[1, 2]',
    '{"_aws":{"Timestamp":1,"CloudWatchMetrics":"all"}}',
  ])
    t.deepEqual(extractEmbeddedMetrics(line), [], `no metrics from ${line}`)
})

test('each metric and dimension set is one datum; unit None by default; an array of values stays one datum', (t) => {
  const [call, ...more] = extractEmbeddedMetrics(
    emfLine(
      [
        {
          Namespace: 'Shop',
          Dimensions: [['Stage'], ['Stage', 'Function']],
          Metrics: [{ Name: 'Latency', Unit: 'Milliseconds', StorageResolution: 1 }, { Name: 'Orders' }],
        },
      ],
      { Stage: 'prod', Function: 'worker', Latency: [12, 15], Orders: 3 },
    ),
  )
  t.is(more.length, 0)
  t.is(call?.Namespace, 'Shop')
  const when = new Date(at)
  const stage = { Name: 'Stage', Value: 'prod' }
  const fn = { Name: 'Function', Value: 'worker' }
  t.deepEqual(call?.MetricData, [
    {
      MetricName: 'Latency',
      Values: [12, 15],
      Unit: 'Milliseconds',
      Timestamp: when,
      Dimensions: [stage],
      StorageResolution: 1,
    },
    {
      MetricName: 'Latency',
      Values: [12, 15],
      Unit: 'Milliseconds',
      Timestamp: when,
      Dimensions: [stage, fn],
      StorageResolution: 1,
    },
    { MetricName: 'Orders', Value: 3, Unit: 'None', Timestamp: when, Dimensions: [stage] },
    { MetricName: 'Orders', Value: 3, Unit: 'None', Timestamp: when, Dimensions: [stage, fn] },
  ])
})

test('what CloudWatch Logs would not extract is left out: a dimension without its value, a value that is not a number, a directive without a namespace', (t) => {
  const calls = extractEmbeddedMetrics(
    emfLine(
      [
        {
          Namespace: 'Shop',
          Dimensions: [['Stage'], ['Missing']],
          Metrics: [{ Name: 'A' }, { Name: 'B' }, { Name: 'C' }],
        },
        { Dimensions: [['Stage']], Metrics: [{ Name: 'A' }] },
        { Namespace: 'Other', Dimensions: [], Metrics: [{ Name: 'A' }] },
      ],
      { Stage: 'prod', A: 1, B: '2', C: [] },
    ),
  )
  t.deepEqual(
    calls.map((c) => ({
      namespace: c.Namespace,
      data: c.MetricData!.map((d) => [d.MetricName, d.Value, d.Dimensions]),
    })),
    [
      { namespace: 'Shop', data: [['A', 1, [{ Name: 'Stage', Value: 'prod' }]]] },
      { namespace: 'Other', data: [['A', 1, undefined]] },
    ],
  )
})

test('more data than one PutMetricData may carry are split into several calls', (t) => {
  const names = Array.from({ length: 1001 }, (_, i) => `M${i}`)
  const calls = extractEmbeddedMetrics(
    emfLine(
      [{ Namespace: 'Big', Dimensions: [[]], Metrics: names.map((Name) => ({ Name })) }],
      Object.fromEntries(names.map((n) => [n, 1])),
    ),
  )
  t.deepEqual(
    calls.map((c) => c.MetricData!.length),
    [1000, 1],
  )
})
