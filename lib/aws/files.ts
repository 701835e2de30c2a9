/**
 * The intake's records of order files in the orders table, so that what must happen once per file happens once:
 *
 * - `FILE#s3://bucket/key` / `VERSION#v`: one object version's progress. A small file only gets `completed_at`,
 *   claimed when its report is written (the first completion announces the rejects). A large file read in ranges
 *   (lib/intake/ranges.ts) also gets, from its planning, `planned` (the planning parts done), `ranges` (how many,
 *   once planning is over), `done` (the ranges done) and `done_count`; the update that makes `done_count` reach
 *   `ranges` (or the last planning part, should the ranges all be done before it) completes the file.
 * - `FILE#…` / `VERSION#v#RANGE#000007`: one range's share of the report, read back when the file completes.
 *
 * All of them expire with the rejection records (90 days).
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { expiresAt } from './table.ts'

export interface FileRef {
  bucket: string
  key: string
  versionId?: string
}

const fileKey = (ref: FileRef) => ({
  pk: `FILE#s3://${ref.bucket}/${ref.key}`,
  sk: `VERSION#${ref.versionId ?? 'null'}`,
})
const RANGE_PREFIX = (ref: FileRef) => `${fileKey(ref).sk}#RANGE#`
const rangeKey = (ref: FileRef, index: number) => ({
  pk: fileKey(ref).pk,
  sk: `${RANGE_PREFIX(ref)}${String(index).padStart(6, '0')}`,
})

/** A large file's progress, as its record holds it. */
export interface FileProgress {
  correlation_id?: string
  planned_at?: string
  /** Planning parts done, by the index of their first range. */
  planned?: Record<string, string>
  /** How many ranges the file has, once planning is over. */
  ranges?: number
  /** Ranges done, by index. */
  done?: Record<string, string>
  done_count?: number
  completed_at?: string
}

/** One range's share of its file's report. */
export interface RangeReport {
  index: number
  accepted: number
  rejected: number
  rejectedByReason: Record<string, number>
  rejects: { line: number; class: string; reason: string }[]
  startedAt: string
  finishedAt: string
}

const isConditionFailed = (err: unknown): boolean => (err as Error).name === 'ConditionalCheckFailedException'

/** The file's record as it is now (consistent), or undefined. */
export const getFileProgress = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  ref: FileRef,
): Promise<FileProgress | undefined> => {
  const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: fileKey(ref), ConsistentRead: true }))
  return Item as FileProgress | undefined
}

/** Whether every range is done and nobody has completed the file yet. */
export const isComplete = (progress: FileProgress | undefined): progress is FileProgress =>
  progress !== undefined &&
  progress.ranges !== undefined &&
  (progress.done_count ?? 0) >= progress.ranges &&
  progress.completed_at === undefined

/**
 * A planning part begins: creates the file's record on the first, keeps what is there on the others (and on a
 * retried part). The first part's correlation id becomes the file's.
 * @returns the record as it is now
 */
export const startPlanning = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  ref: FileRef,
  now: string,
  correlationId: string,
): Promise<FileProgress> => {
  const { Attributes } = await client.send(
    new UpdateCommand({
      TableName: tableName,
      Key: fileKey(ref),
      UpdateExpression:
        'SET #type = :type, planned_at = if_not_exists(planned_at, :now), correlation_id = if_not_exists(correlation_id, :cid), ' +
        'planned = if_not_exists(planned, :empty), done = if_not_exists(done, :empty), ' +
        'done_count = if_not_exists(done_count, :zero), expires_at = if_not_exists(expires_at, :expires)',
      ExpressionAttributeNames: { '#type': 'type' },
      ExpressionAttributeValues: {
        ':type': 'file',
        ':now': now,
        ':cid': correlationId,
        ':empty': {},
        ':zero': 0,
        ':expires': expiresAt(now),
      },
      ReturnValues: 'ALL_NEW',
    }),
  )
  return Attributes as FileProgress
}

/**
 * A planning part has sent its ranges: recorded once (a retried part finds it and sends nothing again); the last
 * part records how many ranges the file has.
 * @returns the record as it is now
 */
export const recordPlanned = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  ref: FileRef,
  part: number,
  now: string,
  ranges: number | undefined,
): Promise<FileProgress> => {
  try {
    const { Attributes } = await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: fileKey(ref),
        UpdateExpression: `SET planned.#part = :now${ranges === undefined ? '' : ', ranges = :ranges'}`,
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(planned.#part)',
        ExpressionAttributeNames: { '#part': String(part) },
        ExpressionAttributeValues: { ':now': now, ...(ranges === undefined ? {} : { ':ranges': ranges }) },
        ReturnValues: 'ALL_NEW',
      }),
    )
    return Attributes as FileProgress
  } catch (err) {
    if (!isConditionFailed(err)) throw err
    return (await getFileProgress(client, tableName, ref)) ?? {}
  }
}

/**
 * One range is done: its share of the report is stored, then the range is counted, once (a range read again
 * after a crash stores its share again and is not counted twice).
 * @returns the file's record as it is now: complete when `done_count` has reached `ranges` (see isComplete)
 */
export const recordRangeDone = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  ref: FileRef,
  report: RangeReport,
): Promise<FileProgress> => {
  await client.send(
    new PutCommand({
      TableName: tableName,
      Item: { ...rangeKey(ref, report.index), type: 'file-range', ...report, expires_at: expiresAt(report.finishedAt) },
    }),
  )
  try {
    const { Attributes } = await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: fileKey(ref),
        UpdateExpression: 'SET done.#range = :at ADD done_count :one',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(done.#range)',
        ExpressionAttributeNames: { '#range': String(report.index) },
        ExpressionAttributeValues: { ':at': report.finishedAt, ':one': 1 },
        ReturnValues: 'ALL_NEW',
      }),
    )
    return Attributes as FileProgress
  } catch (err) {
    if (!isConditionFailed(err)) throw err
    return (await getFileProgress(client, tableName, ref)) ?? {}
  }
}

/** Whether a range of the file is already done (its message came again). */
export const isRangeDone = (progress: FileProgress | undefined, index: number): boolean =>
  progress?.done?.[String(index)] !== undefined

/** Every range's share of the report, in range order. */
export const rangeReports = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  ref: FileRef,
): Promise<RangeReport[]> => {
  const reports: RangeReport[] = []
  let ExclusiveStartKey: Record<string, unknown> | undefined
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': fileKey(ref).pk, ':prefix': RANGE_PREFIX(ref) },
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    )
    reports.push(...((page.Items ?? []) as RangeReport[]))
    ExclusiveStartKey = page.LastEvaluatedKey
  } while (ExclusiveStartKey)
  return reports
}

/**
 * Claims an object version's completion: true for the first claim only (a retried or repeated file, or a second
 * range that saw the file complete, gets false).
 */
export const claimFileCompletion = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  ref: FileRef,
  now: string,
): Promise<boolean> => {
  try {
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: fileKey(ref),
        UpdateExpression: 'SET #type = :type, completed_at = :now, expires_at = if_not_exists(expires_at, :expires)',
        ConditionExpression: 'attribute_not_exists(completed_at)',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: { ':type': 'file', ':now': now, ':expires': expiresAt(now) },
      }),
    )
    return true
  } catch (err) {
    if (isConditionFailed(err)) return false
    throw err
  }
}
