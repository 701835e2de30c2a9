/**
 * Reading and replaying a dead-letter queue without losing anything: messages are received (hidden for a while),
 * grouped or replayed, and every message not replayed is made visible again at once. A replayed message is sent to
 * its source queue first and deleted from the DLQ only after that send succeeded; an interruption between the two
 * leaves a copy in both, which the worker's duplicate detection absorbs (SQS is at-least-once anyway).
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import { setTimeout as sleep } from 'node:timers/promises'
import { describeMessage, replayAttributes, type DlqMessage } from '../../lib/aws/dlq.ts'
import { formatAge } from '../format.ts'
import { fifoId, isFifo, stringAttributes } from '../../lib/aws/queue.ts'
import { batchesOf } from '../../lib/orders/limits.ts'
import { PERMANENT_ERROR_CLASSES } from '../../lib/orders/errors.ts'

/**
 * Receives every message of the queue once, hidden for `visibilitySeconds` (make them visible again with
 * `release`). It stops when a receive brings none new, so a visibility of 0 sees only the first messages again and
 * again: to look without taking, use `peekAll`.
 */
export const receiveAll = async (
  sqs: SQSClient,
  queueUrl: string,
  visibilitySeconds: number,
  max = Infinity,
): Promise<Message[]> => {
  const seen = new Map<string, Message>()
  while (seen.size < max) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: visibilitySeconds,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    )
    const fresh = Messages.filter((m) => !seen.has(m.MessageId!))
    if (fresh.length === 0) break
    for (const m of fresh) seen.set(m.MessageId!, m)
  }
  return [...seen.values()].slice(0, max)
}

/** Makes messages visible again now. */
export const release = async (sqs: SQSClient, queueUrl: string, messages: Message[]): Promise<void> => {
  for (const batch of batchesOf(messages)) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
      }),
    )
  }
}

/**
 * Every message of a dead-letter queue, read and made visible again at once: hidden for a moment while read, so
 * that each comes once (a receive with visibility 0 answers the same first messages again, on moto at least, and
 * would stop at them). Only for a queue nothing consumes, as a DLQ: a consumer would not see them meanwhile.
 */
export const peekAll = async (sqs: SQSClient, queueUrl: string, max = Infinity): Promise<Message[]> => {
  const messages = await receiveAll(sqs, queueUrl, 30, max)
  await release(sqs, queueUrl, messages)
  return messages
}

/** The queue whose redrive policy sends its failures to `dlqArn` (moto's DLQ messages carry no source ARN). */
export const sourceQueueOf = async (sqs: SQSClient, dlqArn: string): Promise<string | undefined> => {
  const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({ MaxResults: 1000 }))
  for (const url of QueueUrls) {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['RedrivePolicy'] }),
    )
    if (
      Attributes.RedrivePolicy &&
      (JSON.parse(Attributes.RedrivePolicy) as { deadLetterTargetArn?: string }).deadLetterTargetArn === dlqArn
    )
      return url
  }
  return undefined
}

export const queueUrlOfArn = (arn: string, like: string): string => {
  const [, , , region, account, name] = arn.split(':')
  const url = new URL(like)
  return url.hostname.startsWith('sqs.') || url.hostname === 'localhost'
    ? `${url.protocol}//${url.host}/${account}/${name}`
    : `https://sqs.${region}.amazonaws.com/${account}/${name}`
}

/** The DLQ's messages grouped by error class: counts, ages, example reasons, orders and where they came in. */
export const summarise = (messages: DlqMessage[], now = Date.now()) => {
  const groups = new Map<string, DlqMessage[]>()
  for (const m of messages) groups.set(m.errorClass, [...(groups.get(m.errorClass) ?? []), m])
  return [...groups]
    .map(([errorClass, list]) => {
      const ages = list.map((m) => now - m.parkedAt.getTime())
      return {
        class: errorClass,
        count: list.length,
        oldest: formatAge(Math.max(...ages)),
        newest: formatAge(Math.min(...ages)),
        example: (list[0]?.reason ?? '').slice(0, 90),
        orders: [...new Set(list.map((m) => m.orderId).filter(Boolean))].slice(0, 3).join(', '),
        sources: [...new Set(list.map((m) => m.source).filter(Boolean))].slice(0, 3).join(', '),
      }
    })
    .sort((a, b) => b.count - a.count)
}

export interface Filters {
  errorClasses?: string[]
  orderIds?: string[]
  /** Only messages parked at least this long ago. */
  olderThanMs?: number
  newerThanMs?: number
  includePermanent?: boolean
  maxReplays: number
}

/** Why a message is not replayed, or undefined when it is. */
export const skipReason = (m: DlqMessage, filters: Filters, now = Date.now()): string | undefined => {
  if (filters.errorClasses?.length && !filters.errorClasses.includes(m.errorClass)) return 'error class not selected'
  if (filters.orderIds?.length && (!m.orderId || !filters.orderIds.includes(m.orderId))) return 'order id not selected'
  const age = now - m.parkedAt.getTime()
  if (filters.olderThanMs !== undefined && age < filters.olderThanMs) return 'too recent'
  if (filters.newerThanMs !== undefined && age > filters.newerThanMs) return 'too old'
  if (PERMANENT_ERROR_CLASSES.includes(m.errorClass) && !filters.includePermanent)
    return 'permanent reject (use --include-permanent)'
  if (m.replayCount >= filters.maxReplays) return `replayed ${m.replayCount} times already`
  return undefined
}

