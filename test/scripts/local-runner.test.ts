import test from 'ava'
import type { SQSRecord } from 'aws-lambda'
import { failedIds, toRecord } from '../../scripts/local/poller.ts'
import { matchResource } from '../../scripts/local/api-server.ts'
import { sqsRecord } from '../helpers/fixtures.ts'

const batch: SQSRecord[] = [sqsRecord('{}'), sqsRecord('{}')]
const [a, b] = batch.map((r) => r.messageId) as [string, string]

const keeps = test.macro((t, response: unknown, expected: string[] | 'all') => {
  const failed = failedIds(response, batch)
  t.deepEqual(failed === 'all' ? 'all' : [...failed], expected)
})

test('a missing response means every message succeeded', keeps, undefined, [])
test('an empty batchItemFailures means every message succeeded', keeps, { batchItemFailures: [] }, [])
test('a response without batchItemFailures means every message succeeded', keeps, { statusCode: 200 }, [])
test('listed identifiers stay in the queue', keeps, { batchItemFailures: [{ itemIdentifier: b }] }, [b])
test(
  'an identifier not in the batch fails the whole batch',
  keeps,
  { batchItemFailures: [{ itemIdentifier: a }, { itemIdentifier: 'other' }] },
  'all',
)
test('an empty identifier fails the whole batch', keeps, { batchItemFailures: [{ itemIdentifier: '' }] }, 'all')
test('a batchItemFailures that is not a list fails the whole batch', keeps, { batchItemFailures: 'oops' }, 'all')

test('a received message becomes the record Lambda builds, attributes and message attributes included', (t) => {
  const record = toRecord(
    {
      MessageId: 'm-1',
      ReceiptHandle: 'h-1',
      Body: '{"a":1}',
      MD5OfBody: 'md5',
      Attributes: {
        ApproximateReceiveCount: '3',
        SentTimestamp: '1',
        SenderId: 'me',
        ApproximateFirstReceiveTimestamp: '2',
      },
      MessageAttributes: { correlation_id: { DataType: 'String', StringValue: 'c-1' } },
    },
    'arn:aws:sqs:eu-west-3:123456789012:tp-orders-main',
    'eu-west-3',
  )
  t.like(record, {
    messageId: 'm-1',
    receiptHandle: 'h-1',
    body: '{"a":1}',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-3:123456789012:tp-orders-main',
    attributes: { ApproximateReceiveCount: '3' },
    messageAttributes: { correlation_id: { stringValue: 'c-1', dataType: 'String' } },
  })
})

test('API routes match with their path parameters decoded', (t) => {
  t.deepEqual(matchResource('/orders/{id}', '/orders/ORD%231'), { id: 'ORD#1' })
  t.deepEqual(matchResource('/orders', '/orders'), {})
  t.is(matchResource('/orders/{id}', '/orders'), undefined)
  t.is(matchResource('/orders', '/customers'), undefined)
})
