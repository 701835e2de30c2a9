/**
 * The dead-letter message format, written and read here only. A parked message keeps the body it had (or, for a
 * line of a file, the order as read) and its business attributes (correlation id, source, replay count), and
 * carries one JSON `error` attribute that says why (SQS allows 10 attributes: one is enough). A message moved by a
 * queue's redrive policy has no `error` attribute: it reads as class `Retried`.
 */
import { createHash } from 'node:crypto'
import type { Message, SQSClient } from '@aws-sdk/client-sqs'
import type { SQSRecord } from 'aws-lambda'
import { boundedFields, errorClass, errorMessage, ValidationError, type FieldError } from '../orders/errors.ts'
import { excerpt } from '../orders/json.ts'
import { LIMITS } from '../orders/limits.ts'
import { orderIdOf } from '../orders/order.ts'
import { ATTRIBUTE, sendMessages } from './queue.ts'

/** What the `error` attribute of a parked message holds (JSON). */
export interface ParkedError {
  class: string
  message: string
  fields?: FieldError[]
  /** ARN of the queue the message came from: where a replay sends it back. */
  source_queue?: string
  message_id?: string
  receive_count?: number
  parked_at: string
  /** Set when the body was too large to park whole: its length in bytes (the body is then an excerpt). */
  body_bytes?: number
}

/** The class of a message the redrive policy moved (it failed transiently maxReceiveCount times). */
export const RETRIED = 'Retried'

/** The error attribute of a message parked because of `err`. */
export const parkedError = (err: unknown, record?: SQSRecord, now = new Date()): ParkedError => ({
  class: errorClass(err),
  message: errorMessage(err),
  fields: err instanceof ValidationError ? boundedFields(err.fields) : undefined,
  source_queue: record?.eventSourceARN,
  message_id: record?.messageId,
  receive_count: record?.attributes?.ApproximateReceiveCount
    ? Number(record.attributes.ApproximateReceiveCount)
    : undefined,
  parked_at: now.toISOString(),
})

/** The attributes that travel with a message through parking and replay; our own `error` attribute does not. */
const KEPT = [ATTRIBUTE.CORRELATION_ID, ATTRIBUTE.SOURCE, ATTRIBUTE.REPLAY_COUNT] as const

/** String message attributes as a Lambda event (`stringValue`) or the SDK (`StringValue`) gives them. */
type Attributes = Record<string, { stringValue?: string; StringValue?: string }> | undefined

/** The business attributes of a message: correlation id, source, replay count. */
export const keptAttributes = (attributes: Attributes): Record<string, string> =>
  Object.fromEntries(
    KEPT.map((name) => [name, attributes?.[name]?.stringValue ?? attributes?.[name]?.StringValue]).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string',
    ),
  )

/** A message to park: its body, the attributes it keeps, and why it is parked. */
export interface Parking {
  id: string
  body: string
  reason: unknown
  attributes?: Record<string, string>
  /** The SQS record it came from (its queue, id and receive count go into the error attribute). */
  record?: SQSRecord
}

/** The body of a parked message that was too large to park whole: where it came from, how long, how it began. */
export interface TruncatedBody {
  truncated: true
  bytes: number
  source?: string
  excerpt: string
}

/**
 * A body within LIMITS.MAX_PARKED_BODY_BYTES as it is; a larger one as a TruncatedBody (JSON), so that parking
 * always succeeds (SQS refuses a message over 1 MiB, and the whole batch request over 1 MiB).
 */
export const boundedBody = (body: string, source?: string): { body: string; bytes?: number } => {
  const bytes = Buffer.byteLength(body, 'utf8')
  if (bytes <= LIMITS.MAX_PARKED_BODY_BYTES) return { body }
  const truncated: TruncatedBody = { truncated: true, bytes, source, excerpt: excerpt(body) }
  return { body: JSON.stringify(truncated), bytes }
}

/**
 * Sends messages to a dead-letter queue with the `error` attribute that says why. Every parking path uses it: the
 * SQS chains through `classifyErrors`, the validator for rejected lines, and a direct S3 event for its files.
 * @returns the ids that could not be parked
 */
export const parkMessages = async (
  client: SQSClient,
  dlqUrl: string,
  parkings: Parking[],
  now = new Date(),
): Promise<Set<string>> => {
  const failed = await sendMessages(
    client,
    dlqUrl,
    parkings.map((p) => {
      const { body, bytes } = boundedBody(p.body, p.attributes?.[ATTRIBUTE.SOURCE] ?? p.record?.eventSourceARN)
      const error: ParkedError = { ...parkedError(p.reason, p.record, now), ...(bytes ? { body_bytes: bytes } : {}) }
      const attributes = { ...p.attributes, [ATTRIBUTE.ERROR]: JSON.stringify(error) }
      // A FIFO DLQ (QueueType fifo): the message stays in its group; each parking is its own message.
      const groupId = (p.record?.attributes as { MessageGroupId?: string } | undefined)?.MessageGroupId ?? 'parked'
      const deduplicationId = createHash('sha256')
        .update(`${p.record?.messageId ?? ''}\n${body}\n${JSON.stringify(attributes)}`)
        .digest('hex')
      return { id: p.id, body, attributes, groupId, deduplicationId }
    }),
  )
  return new Set(failed.map((f) => f.id))
}

/** A DLQ message as read back. */
export interface DlqMessage {
  message: Message
  /** Error class from our error attribute; `Retried` for a message moved by the redrive policy. */
  errorClass: string
  reason: string
  orderId?: string
  /** When it reached the DLQ (our parked_at, else SQS's SentTimestamp). */
  parkedAt: Date
  sourceQueueArn?: string
  /** Where the order came in: `api`, or the S3 object and line (`s3://bucket/key#line`). */
  source?: string
  replayCount: number
}

const parseOr = <T>(text: string, fallback: T): T => {
  try {
    return JSON.parse(text) as T
  } catch {
    return fallback
  }
}

/** Reads a received DLQ message (received with MessageAttributeNames and MessageSystemAttributeNames `All`). */
export const describeMessage = (message: Message): DlqMessage => {
  const error = parseOr<Partial<ParkedError>>(message.MessageAttributes?.[ATTRIBUTE.ERROR]?.StringValue ?? '{}', {})
  const sent = Number(message.Attributes?.SentTimestamp ?? Date.now())
  return {
    message,
    errorClass: error.class ?? RETRIED,
    reason:
      error.message ??
      `moved by the redrive policy after ${message.Attributes?.ApproximateReceiveCount ?? '?'} receives here`,
    orderId: orderIdOf(parseOr<unknown>(message.Body ?? '', undefined)),
    parkedAt: error.parked_at ? new Date(error.parked_at) : new Date(sent),
    sourceQueueArn: error.source_queue,
    source: message.MessageAttributes?.[ATTRIBUTE.SOURCE]?.StringValue,
    replayCount: Number(message.MessageAttributes?.[ATTRIBUTE.REPLAY_COUNT]?.StringValue ?? 0),
  }
}

/** The attributes of a message as replayed: business attributes kept, error attribute dropped, replay count + 1. */
export const replayAttributes = (m: DlqMessage): Record<string, string> => ({
  ...keptAttributes(m.message.MessageAttributes),
  [ATTRIBUTE.REPLAY_COUNT]: String(m.replayCount + 1),
})
