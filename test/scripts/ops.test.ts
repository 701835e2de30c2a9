import { matches, STATUSES, toRow } from '../../scripts/ops/orders.ts'
import test from 'ava'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { embeddedMetrics } from '../../lib/aws/metrics.ts'
import type { MetricName } from '../../lib/orders/outcomes.ts'
import { loggedMetrics } from '../../scripts/ops/observe.ts'
import { tempDir } from '../helpers/fixtures.ts'
import type { Message } from '@aws-sdk/client-sqs'
import { queueUrlOfArn, skipReason, summarise, type Filters } from '../../scripts/ops/dlq.ts'
import { describeMessage, replayAttributes } from '../../lib/aws/dlq.ts'
import { formatAge, parseDuration } from '../../scripts/format.ts'
import { functionName, readable, wanted } from '../../scripts/logs.ts'

const NOW = Date.parse('2026-01-07T12:00:00Z')
const parked = (errorClass: string | undefined, minutesAgo: number, extra: Partial<Message> = {}): Message => ({
  MessageId: `m-${errorClass}-${minutesAgo}`,
  Body: JSON.stringify({ order_id: `ORD-${minutesAgo}` }),
  Attributes: { SentTimestamp: String(NOW - minutesAgo * 60_000), ApproximateReceiveCount: '2' },
  MessageAttributes: {
    correlation_id: { DataType: 'String', StringValue: 'corr-1' },
    ...(errorClass
      ? {
          error: {
            DataType: 'String',
            StringValue: JSON.stringify({
              class: errorClass,
              message: `${errorClass} happened`,
              parked_at: new Date(NOW - minutesAgo * 60_000).toISOString(),
              source_queue: 'arn:aws:sqs:eu-west-3:123456789012:tp-orders-main',
            }),
          },
        }
      : {}),
  },
  ...extra,
})
const all: Filters = { maxReplays: 3 }

test('a message moved by the redrive policy reads as Retried, with its order id and age', (t) => {
  const m = describeMessage(parked(undefined, 5))
  t.like(m, { errorClass: 'Retried', orderId: 'ORD-5', replayCount: 0 })
  t.is(m.parkedAt.getTime(), NOW - 5 * 60_000)
  t.regex(m.reason, /after 2 receives/)
})

test('filters select by class, order id and age; permanent rejects and worn-out messages are skipped', (t) => {
  const retried = describeMessage(parked(undefined, 30))
  const invalid = describeMessage(parked('ValidationError', 30))
  const tired = describeMessage(
    parked('TransientError', 30, { MessageAttributes: { replay_count: { DataType: 'String', StringValue: '3' } } }),
  )
  t.is(skipReason(retried, all, NOW), undefined)
  t.is(skipReason(retried, { ...all, errorClasses: ['TransientError'] }, NOW), 'error class not selected')
  t.is(skipReason(retried, { ...all, orderIds: ['ORD-1'] }, NOW), 'order id not selected')
  t.is(skipReason(retried, { ...all, olderThanMs: 3_600_000 }, NOW), 'too recent')
  t.is(skipReason(retried, { ...all, newerThanMs: 60_000 }, NOW), 'too old')
  t.regex(skipReason(invalid, all, NOW) ?? '', /permanent reject/)
  t.is(skipReason(invalid, { ...all, includePermanent: true }, NOW), undefined)
  t.regex(skipReason(tired, all, NOW) ?? '', /replayed 3 times already/)
})

test('a replay keeps the business attributes, drops the error and counts the replay', (t) => {
  t.deepEqual(replayAttributes(describeMessage(parked('TransientError', 1))), {
    correlation_id: 'corr-1',
    replay_count: '1',
  })
})

test('the summary groups by error class with counts, ages and where the orders came in', (t) => {
  const fromFile = parked('ValidationError', 5)
  fromFile.MessageAttributes!.source = { DataType: 'String', StringValue: 's3://b/orders/a.jsonl#7' }
  const groups = summarise([parked('ValidationError', 90), fromFile, parked(undefined, 2)].map(describeMessage), NOW)
  t.like(groups[0], {
    class: 'ValidationError',
    count: 2,
    oldest: '1h 30m',
    newest: '5m 0s',
    orders: 'ORD-90, ORD-5',
    sources: 's3://b/orders/a.jsonl#7',
  })
  t.like(groups[1], { class: 'Retried', count: 1, sources: '' })
})

test("queue ARNs become URLs on the DLQ's endpoint", (t) => {
  t.is(
    queueUrlOfArn(
      'arn:aws:sqs:eu-west-3:123456789012:tp-orders-main',
      'https://sqs.eu-west-3.amazonaws.com/123456789012/tp-orders-main-dlq',
    ),
    'https://sqs.eu-west-3.amazonaws.com/123456789012/tp-orders-main',
  )
})

