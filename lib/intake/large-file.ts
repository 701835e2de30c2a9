/**
 * A file larger than one range (RANGE_BYTES, default 8 MiB) is not read in one invocation: its planning cuts it into
 * ranges (ranges.ts) and sends each as its own ingest message, so that Lambda's concurrency reads them side by side,
 * each within its own timeout; its report is written once the last range is done.
 *
 * 1. Planning, in parts of at most 100 ranges: the file's record is started (lib/aws/files.ts), the part scans its
 *    bytes (no parsing), sends its ranges and, when the file goes on, the next part, then records itself. A retried
 *    part that finds itself recorded sends nothing again.
 * 2. Each range is validated like a small file (validate-file.ts), with the file's correlation id and its own line
 *    numbers, then counted once in the file's record. A range whose message comes again after it was counted is
 *    skipped; one that crashed before it was counted is read again (its orders come out DUPLICATE in the worker).
 * 3. The update that counts the last range (or records the last planning part, when the ranges were quicker)
 *    completes the file: the ranges' shares are merged into one report, and its completion is claimed once, so
 *    that the file's alert goes out once.
 */
import { randomUUID } from 'node:crypto'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { SNSClient } from '@aws-sdk/client-sns'
import type { SQSClient } from '@aws-sdk/client-sqs'
import {
  isComplete,
  rangeReports,
  recordPlanned,
  recordRangeDone,
  startPlanning,
  type FileProgress,
  type RangeReport,
} from '../aws/files.ts'
import type { ObjectStore } from '../aws/objects.ts'
import { ATTRIBUTE, sendMessages } from '../aws/queue.ts'
import { TransientError } from '../orders/errors.ts'
import { LOG } from '../orders/outcomes.ts'
import type { Logger } from '../runtime/logger.ts'
import { orderFileMessage, type FileRange, type S3ObjectRef } from './notification.ts'
import { PLAN_START, planRanges } from './ranges.ts'
import { kindOf, objectBytes } from './read.ts'
import { completeFile, ReportBuilder, type FileReport } from './report.ts'

export interface LargeFileDeps {
  config: {
    ordersTable: string
    ingestQueueUrl: string | undefined
    rangeBytes: number
    alertTopicArn: string | undefined
    stage: string
  }
  s3: ObjectStore
  sqs: SQSClient
  dynamo: DynamoDBDocumentClient
  sns: SNSClient
  log: Logger
  now: () => Date
}

/** What one planning part did. */
export interface PlanSummary {
  /** The ranges this part sent. */
  ranges: number
  /** Whether planning goes on in another part. */
  continues: boolean
}

/**
 * One planning part of a large file (`ref.plan`, or the top of the file): scans, sends the ranges, records itself.
 * @throws FileError for a file whose structure is broken (a .json not closed...): nothing is sent
 * @throws TransientError when the ranges cannot all be queued (the part is retried)
 */
export const planFile = async (ref: S3ObjectRef, deps: LargeFileDeps): Promise<PlanSummary> => {
  const { config, dynamo, log } = deps
  if (config.ingestQueueUrl === undefined) throw new TypeError('planFile needs INGEST_QUEUE_URL')
  const from = ref.plan ?? PLAN_START
  const now = deps.now().toISOString()
  const progress = await startPlanning(dynamo, config.ordersTable, ref, now, randomUUID())
  const correlationId = progress.correlation_id!
  const { bucket, key, versionId } = ref
  if (progress.planned?.[String(from.index)] !== undefined) {
    log.info({ correlationId, bucket, key, versionId, part: from.index }, LOG.FILE_ALREADY_PLANNED)
    return { ranges: 0, continues: false }
  }
  const chunks = await objectBytes(deps.s3, ref, { start: from.start })
  const plan = await planRanges(kindOf(ref).extension, ref, chunks, from, { rangeBytes: config.rangeBytes })
  const file = { bucket, key, versionId, size: ref.size }
  const bodies = [
    ...plan.ranges.map((range) => orderFileMessage(file, { range }, correlationId)),
    ...(plan.next ? [orderFileMessage(file, { plan: plan.next }, correlationId)] : []),
  ]
  const failed = await sendMessages(
    deps.sqs,
    config.ingestQueueUrl,
    bodies.map((body, i) => ({ id: String(i), body, attributes: { [ATTRIBUTE.CORRELATION_ID]: correlationId } })),
  )
  if (failed.length > 0) {
    throw new TransientError(`${failed.length} ranges of ${key} could not be queued (${failed[0]?.code})`)
  }
  const total = plan.next ? undefined : plan.ranges.at(-1)!.index + 1
  const after = await recordPlanned(dynamo, config.ordersTable, ref, from.index, deps.now().toISOString(), total)
  log.info(
    { correlationId, bucket, key, versionId, part: from.index, ranges: plan.ranges.length, total },
    LOG.FILE_PLANNED,
  )
  if (isComplete(after)) await finishFile(ref, after, deps)
  return { ranges: plan.ranges.length, continues: plan.next !== undefined }
}

/** One range is done: counted once; the last one completes the file. */
export const completeRange = async (
  ref: S3ObjectRef & { range: FileRange },
  share: RangeReport,
  deps: LargeFileDeps,
): Promise<void> => {
  const after = await recordRangeDone(deps.dynamo, deps.config.ordersTable, ref, share)
  if (isComplete(after)) await finishFile(ref, after, deps)
}

/** The ranges' shares merged into the file's report, written, and its completion claimed (once). */
const finishFile = async (ref: S3ObjectRef, progress: FileProgress, deps: LargeFileDeps): Promise<void> => {
  const shares = await rangeReports(deps.dynamo, deps.config.ordersTable, ref)
  const merged = new ReportBuilder()
  let accepted = 0
  let rejected = 0
  for (const share of shares) {
    merged.merge(share)
    accepted += share.accepted
    rejected += share.rejected
  }
  const finished = deps.now()
  const startedAt = progress.planned_at ?? finished.toISOString()
  const durationMs = Math.max(1, finished.getTime() - Date.parse(startedAt))
  const report: FileReport = {
    bucket: ref.bucket,
    key: ref.key,
    versionId: ref.versionId,
    correlationId: progress.correlation_id ?? '',
    accepted,
    rejected,
    rejectedByReason: merged.byReason,
    rejects: merged.rejects,
    startedAt,
    finishedAt: finished.toISOString(),
    durationMs,
    linesPerSecond: Math.round(((accepted + rejected) * 1000) / durationMs),
    ranges: progress.ranges ?? shares.length,
  }
  const first = await completeFile(ref, report, deps)
  deps.log.info(
    { correlationId: report.correlationId, bucket: ref.bucket, key: ref.key, accepted, rejected, first },
    LOG.FILE_COMPLETED,
  )
}
