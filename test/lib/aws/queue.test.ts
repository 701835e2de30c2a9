import test from 'ava'
import type { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs'
import { fifoId, isFifo, orderFifoIds, sendMessages } from '../../../lib/aws/queue.ts'

/** An SQS client that records each SendMessageBatch's entries, answering every entry sent after `delayMs`. */
const recordingSqs = (delayMs = (_batch: number) => 0) => {
  const batches: { QueueUrl?: string; Entries: Record<string, unknown>[] }[] = []
  let inFlight = 0
  let maxInFlight = 0
  const client = {
    send: async (command: SendMessageBatchCommand) => {
      const input = command.input as unknown as { QueueUrl?: string; Entries: Record<string, unknown>[] }
      const index = batches.push(input) - 1
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      await new Promise((resolve) => setTimeout(resolve, delayMs(index)))
      inFlight--
      return { Successful: input.Entries.map((e) => ({ Id: e.Id })), Failed: [] }
    },
  } as unknown as SQSClient
  return { client, batches, maxInFlight: () => maxInFlight }
}

const FIFO_URL = 'https://sqs.eu-west-3.amazonaws.com/123456789012/tp-orders-main.fifo'
const STANDARD_URL = 'https://sqs.eu-west-3.amazonaws.com/123456789012/tp-orders-main'

test('to a FIFO queue every entry carries its group and deduplication ids, and batches go one after the other', async (t) => {
  // Prepare: 25 messages in 3 batches, the first batch answered last if they overlapped.
  const sqs = recordingSqs((batch) => (batch === 0 ? 30 : 0))
  const messages = Array.from({ length: 25 }, (_, i) => ({
    id: String(i),
    body: `{"n":${i}}`,
    groupId: `customer:C-${i % 2}`,
    deduplicationId: `d-${i}`,
  }))
  // Act
  const failed = await sendMessages(sqs.client, FIFO_URL, messages)
  // Assess
  t.deepEqual(failed, [])
  t.is(sqs.batches.length, 3)
  t.is(sqs.maxInFlight(), 1, 'one batch at a time, so that each group keeps its order')
  const entries = sqs.batches.flatMap((b) => b.Entries)
  t.deepEqual(
    entries.map((e) => e.MessageGroupId),
    messages.map((m) => m.groupId),
  )
  t.deepEqual(
    entries.map((e) => e.MessageDeduplicationId),
    messages.map((m) => m.deduplicationId),
  )
})

test('to a standard queue no FIFO field is sent, and batches go side by side', async (t) => {
  const sqs = recordingSqs(() => 10)
  const messages = Array.from({ length: 25 }, (_, i) => ({
    id: String(i),
    body: 'x',
    groupId: 'g',
    deduplicationId: 'd',
  }))
  await sendMessages(sqs.client, STANDARD_URL, messages)
  const entries = sqs.batches.flatMap((b) => b.Entries)
  t.true(entries.every((e) => !('MessageGroupId' in e) && !('MessageDeduplicationId' in e)))
  t.is(sqs.maxInFlight(), 3)
})

test("an order's FIFO ids: its customer's group; the same order the same id, a corrected order another", (t) => {
  const order = { order_id: 'ORD-1', customer_id: 'C-42' }
  const ids = orderFifoIds(order, 'hash-a')
  t.is(ids.groupId, 'customer:C-42')
  t.regex(ids.deduplicationId, /^[0-9a-f]{64}$/)
  t.deepEqual(orderFifoIds({ ...order }, 'hash-a'), ids, 'sent twice: one message')
  t.not(orderFifoIds(order, 'hash-b').deduplicationId, ids.deduplicationId, 'other content: another message')
  t.not(orderFifoIds({ ...order, order_id: 'ORD-2' }, 'hash-a').deduplicationId, ids.deduplicationId)
  // Without a customer, the order is its own group.
  t.is(orderFifoIds({ order_id: 'ORD-9' }, 'h').groupId, 'order:ORD-9')
})

test("a group or deduplication id outside SQS's alphabet or length becomes its SHA-256; URLs and ARNs tell FIFO", (t) => {
  t.is(fifoId('customer:C-1'), 'customer:C-1')
  t.regex(fifoId('customer:Zoë'), /^[0-9a-f]{64}$/)
  t.regex(fifoId('c'.repeat(129)), /^[0-9a-f]{64}$/)
  t.regex(fifoId('with space'), /^[0-9a-f]{64}$/)
  t.true(isFifo(FIFO_URL))
  t.true(isFifo('arn:aws:sqs:eu-west-3:123456789012:tp-orders-main.fifo'))
  t.false(isFifo(STANDARD_URL))
})
