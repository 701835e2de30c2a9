/**
 * One S3 order file through the intake: each line validated and normalised, valid orders sent to the main queue,
 * rejects parked in the main DLQ (with the order as read, or the line's pointer) and announced, ten at a time
 * while the file streams in. Every message carries the file's correlation id and its line's source.
 *
 * Batches are sent while the file goes on streaming, at most `sendsInFlight` of them at once (SENDS_IN_FLIGHT,
 * default 8; one to a FIFO main queue, so that a customer's orders keep the file's order): when that many are on their way, reading waits for one to finish, so memory stays flat whatever the
 * file's size (backpressure through the line stream). The first batch that fails fails the file, once every batch
 * already on its way has settled.
 */
import { randomUUID } from 'node:crypto'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { SNSClient } from '@aws-sdk/client-sns'
import type { SQSClient } from '@aws-sdk/client-sqs'
import { parkMessages } from '../aws/dlq.ts'
import { getFileProgress, isRangeDone, type RangeReport } from '../aws/files.ts'
import type { MetricsBuffer } from '../aws/metrics.ts'
import type { ObjectStore } from '../aws/objects.ts'
import { ATTRIBUTE, isFifo, orderFifoIds, sendMessages, type FailedMessage } from '../aws/queue.ts'
import { announceRejects, type Reject } from '../aws/rejections.ts'
import { errorClass, MalformedOrderError, TransientError, ValidationError } from '../orders/errors.ts'
import { LIMITS } from '../orders/limits.ts'
import { orderHash, orderIdFromS3, orderIdOf, type Order } from '../orders/order.ts'
import { LOG, METRIC } from '../orders/outcomes.ts'
import { parseOrder } from '../orders/validate.ts'
import { DEFAULTS, type Config } from '../runtime/config.ts'
import type { Logger } from '../runtime/logger.ts'
import type { OrderLine } from './lines.ts'
import { completeRange } from './large-file.ts'
import type { FileRange, S3ObjectRef } from './notification.ts'
import { completeFile, ReportBuilder, type FileReport } from './report.ts'

export type ValidatorConfig = Pick<
  Config,
  | 'ordersTable'
  | 'mainQueueUrl'
  | 'mainDlqUrl'
  | 'ingestDlqUrl'
  | 'alertTopicArn'
  | 'metricsNamespace'
  | 'stage'
  | 'defaultCurrency'
  | 'maxOrderAmount'
> &
  Partial<Pick<Config, 'sendsInFlight' | 'ingestQueueUrl' | 'rangeBytes'>>

export interface FileDeps {
  config: ValidatorConfig
  sqs: SQSClient
  dynamo: DynamoDBDocumentClient
  sns: SNSClient
  metrics: MetricsBuffer
  log: Logger
  now: () => Date
  /** Aborted when the invocation runs out of time (middy's timeoutEarly): the file stops between two lines. */
  signal?: AbortSignal
  /** Where the file's report goes (`reports/<key>.json` in its bucket); without it, no report and no file alert. */
  s3?: ObjectStore
}

export interface FileSummary {
  accepted: number
  rejected: number
}

/** `s3://bucket/key?versionId=v#line`: where an order came from, on its messages and rejection records. */
export const lineSource = (ref: S3ObjectRef, line: number): string =>
  `s3://${ref.bucket}/${ref.key}${ref.versionId ? `?versionId=${encodeURIComponent(ref.versionId)}` : ''}#${line}`

interface Valid {
  line: OrderLine
  order: Order
}
interface Rejected {
  line: OrderLine
  error: Error
  orderId?: string
}

/** The reject of an order the main queue refused (too large, a bad attribute): retrying cannot help. */
const refused = ({ line, order }: Valid, f: FailedMessage): Rejected => ({
  line,
  orderId: order.order_id,
  error: new ValidationError([
    { path: '', rule: 'queue', message: `the main queue refused the order: ${f.code} ${f.message}` },
  ]),
})

/** One file's intake: lines in, batches of ten out. */
class FileIntake {
  readonly summary: FileSummary = { accepted: 0, rejected: 0 }
  readonly report = new ReportBuilder()
  readonly startedAt: Date
  readonly correlationId: string
  readonly #receivedAt: string
  #valid: Valid[] = []
  #rejects: Rejected[] = []
  readonly #inFlight = new Set<Promise<void>>()
  readonly #maxInFlight: number
  #failure: { error: unknown } | undefined
  /** The most batches that were on their way at once (for the bench and the tests). */
  maxSendsInFlight = 0

