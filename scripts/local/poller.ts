/**
 * Lambda's SQS event source, played locally: long-polls a queue, hands each batch to the function as an SQS event,
 * and deletes exactly the messages Lambda would delete. A missing or empty `batchItemFailures` means all succeeded;
 * an identifier that is empty or not in the batch, a thrown error or a timeout fails the whole batch. Failed
 * messages come back after the visibility timeout, and the queue's own redrive policy moves them to the DLQ after
 * maxReceiveCount.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs'
import type { SQSEvent, SQSRecord } from 'aws-lambda'

export interface PollerOptions {
  sqs: SQSClient
  queueUrl: string
  queueArn: string
  region: string
  batchSize: number
  invoke: (event: SQSEvent) => Promise<unknown>
  /** Called after each batch: how many were deleted and how many will come back. */
  onBatch?: (report: { received: number; deleted: number; failed: number; error?: Error }) => void
}

/** The record Lambda builds from a received message. */
export const toRecord = (message: Message, queueArn: string, region: string): SQSRecord => ({
  messageId: message.MessageId!,
  receiptHandle: message.ReceiptHandle!,
  body: message.Body ?? '',
  attributes: {
    ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
    SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
    SenderId: message.Attributes?.SenderId ?? 'local',
    ApproximateFirstReceiveTimestamp: message.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    // A FIFO queue's, as Lambda passes them.
    ...(message.Attributes?.MessageGroupId
      ? {
          MessageGroupId: message.Attributes.MessageGroupId,
          MessageDeduplicationId: message.Attributes.MessageDeduplicationId,
          SequenceNumber: message.Attributes.SequenceNumber,
        }
      : {}),
  },
  messageAttributes: Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
      name,
      {
        stringValue: value.StringValue,
        binaryValue: value.BinaryValue ? Buffer.from(value.BinaryValue).toString('base64') : undefined,
        stringListValues: [],
        binaryListValues: [],
        dataType: value.DataType ?? 'String',
      },
    ]),
  ),
  md5OfBody: message.MD5OfBody ?? '',
  eventSource: 'aws:sqs',
  eventSourceARN: queueArn,
  awsRegion: region,
})

/**
 * The message ids to keep (not delete) after an invocation's response, with Lambda's rules.
 * @returns 'all' when the whole batch counts as failed
 */
export const failedIds = (response: unknown, records: SQSRecord[]): Set<string> | 'all' => {
  const failures = (response as { batchItemFailures?: unknown } | null | undefined)?.batchItemFailures
  if (failures === undefined || failures === null) return new Set()
  if (!Array.isArray(failures)) return 'all'
  const ids = new Set(records.map((r) => r.messageId))
  const failed = new Set<string>()
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier
    if (typeof id !== 'string' || !ids.has(id)) return 'all'
    failed.add(id)
  }
  return failed
}

/** Polls until `signal` aborts. */
export const pollQueue = async (options: PollerOptions, signal: AbortSignal): Promise<void> => {
  const { sqs, queueUrl } = options
  while (!signal.aborted) {
    let messages: Message[]
    try {
      const received = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, options.batchSize),
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: signal },
      )
      messages = received.Messages ?? []
    } catch (err) {
      if (signal.aborted) return
      options.onBatch?.({ received: 0, deleted: 0, failed: 0, error: err as Error })
      await sleep(1000)
      continue
    }
    if (messages.length === 0) continue
    const records = messages.map((m) => toRecord(m, options.queueArn, options.region))
    let failed: Set<string> | 'all'
    let error: Error | undefined
    try {
      failed = failedIds(await options.invoke({ Records: records }), records)
    } catch (err) {
      failed = 'all'
      error = err as Error
    }
    const done = failed === 'all' ? [] : records.filter((r) => !failed.has(r.messageId))
    if (done.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
        }),
      )
    }
    options.onBatch?.({ received: records.length, deleted: done.length, failed: records.length - done.length, error })
  }
}
