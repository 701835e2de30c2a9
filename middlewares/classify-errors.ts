/**
 * DLQ-aware error classification for SQS batch handlers. The handler returns one settled result per record, in
 * record order (`Promise.allSettled`). In `after`, records that failed permanently (validation, business rule,
 * conflict, malformed JSON, a file that cannot be read) are sent to the dead-letter queue once, with attributes
 * that say why, and then count as handled; everything else stays failed, and @middy/sqs-partial-batch-failure
 * (used before this middleware, so that its `after` runs after this one) reports it in `batchItemFailures` for
 * SQS to retry. A record that cannot be parked stays failed: nothing is acknowledged unless it is somewhere.
 */
import type { MiddlewareObj, Request } from '@middy/core'
import type { SQSEvent, SQSRecord } from 'aws-lambda'
import type { SQSClient } from '@aws-sdk/client-sqs'
import { sqsClient } from '../lib/aws/clients.ts'
import { ATTRIBUTE } from '../lib/orders/constants.ts'
import { errorClass, errorMessage, isPermanent, ValidationError, type FieldError } from '../lib/orders/errors.ts'
import { logger as baseLogger, type Logger } from '../lib/runtime/logger.ts'
import { sendMessages } from '../lib/aws/queue.ts'

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
}

/** The error attribute of a message parked because of `err`. */
export const parkedError = (err: unknown, record?: SQSRecord, now = new Date()): ParkedError => ({
  class: errorClass(err),
  message: errorMessage(err),
  fields: err instanceof ValidationError ? err.fields : undefined,
  source_queue: record?.eventSourceARN,
  message_id: record?.messageId,
  receive_count: record ? Number(record.attributes.ApproximateReceiveCount) : undefined,
  parked_at: now.toISOString(),
})

/** Business attributes travel on (correlation id, source, replay count); our own error attribute is replaced. */
export const keptAttributes = (record: SQSRecord): Record<string, string> =>
  Object.fromEntries(
    [ATTRIBUTE.CORRELATION_ID, ATTRIBUTE.SOURCE, ATTRIBUTE.REPLAY_COUNT]
      .map((name) => [name, record.messageAttributes?.[name]?.stringValue])
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
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

/**
 * Sends messages to a dead-letter queue with the `error` attribute that says why (one JSON attribute: SQS allows
 * 10). Every parking path uses it: the SQS chains through `classifyErrors`, the validator for rejected lines and
 * for files of a direct S3 event.
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
    parkings.map((p) => ({
      id: p.id,
      body: p.body,
      attributes: { ...p.attributes, [ATTRIBUTE.ERROR]: JSON.stringify(parkedError(p.reason, p.record, now)) },
    })),
  )
  return new Set(failed.map((f) => f.id))
}

const defaults = {
  dlqUrl: '',
  client: undefined as SQSClient | undefined,
  logger: baseLogger as Logger,
}

type Settled = PromiseSettledResult<unknown>[]

/** @example .use(sqsPartialBatchFailure({ logger })).use(classifyErrors({ dlqUrl: config.mainDlqUrl })) */
export const classifyErrors = (opts: Partial<typeof defaults> = {}): MiddlewareObj<SQSEvent, unknown> => {
  const options = { ...defaults, ...opts }
  if (!options.dlqUrl) throw new TypeError('classifyErrors: dlqUrl is required')
  const client = options.client ?? sqsClient()

  const classifyErrorsAfter = async (request: Request<SQSEvent, unknown>): Promise<void> => {
    const records = request.event.Records ?? []
    const results = request.response as Settled
    if (!Array.isArray(results) || results.length !== records.length) {
      throw new TypeError(`classifyErrors: the handler must return one settled result per record (${records.length})`)
    }
    const permanent = records.flatMap((record, index) => {
      const result = results[index]
      return result?.status === 'rejected' && isPermanent(result.reason)
        ? [{ record, index, reason: result.reason as unknown }]
        : []
    })
    if (permanent.length === 0) return
    let unparked: Set<string>
    try {
      unparked = await parkMessages(
        client,
        options.dlqUrl,
        permanent.map(({ record, index, reason }) => ({
          id: String(index),
          body: record.body,
          reason,
          record,
          attributes: keptAttributes(record),
        })),
      )
      for (const id of unparked)
        options.logger.error(
          { messageId: records[Number(id)]?.messageId },
          'could not park message in the DLQ: it will be retried',
        )
    } catch (err) {
      options.logger.error({ err }, 'could not park messages in the DLQ: they will be retried')
      return
    }
    for (const { record, index, reason } of permanent) {
      if (unparked.has(String(index))) continue
      options.logger.warn(
        { messageId: record.messageId, errorClass: errorClass(reason), error: errorMessage(reason) },
        'message parked in the DLQ',
      )
      results[index] = { status: 'fulfilled', value: 'PARKED' }
    }
  }

  return { after: classifyErrorsAfter }
}
