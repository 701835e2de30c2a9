/** The intake's per-file reports as the console lists them: the latest first. */
import { GetObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3'
import type { FileReport } from '../../lib/intake/report.ts'

/** How many report keys are listed at most to find the latest (S3 lists by key, not by date). */
export const MAX_LISTED_REPORTS = 10_000

/** How many of a report's first rejects the dashboard shows. */
export const SHOWN_REJECTS = 5

/** A report as the dashboard shows it: the counts, the reasons and the first few rejects with their line. */
export type ReportSummary = FileReport & { reportKey: string }

/**
 * The `limit` latest reports of the bucket (`reports/<key>.json`, by last-modified time), among the first
 * MAX_LISTED_REPORTS keys. A report that cannot be read or parsed is left out, not fatal.
 */
export const latestReports = async (s3: S3Client, bucket: string, limit = 10): Promise<ReportSummary[]> => {
  const listed: { key: string; at: number }[] = []
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: 'reports/' })) {
    for (const o of page.Contents ?? [])
      if (o.Key?.endsWith('.json')) listed.push({ key: o.Key, at: o.LastModified?.getTime() ?? 0 })
    if (listed.length >= MAX_LISTED_REPORTS) break
  }
  const latest = listed.sort((a, b) => b.at - a.at || a.key.localeCompare(b.key)).slice(0, limit)
  const reports = await Promise.all(
    latest.map(async ({ key }) => {
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
        const report = JSON.parse(await object.Body!.transformToString()) as FileReport
        return { ...report, rejects: report.rejects.slice(0, SHOWN_REJECTS), reportKey: key }
      } catch {
        return undefined
      }
    }),
  )
  return reports.filter((r): r is ReportSummary => r !== undefined)
}
