/**
 * The report of one order file, written beside it when the file is done: `reports/<key>.json` in the same bucket
 * (what was accepted, what was rejected and why, the first rejects with their line, how fast), and the file's one
 * alert when it had rejects (a file with 50,000 bad lines sends one message, not 50,000). A retried file writes its
 * report again; its completion is claimed once in the table, so the alert goes out once.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { SNSClient } from '@aws-sdk/client-sns'
import { publishAlerts } from '../aws/alerts.ts'
import { claimFileCompletion } from '../aws/files.ts'
import type { ObjectStore } from '../aws/objects.ts'
import { boundedMessage, errorClass, errorMessage, ValidationError } from '../orders/errors.ts'
import type { Logger } from '../runtime/logger.ts'
import type { S3ObjectRef } from './notification.ts'

/** How many rejects a report lists one by one (all are counted by reason). */
export const REPORT_REJECTS = 100

export const reportKey = (key: string): string => `reports/${key}.json`

export interface FileReport {
  bucket: string
  key: string
  versionId?: string
  correlationId: string
  accepted: number
  rejected: number
  /** Rejects by error class, and for validation errors by class and rule (`ValidationError:sum`). */
  rejectedByReason: Record<string, number>
  /** The first rejects, with their line (1-based) and reason. */
  rejects: { line: number; class: string; reason: string }[]
  startedAt: string
  finishedAt: string
  durationMs: number
  linesPerSecond: number
  /** How many ranges the file was read in (a large file, see ranges.ts); 1 for a file read in one invocation. */
  ranges: number
}

/** The reasons of one reject, counted: its class, and each rule of a validation error. */
export const reasonsOf = (error: unknown): string[] =>
  error instanceof ValidationError && error.fields.length > 0
    ? [...new Set(error.fields.map((f) => `${error.name}:${f.rule}`))]
    : [errorClass(error)]

/** What a file's intake gathers for its report as it goes (or what its ranges gathered, merged). */
export class ReportBuilder {
  readonly byReason: Record<string, number> = {}
  rejects: FileReport['rejects'] = []

  /** Merges one range's share: counts added, the first rejects of the file kept in line order. */
  merge(part: { rejectedByReason: Record<string, number>; rejects: FileReport['rejects'] }): void {
    for (const [reason, n] of Object.entries(part.rejectedByReason))
      this.byReason[reason] = (this.byReason[reason] ?? 0) + n
    this.rejects = [...this.rejects, ...part.rejects].sort((a, b) => a.line - b.line).slice(0, REPORT_REJECTS)
  }

  add(line: number, error: unknown): void {
    for (const reason of reasonsOf(error)) this.byReason[reason] = (this.byReason[reason] ?? 0) + 1
    if (this.rejects.length < REPORT_REJECTS) {
      this.rejects.push({ line, class: errorClass(error), reason: boundedMessage(errorMessage(error)) })
    }
  }
}

export interface ReportDeps {
  s3: ObjectStore
  dynamo: DynamoDBDocumentClient
  sns: SNSClient
  config: { ordersTable: string; alertTopicArn: string | undefined; stage: string }
  log: Logger
}

/**
 * Writes the report (again, for a retried file), then claims the file's completion in the table: only the first
 * completion of an object version announces its rejects.
 * @returns whether this was the first completion
 */
export const completeFile = async (ref: S3ObjectRef, report: FileReport, deps: ReportDeps): Promise<boolean> => {
  await deps.s3.put(ref.bucket, reportKey(ref.key), `${JSON.stringify(report, null, 2)}\n`, 'application/json')
  const first = await claimFileCompletion(deps.dynamo, deps.config.ordersTable, ref, report.finishedAt)
  if (first && report.rejected > 0) {
    await publishAlerts(
      deps.sns,
      deps.config.alertTopicArn,
      [
        {
          type: 'FILE_REJECTS',
          subject: `${report.rejected} orders rejected from ${ref.key}`,
          detail: {
            bucket: ref.bucket,
            key: ref.key,
            version_id: ref.versionId,
            accepted: report.accepted,
            rejected: report.rejected,
            rejected_by_reason: report.rejectedByReason,
            report: `s3://${ref.bucket}/${reportKey(ref.key)}`,
            stage: deps.config.stage,
          },
        },
      ],
      deps.log,
    )
  }
  return first
}