  constructor(
    readonly ref: S3ObjectRef,
    readonly deps: FileDeps,
  ) {
    this.correlationId = ref.correlationId ?? randomUUID()
    this.startedAt = deps.now()
    this.#receivedAt = this.startedAt.toISOString()
    // To a FIFO main queue one batch at a time: a customer's orders keep the file's order.
    this.#maxInFlight = isFifo(deps.config.mainQueueUrl) ? 1 : (deps.config.sendsInFlight ?? DEFAULTS.sendsInFlight)
  }

  #attributes(line: number): Record<string, string> {
    return { [ATTRIBUTE.CORRELATION_ID]: this.correlationId, [ATTRIBUTE.SOURCE]: lineSource(this.ref, line) }
  }

  /** Validates one line into the next batch; sends the batches once ten are ready. */
  async add(line: OrderLine): Promise<void> {
    this.deps.signal?.throwIfAborted()
    if (line.error) this.#rejects.push({ line, error: line.error })
    else this.#validate(line)
    if (this.#valid.length >= LIMITS.SQS_BATCH || this.#rejects.length >= LIMITS.SQS_BATCH) await this.#dispatch()
  }

  /** One line's own outcome: whatever goes wrong while reading it as an order is its reject, never the file's. */
  #validate(line: OrderLine): void {
    const { config } = this.deps
    try {
      const order = parseOrder(line.value, {
        defaultCurrency: config.defaultCurrency,
        maxOrderAmount: config.maxOrderAmount,
        receivedAt: this.#receivedAt,
        bytes: line.bytes,
        structure: line.structure,
        assignOrderId: () => orderIdFromS3(this.ref.bucket, this.ref.key, this.ref.versionId, line.line),
      })
      this.#valid.push({ line, order })
    } catch (err) {
      const error =
        err instanceof ValidationError
          ? err
          : new MalformedOrderError(`line ${line.line} could not be read as an order (${errorClass(err)})`)
      this.#rejects.push({ line, error, orderId: orderIdOf(line.value) })
    }
  }

  /** Starts sending what is waiting; returns once fewer than `sendsInFlight` batches are on their way. */
  async #dispatch(): Promise<void> {
    this.#throwIfFailed()
    const [sending, rejects] = [this.#valid, this.#rejects]
    this.#valid = []
    this.#rejects = []
    if (sending.length === 0 && rejects.length === 0) return
    const task: Promise<void> = this.#send(sending, rejects)
      .catch((error: unknown) => {
        this.#failure ??= { error }
      })
      .finally(() => this.#inFlight.delete(task))
    this.#inFlight.add(task)
    this.maxSendsInFlight = Math.max(this.maxSendsInFlight, this.#inFlight.size)
    while (this.#inFlight.size >= this.#maxInFlight) await Promise.race(this.#inFlight)
    this.#throwIfFailed()
  }

  /** Valid orders to the main queue, then rejects (and what the queue refused) to the DLQ. */
  async #send(sending: Valid[], rejects: Rejected[]): Promise<void> {
    if (sending.length > 0) rejects.push(...(await this.#queue(sending)))
    if (rejects.length > 0) await this.#reject(rejects)
  }

  /** A batch failed: the file fails with its error. */
  #throwIfFailed(): void {
    const failure = this.#failure as { error: unknown } | undefined
    if (failure) throw failure.error
  }

  /** Waits until no batch is on its way. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.#inFlight)
  }

  /** Sends what is left and waits for every batch; @throws the first batch's failure */
  async finish(): Promise<void> {
    try {
      await this.#dispatch()
    } finally {
      await this.settle()
    }
    this.#throwIfFailed()
  }

  /** @returns the orders the queue refused for what they are; @throws TransientError when it keeps failing */
  async #queue(sending: Valid[]): Promise<Rejected[]> {
    const { deps } = this
    const messages = sending.map(({ line, order }, i) => ({
      id: String(i),
      body: JSON.stringify(order),
      attributes: this.#attributes(line.line),
      ...orderFifoIds(order, orderHash(order, deps.config.defaultCurrency)),
    }))
    const failed = await sendMessages(deps.sqs, deps.config.mainQueueUrl, messages)
    const transient = failed.filter((f) => !f.senderFault)
    if (transient.length > 0) {
      throw new TransientError(`${transient.length} orders could not be queued (${transient[0]?.code})`)
    }
    const queued = sending.length - failed.length
    deps.metrics.count(METRIC.ACCEPTED, queued)
    this.summary.accepted += queued
    return failed.map((f) => refused(sending[Number(f.id)]!, f))
  }

  async #reject(batch: Rejected[]): Promise<void> {
    const { deps, ref } = this
    const now = deps.now()
    const parkings = batch.map((r, i) => ({
      id: String(i),
      // The order as read; for a line that is not one, its raw text (bounded), else where it was.
      body:
        r.line.value !== undefined
          ? JSON.stringify(r.line.value)
          : (r.line.raw ?? `line ${r.line.line} of ${lineSource(ref, r.line.line)}`),
      reason: r.error,
      attributes: this.#attributes(r.line.line),
    }))
    const unparked = await parkMessages(deps.sqs, deps.config.mainDlqUrl, parkings, now)
    if (unparked.size > 0) throw new TransientError(`${unparked.size} rejected orders could not be parked in the DLQ`)
    const rejects = batch.map((r): Reject => ({
      error: r.error,
      orderId: r.orderId,
      source: lineSource(ref, r.line.line),
      correlationId: this.correlationId,
      subject: `Order rejected from ${ref.key}`,
    }))
    // No alert per line: the file's report announces its rejects once (report.ts).
    await announceRejects(rejects, { ...deps, now, alertFor: () => false })
    for (const r of batch) this.report.add(r.line.line, r.error)
    this.summary.rejected += batch.length
  }
}