test('durations, ages, function names and log filters read as a person writes them', (t) => {
  t.is(parseDuration('30m'), 1_800_000)
  t.is(parseDuration('1.5h'), 5_400_000)
  t.throws(() => parseDuration('soon'), { message: /expected a number and s, m, h or d/ })
  t.is(formatAge(59_000), '59s')
  t.is(formatAge(2 * 86_400_000 + 3_600_000), '2d 1h')
  t.is(functionName('worker', 'tp'), 'tp-order-worker')
  t.is(functionName('generator', 'demo'), 'demo-order-generator')
  t.is(functionName('other-fn', 'tp'), 'other-fn')
  t.true(wanted('{"time":"2026-01-07T11:59:00Z","msg":"order settled"}', NOW - 120_000, 'settled'))
  t.false(wanted('{"time":"2026-01-07T11:00:00Z","msg":"order settled"}', NOW - 120_000))
  t.false(wanted('{"time":"2026-01-07T11:59:00Z","msg":"order rejected"}', NOW - 120_000, 'settled'))
})

test('a log line reads as time, level, message and fields; other lines stay as they are', (t) => {
  t.is(
    readable(
      '{"level":"warn","time":"2026-01-07T10:00:00.000Z","name":"tp-order-worker","orderId":"ORD-1","pending":["A"],"msg":"order settled"}',
    ),
    '2026-01-07 10:00:00.000 WARN  order settled orderId=ORD-1 pending=["A"]',
  )
  t.is(readable('START RequestId: 1'), 'START RequestId: 1')
})

test('counts logged as EMF while CloudWatch was down are read back from the local logs: this stage, this namespace, the last hour', (t) => {
  // Prepare
  const dir = tempDir(t, 'emf-')
  const now = Date.parse('2026-01-07T10:00:00Z')
  const line = (values: Record<string, number>, options: { stage?: string; namespace?: string; at?: number } = {}) =>
    JSON.stringify({
      level: 'warn',
      msg: 'metrics not published',
      ...embeddedMetrics(
        Object.entries(values) as [MetricName, number][],
        options.namespace ?? 'OrderPipeline',
        options.stage ?? 'local',
        new Date(options.at ?? now - 60_000),
      ),
    })
  writeFileSync(
    join(dir, 'tp-order-worker.log'),
    [
      line({ OrdersProcessed: 3, OrdersDuplicate: 1 }),
      line({ OrdersProcessed: 2 }, { stage: 'prod' }),
      line({ OrdersProcessed: 5 }, { namespace: 'Other' }),
      line({ OrdersProcessed: 7 }, { at: now - 2 * 3_600_000 }),
      '{"level":"info","msg":"order settled","_aws":"not a directive"}',
      'not json at all',
    ].join('\n'),
  )
  writeFileSync(join(dir, 'tp-order-validator.log'), line({ OrdersAccepted: 4 }))
  // Act
  const sums = loggedMetrics(dir, 'OrderPipeline', 'local', now)
  // Assess
  t.deepEqual(Object.fromEntries(sums), { OrdersProcessed: 3, OrdersDuplicate: 1, OrdersAccepted: 4 })
  t.is(loggedMetrics(join(dir, 'missing'), 'OrderPipeline', 'local', now).size, 0)
})

test("an order record's row shows its status, the workflow's too, and scan --status selects by it", (t) => {
  const record = (status: string | undefined, stock = 'RESERVED') => ({
    pk: 'ORDER#O-1',
    sk: 'ORDER',
    order_id: 'O-1',
    ...(status === undefined ? {} : { status }),
    stock_status: stock,
    order: { amount: 12.5, currency: 'EUR' },
    processed_at: '2026-12-01T10:00:00.000Z',
  })
  t.like(toRow(record('NOTIFIED')), { order_id: 'O-1', status: 'NOTIFIED', stock: 'RESERVED', amount: '12.50 EUR' })
  t.like(toRow(record(undefined)), { status: 'PROCESSED' }, 'a record from before the workflow')
  t.true(matches(toRow(record('PAID'))!, 'PAID'))
  t.false(matches(toRow(record('PAID'))!, 'PROCESSED'))
  t.true(matches(toRow(record('PROCESSED', 'PENDING_STOCK'))!, 'PENDING_STOCK'))
  t.true(matches(toRow(record('PAYMENT_FAILED', 'RELEASED'))!, 'PAYMENT_FAILED'))
  t.deepEqual(
    [...STATUSES],
    ['PROCESSED', 'PAYMENT_PENDING', 'PAID', 'NOTIFIED', 'PAYMENT_FAILED', 'PENDING_STOCK', 'REJECTED', 'CONFLICT'],
  )
  t.is(toRow({ pk: 'STOCK#A', sk: 'STOCK' }), undefined)
})