export interface ReplayReport {
  replayed: number
  skipped: number
  failed: number
  interrupted: boolean
  failures: { messageId: string; error: string }[]
}

export interface ReplayOptions {
  sqs: SQSClient
  dlqUrl: string
  /** Source queue URL when a message does not name one. */
  fallbackSourceUrl?: string
  messages: DlqMessage[]
  filters: Filters
  dryRun: boolean
  /** Messages per second. */
  rate: number
  signal?: AbortSignal
  onProgress?: (done: number, message: DlqMessage, outcome: 'replayed' | 'skipped' | 'failed' | 'would replay') => void
}

/**
 * To a FIFO source queue (QueueType fifo): the message goes back to its own group, with a deduplication id of its
 * own replay (its message id and replay count), so that SQS does not drop it as the copy it was.
 */
export const replayFifoIds = (
  target: string,
  m: DlqMessage,
): { MessageGroupId?: string; MessageDeduplicationId?: string } =>
  isFifo(target)
    ? {
        MessageGroupId: fifoId(m.message.Attributes?.MessageGroupId ?? 'replayed'),
        MessageDeduplicationId: fifoId(`replay-${m.message.MessageId ?? ''}-${m.replayCount + 1}`),
      }
    : {}

/** Replays the selected messages one by one, releases the rest; stops between two messages when `signal` aborts. */
export const replay = async (options: ReplayOptions): Promise<ReplayReport> => {
  const report: ReplayReport = { replayed: 0, skipped: 0, failed: 0, interrupted: false, failures: [] }
  const unreplayed: Message[] = []
  const interval = 1000 / Math.max(0.1, options.rate)
  let done = 0
  for (const m of options.messages) {
    if (options.signal?.aborted) {
      report.interrupted = true
      unreplayed.push(m.message)
      continue
    }
    const skip = skipReason(m, options.filters)
    const target = m.sourceQueueArn ? queueUrlOfArn(m.sourceQueueArn, options.dlqUrl) : options.fallbackSourceUrl
    if (skip || !target || options.dryRun) {
      unreplayed.push(m.message)
      if (skip || !target) report.skipped++
      options.onProgress?.(++done, m, skip || !target ? 'skipped' : 'would replay')
      continue
    }
    const started = Date.now()
    try {
      await options.sqs.send(
        new SendMessageCommand({
          QueueUrl: target,
          MessageBody: m.message.Body!,
          MessageAttributes: stringAttributes(replayAttributes(m)),
          ...replayFifoIds(target, m),
        }),
      )
    } catch (err) {
      report.failed++
      report.failures.push({ messageId: m.message.MessageId!, error: (err as Error).message })
      unreplayed.push(m.message)
      options.onProgress?.(++done, m, 'failed')
      continue
    }
    // Deleted only once the copy is safely in its source queue.
    await options.sqs.send(
      new DeleteMessageCommand({ QueueUrl: options.dlqUrl, ReceiptHandle: m.message.ReceiptHandle! }),
    )
    report.replayed++
    options.onProgress?.(++done, m, 'replayed')
    const wait = interval - (Date.now() - started)
    if (wait > 0) await sleep(wait)
  }
  await release(options.sqs, options.dlqUrl, unreplayed)
  return report
}

/** What a replay did (or, dry, would do) with one message. */
export type PlannedMessage = {
  messageId: string
  class: string
  order: string
  action: string
}

export interface DlqReplay extends ReplayReport {
  /** The source queue of the messages that name none: the queue whose redrive policy targets this DLQ. */
  source: string | undefined
  dryRun: boolean
  considered: number
  messages: PlannedMessage[]
}

/**
 * A DLQ's replay as `npm run redrive -- --replay` and the console run it: every message received (hidden for 15
 * minutes while the replay works through them: 9,000 at 10 a second; 30 s for a dry run), replayed or skipped by
 * `filters`, the rest made visible again. `onProgress` sees each message's action as it is decided.
 */
export const replayDlq = async (options: {
  sqs: SQSClient
  dlqUrl: string
  filters: Filters
  dryRun: boolean
  rate: number
  max?: number
  signal?: AbortSignal
  onStart?: (total: number) => void
  onProgress?: (done: number, planned: PlannedMessage) => void
}): Promise<DlqReplay> => {
  const { sqs, dlqUrl, filters, dryRun } = options
  if (!(options.rate > 0)) throw new Error('rate must be a positive number of messages per second')
  const messages = (await receiveAll(sqs, dlqUrl, dryRun ? 30 : 900, options.max)).map(describeMessage)
  options.onStart?.(messages.length)
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  )
  const source = await sourceQueueOf(sqs, Attributes.QueueArn!)
  const planned: PlannedMessage[] = []
  const report = await replay({
    sqs,
    dlqUrl,
    fallbackSourceUrl: source,
    messages,
    filters,
    dryRun,
    rate: options.rate,
    signal: options.signal,
    onProgress: (done, m, outcome) => {
      const entry = {
        messageId: m.message.MessageId!,
        class: m.errorClass,
        order: m.orderId ?? '',
        action: outcome === 'skipped' ? `skip: ${skipReason(m, filters) ?? 'no source queue'}` : outcome,
      }
      planned.push(entry)
      options.onProgress?.(done, entry)
    },
  })
  return { ...report, source, dryRun, considered: messages.length, messages: planned }
}