const fileReport = (file: FileIntake, ref: S3ObjectRef, finished: Date): FileReport => {
  const durationMs = Math.max(1, finished.getTime() - file.startedAt.getTime())
  const lines = file.summary.accepted + file.summary.rejected
  return {
    bucket: ref.bucket,
    key: ref.key,
    versionId: ref.versionId,
    correlationId: file.correlationId,
    ...file.summary,
    rejectedByReason: file.report.byReason,
    rejects: file.report.rejects,
    startedAt: file.startedAt.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs,
    linesPerSecond: Math.round((lines * 1000) / durationMs),
    ranges: 1,
  }
}

/** A range's share of its file's report. */
const rangeShare = (file: FileIntake, range: FileRange, finished: Date): RangeReport => ({
  index: range.index,
  ...file.summary,
  rejectedByReason: file.report.byReason,
  rejects: file.report.rejects,
  startedAt: file.startedAt.toISOString(),
  finishedAt: finished.toISOString(),
})

/**
 * Validates every order of one file (or of one range of a large file, `ref.range`), sending valid ones to the main
 * queue and parking rejects in the main DLQ, ten at a time while the file streams in; then the file's report (a
 * range: its share, and the file's report when it is the last, see large-file.ts).
 * @throws TransientError when the queue keeps refusing entries (the file is then retried: orders already sent
 * come back as DUPLICATE in the worker; rejects may repeat in the DLQ, each with its source line)
 */
export const validateFile = async (
  ref: S3ObjectRef,
  lines: AsyncIterable<OrderLine>,
  deps: FileDeps,
): Promise<FileSummary> => {
  const { bucket, key, versionId, range } = ref
  if (range && deps.s3) {
    const progress = await getFileProgress(deps.dynamo, deps.config.ordersTable, ref)
    if (isRangeDone(progress, range.index)) {
      const correlationId = ref.correlationId
      deps.log.info({ correlationId, bucket, key, versionId, range: range.index }, LOG.RANGE_ALREADY_DONE)
      return { accepted: 0, rejected: 0 }
    }
  }
  const file = new FileIntake(ref, deps)
  try {
    for await (const line of lines) await file.add(line)
  } catch (err) {
    await file.settle() // the batches already on their way settle before the file fails
    throw err
  }
  await file.finish()
  if (deps.s3) {
    const done = { ...deps, s3: deps.s3, config: { ...deps.config, ...largeFileSettings(deps.config) } }
    if (range) await completeRange({ ...ref, range }, rangeShare(file, range, deps.now()), done)
    else await completeFile(ref, fileReport(file, ref, deps.now()), done)
  }
  const sendsInFlight = file.maxSendsInFlight
  deps.log.info(
    {
      correlationId: file.correlationId,
      bucket,
      key,
      versionId,
      ...(range ? { range: range.index } : {}),
      ...file.summary,
      sendsInFlight,
    },
    LOG.FILE_VALIDATED,
  )
  return file.summary
}

const largeFileSettings = (config: ValidatorConfig) => ({
  ingestQueueUrl: config.ingestQueueUrl,
  rangeBytes: config.rangeBytes ?? DEFAULTS.rangeBytes,
})
