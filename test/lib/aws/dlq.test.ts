import test from 'ava'
import type { Message } from '@aws-sdk/client-sqs'
import { describeMessage, keptAttributes, parkedError, replayAttributes, RETRIED } from '../../../lib/aws/dlq.ts'
import { ATTRIBUTE } from '../../../lib/aws/queue.ts'
import { ValidationError } from '../../../lib/orders/errors.ts'
import { sqsRecord } from '../../helpers/fixtures.ts'

const NOW = new Date('2026-01-07T10:00:00Z')

/** A message as SQS hands it back, with the attributes a parking wrote. */
const received = (attributes: Record<string, string>, body = '{"order_id":"ORD-1"}'): Message => ({
  MessageId: 'm-1',
  Body: body,
  Attributes: { SentTimestamp: String(NOW.getTime()), ApproximateReceiveCount: '1' },
  MessageAttributes: Object.fromEntries(
    Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
  ),
})

test('what a parking writes is what a reader reads: class, reason, fields, source queue and time', (t) => {
  // Prepare
  const record = sqsRecord('{"order_id":"ORD-1"}', {
    attributes: { ...sqsRecord('').attributes, ApproximateReceiveCount: '3' },
  })
  const err = new ValidationError([{ path: '/amount', rule: 'sum', message: 'amount must equal the items' }])
  // Act
  const error = parkedError(err, record, NOW)
  const read = describeMessage(received({ [ATTRIBUTE.ERROR]: JSON.stringify(error), [ATTRIBUTE.REPLAY_COUNT]: '2' }))
  // Assess
  t.like(error, { class: 'ValidationError', receive_count: 3, source_queue: record.eventSourceARN })
  t.deepEqual(error.fields, err.fields)
  t.like(read, {
    errorClass: 'ValidationError',
    reason: 'amount must equal the items',
    orderId: 'ORD-1',
    sourceQueueArn: record.eventSourceARN,
    replayCount: 2,
  })
  t.is(read.parkedAt.toISOString(), NOW.toISOString())
})

test('a record without SQS attributes (a direct S3 event) parks without a receive count', (t) => {
  const error = parkedError(new Error('gone'), { eventSource: 'aws:s3' } as never, NOW)
  t.is(error.receive_count, undefined)
  t.is(error.source_queue, undefined)
})

test('a message the redrive policy moved reads as Retried, with a reason from its receive count', (t) => {
  const read = describeMessage(received({}, 'not json'))
  t.is(read.errorClass, RETRIED)
  t.regex(read.reason, /moved by the redrive policy after 1 receives/)
  t.is(read.orderId, undefined)
})

test('the business attributes travel in either SDK shape; the error attribute never does', (t) => {
  const lambdaShape = {
    correlation_id: { stringValue: 'c-1', dataType: 'String' },
    source: { stringValue: 's3://b/k#1', dataType: 'String' },
    error: { stringValue: '{}', dataType: 'String' },
  }
  t.deepEqual(keptAttributes(lambdaShape), { correlation_id: 'c-1', source: 's3://b/k#1' })
  const message = received({ correlation_id: 'c-2', error: '{}', replay_count: '1' })
  t.deepEqual(keptAttributes(message.MessageAttributes), { correlation_id: 'c-2', replay_count: '1' })
  t.deepEqual(replayAttributes(describeMessage(message)), { correlation_id: 'c-2', replay_count: '2' })
})
