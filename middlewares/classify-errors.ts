/**
 * DLQ-aware error classification for batch handlers. The handler returns one settled result per record, in record
 * order (`Promise.allSettled`). In `after`, records that failed permanently (validation, business rule, conflict,
 * malformed JSON, a file that cannot be read) are parked in the dead-letter queue once, with the attribute that
 * says why (lib/aws/dlq.ts; the client is `opts.client`, or one built on first use), and then count as handled; everything else stays failed. For an SQS event,
 * @middy/sqs-partial-batch-failure (used before this middleware, so that its `after` runs after this one) reports
 * those in `batchItemFailures` for SQS to retry; for an event without partial responses (a direct S3 trigger),
 * `rethrow` makes what is still failed fail the invocation, so that Lambda retries it. A record that cannot be
 * parked stays failed: nothing is acknowledged unless it is somewhere.
 */
import type { MiddlewareObj, Request } from '@middy/core'
import type { SQSClient } from '@aws-sdk/client-sqs'
import type { SQSEvent, SQSRecord } from 'aws-lambda'
import { sqsClient } from '../lib/aws/clients.ts'
import { keptAttributes, parkMessages, type Parking } from '../lib/aws/dlq.ts'
import { errorClass, errorMessage, isPermanent } from '../lib/orders/errors.ts'
import { LOG } from '../lib/orders/outcomes.ts'
import { logger as baseLogger, type Logger } from '../lib/runtime/logger.ts'

type BatchEvent = { Records: unknown[] }

/** An SQS record parks as it came: its body, its business attributes, its queue and receive count. */
const parkSqsRecord = (record: unknown): Omit<Parking, 'id' | 'reason'> => {
  const sqs = record as SQSRecord
  return { body: sqs.body, record: sqs, attributes: keptAttributes(sqs.messageAttributes) }
}

const defaults = {
  dlqUrl: '',
  client: undefined as SQSClient | undefined,
  logger: baseLogger as Logger,
  /** What a failed record parks as (default: an SQS record as it came). */
  parking: parkSqsRecord as (record: unknown) => Omit<Parking, 'id' | 'reason'>,
  /** Throw an AggregateError of what is still failed after parking (for events without partial batch responses). */
  rethrow: false,
}

type Settled = PromiseSettledResult<unknown>[]

/** @example .use(sqsPartialBatchFailure({ logger })).use(classifyErrors({ dlqUrl: config.mainDlqUrl, client: sqs })) */
export const classifyErrors = <TEvent extends BatchEvent = SQSEvent>(
  opts: Partial<typeof defaults> = {},
): MiddlewareObj<TEvent, unknown> => {
  const options = { ...defaults, ...opts }
  if (!options.dlqUrl) throw new TypeError('classifyErrors: dlqUrl is required')
  const { logger } = options
  let client = options.client

  /** Parks the permanent failures; @returns the indexes now parked. */
  const park = async (records: unknown[], results: Settled): Promise<number[]> => {
    const permanent = results.flatMap((result, index) =>
      result.status === 'rejected' && isPermanent(result.reason) ? [{ index, reason: result.reason as unknown }] : [],
    )
    if (permanent.length === 0) return []
    let unparked: Set<string>
    try {
      const parkings = permanent.map(({ index, reason }) => ({
        id: String(index),
        reason,
        ...options.parking(records[index]),
      }))
      unparked = await parkMessages((client ??= sqsClient()), options.dlqUrl, parkings)
    } catch (err) {
      logger.error({ err }, 'could not park messages in the DLQ: they will be retried')
      return []
    }
    for (const id of unparked) {
      const messageId = (records[Number(id)] as Partial<SQSRecord>).messageId
      logger.error({ messageId }, 'could not park message in the DLQ: it will be retried')
    }
    const parked = permanent.filter(({ index }) => !unparked.has(String(index)))
    for (const { index, reason } of parked) {
      const messageId = (records[index] as Partial<SQSRecord>).messageId
      logger.warn({ messageId, errorClass: errorClass(reason), error: errorMessage(reason) }, LOG.MESSAGE_PARKED)
    }
    return parked.map(({ index }) => index)
  }

  const classifyErrorsAfter = async (request: Request<TEvent, unknown>): Promise<void> => {
    const records = request.event.Records ?? []
    const results = request.response as Settled
    if (!Array.isArray(results) || results.length !== records.length) {
      throw new TypeError(`classifyErrors: the handler must return one settled result per record (${records.length})`)
    }
    for (const index of await park(records, results)) results[index] = { status: 'fulfilled', value: 'PARKED' }
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
    if (options.rethrow && failed.length > 0) {
      throw new AggregateError(failed, `${failed.length} of ${records.length} records failed and will be retried`)
    }
  }

  return { after: classifyErrorsAfter }
}
