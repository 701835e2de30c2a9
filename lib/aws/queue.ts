/**
 * SQS batch sends that lose nothing: entries are chunked by 10 and by 1 MiB, entries that come back Failed are
 * retried (SQS does not throw for them), and what still fails is returned to the caller, who decides (retry the
 * record, or park it). To a FIFO queue (a URL ending in .fifo, QueueType fifo) every entry carries its message
 * group and deduplication ids, and the batches go one after the other, so that a group keeps its order.
 */
import {
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { LIMITS } from '../orders/limits.ts'

/** Message attribute names on our queues. */
export const ATTRIBUTE = {
  CORRELATION_ID: 'correlation_id',
  SOURCE: 'source',
  ERROR: 'error',
  REPLAY_COUNT: 'replay_count',
} as const

export interface OutgoingMessage {
  id: string
  body: string
  attributes?: Record<string, string>
  /** FIFO queues only: the messages of one group are delivered in order (default: one group for everything). */
  groupId?: string
  /** FIFO queues only: SQS drops a message with an id it saw in the last 5 minutes (default: the body's SHA-256). */
  deduplicationId?: string
}

/** A FIFO queue's URL or ARN ends in .fifo. */
export const isFifo = (queue: string): boolean => queue.endsWith('.fifo')

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

/** SQS's alphabet for group and deduplication ids: 1 to 128 printable ASCII characters. */
const FIFO_ID = /^[\x21-\x7e]{1,128}$/

/** A group or deduplication id from any text: the text itself when SQS accepts it, else its SHA-256. */
export const fifoId = (text: string): string => (FIFO_ID.test(text) ? text : sha256(text))

/**
 * The FIFO ids of an order: its customer's group (a customer's orders in the order they came), and a deduplication
 * id from the order id and the content hash, so that the same order sent twice within 5 minutes is queued once,
 * while a corrected order (same id, other content) is not mistaken for it.
 */
export const orderFifoIds = (
  order: { order_id: string; customer_id?: string },
  hash: string,
): { groupId: string; deduplicationId: string } => ({
  groupId: fifoId(order.customer_id ? `customer:${order.customer_id}` : `order:${order.order_id}`),
  deduplicationId: sha256(`${order.order_id}\n${hash}`),
})

export interface FailedMessage {
  id: string
  code: string
  message: string
  /** SQS says the entry itself is wrong (too big, bad attribute): retrying cannot help. */
  senderFault: boolean
}

export const stringAttributes = (attributes: Record<string, string> = {}): Record<string, MessageAttributeValue> =>
  Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
  )

/**
 * Sends messages with SendMessageBatch (ids must be unique among `messages` and match [A-Za-z0-9_-]{1,80}).
 * @returns the entries that could not be sent after LIMITS.BATCH_RETRY_ATTEMPTS attempts, or that SQS refused
 */
/** A message's size as SQS counts it: the body, and each attribute's name, type and value. */
const sizeOf = (m: OutgoingMessage): number =>
  Buffer.byteLength(m.body, 'utf8') +
  Object.entries(m.attributes ?? {}).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + 'String'.length + Buffer.byteLength(value),
    0,
  )

/** Batches of at most 10 entries and LIMITS.SQS_BATCH_BYTES (SQS refuses a larger request whole), in order. */
export const sendBatchesOf = (messages: OutgoingMessage[]): OutgoingMessage[][] => {
  const batches: OutgoingMessage[][] = []
  let batch: OutgoingMessage[] = []
  let bytes = 0
  for (const m of messages) {
    const size = sizeOf(m)
    if (batch.length > 0 && (batch.length === LIMITS.SQS_BATCH || bytes + size > LIMITS.SQS_BATCH_BYTES)) {
      batches.push(batch)
      batch = []
      bytes = 0
    }
    batch.push(m)
    bytes += size
  }
  if (batch.length > 0) batches.push(batch)
  return batches
}

export const sendMessages = async (
  client: SQSClient,
  queueUrl: string,
  messages: OutgoingMessage[],
): Promise<FailedMessage[]> => {
  const failed: FailedMessage[] = []
  const fifo = isFifo(queueUrl)
  const fifoFields = (m: OutgoingMessage) =>
    fifo
      ? {
          MessageGroupId: fifoId(m.groupId ?? 'orders'),
          MessageDeduplicationId: fifoId(m.deduplicationId ?? sha256(m.body)),
        }
      : {}
  const sendBatch = async (batch: OutgoingMessage[]): Promise<void> => {
    let pending = batch
    for (let attempt = 1; pending.length > 0; attempt++) {
      const byId = new Map(pending.map((m) => [m.id, m]))
      const response = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: pending.map((m) => ({
            Id: m.id,
            MessageBody: m.body,
            MessageAttributes: stringAttributes(m.attributes),
            ...fifoFields(m),
          })),
        }),
      )
      const retry: OutgoingMessage[] = []
      for (const f of response.Failed ?? []) {
        const message = byId.get(f.Id ?? '')
        if (!message) continue
        if (f.SenderFault || attempt >= LIMITS.BATCH_RETRY_ATTEMPTS) {
          failed.push({
            id: message.id,
            code: f.Code ?? 'Unknown',
            message: f.Message ?? '',
            senderFault: Boolean(f.SenderFault),
          })
        } else {
          retry.push(message)
        }
      }
      pending = retry
      if (pending.length > 0) await sleep(50 * 2 ** attempt)
    }
  }
  const batches = sendBatchesOf(messages)
  if (fifo) for (const batch of batches) await sendBatch(batch)
  else await Promise.all(batches.map(sendBatch))
  return failed
}

/** Messages in a queue, waiting or in flight (SQS's approximate counts). */
export const queueDepth = async (client: SQSClient, queueUrl: string): Promise<number> => {
  const { Attributes = {} } = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  )
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
  )
}
