/**
 * S3 ObjectCreated notifications, as the ingest queue delivers them (an SQS body) or as a direct S3 trigger sends
 * them, turned into the objects to read: keys decoded, the `s3:TestEvent` and records other than ObjectCreated
 * skipped. A record that is not a notification is that record's FileError, never the whole event's.
 *
 * The ingest queue also carries the validator's own messages about a large file (ranges.ts): `{"orderFile": {...}}`
 * names one object with either a `range` to read or a `plan` part to continue.
 */
import { errorMessage, FileError } from '../orders/errors.ts'
import { isObject } from '../orders/json.ts'

/** An S3 object to read. `key` is decoded (as stored in S3), not URL-encoded as in the notification. */
export interface S3ObjectRef {
  bucket: string
  key: string
  versionId?: string
  size?: number
  /** One range of a large file to read (and only that). */
  range?: FileRange
  /** A large file's planning, to continue from there. */
  plan?: PlanStart
  /** A range's or plan part's file correlation id. */
  correlationId?: string
}

/** One range of a file: bytes [start, end) of its (decompressed) content. */
export interface FileRange {
  /** 0-based, in file order. */
  index: number
  /** The byte offset of its first line or element (0 for the first range). */
  start: number
  /** The byte offset just past its last byte (the file's size for the last range). */
  end: number
  /** The 1-based number of its first line (.jsonl) or the position of its first element (.json). */
  firstLine: number
  /** Whether it is the file's last range. */
  last: boolean
}

/** Where a planning part begins: the start of a range, its first line and its index. */
export interface PlanStart {
  index: number
  start: number
  firstLine: number
}

/** One per event record, in record order: `id` is the SQS messageId, or `s3://bucket/key` for a direct S3 record. */
export interface OrderSource {
  id: string
  objects?: S3ObjectRef[]
  error?: Error
}

export const s3Url = (ref: S3ObjectRef): string =>
  `s3://${ref.bucket}/${ref.key}${ref.versionId === undefined ? '' : ` (version ${ref.versionId})`}`

/**
 * Decodes an object key as S3 notifications carry it: `+` is a space, then percent-encoded UTF-8
 * (`%2B` is a literal `+`; moto also encodes `/` as `%2F`). Decode once only: decoding twice turns `%2B` into a space.
 * @throws FileError when the key is not valid percent-encoding (S3 never sends such a key).
 * @example decodeS3Key('orders/lot+de+commandes+%C3%A9t%C3%A9.jsonl') // 'orders/lot de commandes été.jsonl'
 */
export const decodeS3Key = (key: string): string => {
  try {
    return decodeURIComponent(key.replaceAll('+', ' '))
  } catch (err) {
    throw new FileError(`S3 key "${key}" is not URL-encoded as S3 sends it`, { cause: err })
  }
}

const refOfRecord = (record: unknown, where: string): S3ObjectRef | undefined => {
  const s3 = isObject(record) && isObject(record.s3) ? record.s3 : undefined
  const bucket = isObject(s3?.bucket) ? s3.bucket.name : undefined
  const object = isObject(s3?.object) ? s3.object : undefined
  if (typeof bucket !== 'string' || bucket === '' || typeof object?.key !== 'string' || object.key === '') {
    throw new FileError(`Not an S3 notification: ${where} has no s3.bucket.name and s3.object.key`)
  }
  const eventName = isObject(record) ? record.eventName : undefined
  if (typeof eventName === 'string' && !eventName.startsWith('ObjectCreated:')) return undefined
  return {
    bucket,
    key: decodeS3Key(object.key),
    ...(typeof object.versionId === 'string' && object.versionId !== '' ? { versionId: object.versionId } : {}),
    ...(typeof object.size === 'number' ? { size: object.size } : {}),
  }
}

/**
 * The objects named by an S3 event notification (an SQS body, as a string or already parsed), keys decoded.
 * The `s3:TestEvent` S3 sends when a notification is configured names none; records other than ObjectCreated
 * (should the notification be widened) are skipped.
 * @throws FileError when the body is not JSON or not an S3 notification.
 * @example objectsOfNotification(record.body) // [{ bucket: 'tp-orders-intake', key: 'orders/a.jsonl', size: 42 }]
 */
export const objectsOfNotification = (body: unknown): S3ObjectRef[] => {
  let notification = body
  if (typeof body === 'string') {
    try {
      notification = JSON.parse(body)
    } catch (err) {
      throw new FileError(`Not an S3 notification: the body is not JSON (${errorMessage(err)})`, { cause: err })
    }
  }
  if (isObject(notification) && notification.Event === 's3:TestEvent') return []
  if (isObject(notification) && 'orderFile' in notification) return [orderFileOf(notification.orderFile)]
  if (!isObject(notification) || !Array.isArray(notification.Records) || notification.Records.length === 0) {
    throw new FileError('Not an S3 notification: no Records')
  }
  return notification.Records.map((record, index) => refOfRecord(record, `Records[${index}]`)).filter(
    (ref): ref is S3ObjectRef => ref !== undefined,
  )
}

const isOffset = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0

/** The object of a range or plan message (see {@link orderFileMessage}). @throws FileError naming what is wrong */
const orderFileOf = (message: unknown): S3ObjectRef => {
  const bad = (what: string): never => {
    throw new FileError(`Not a range or plan message: ${what}`)
  }
  if (!isObject(message)) return bad('orderFile is not an object')
  const { bucket, key, versionId, size, range, plan, correlationId } = message
  if (typeof bucket !== 'string' || bucket === '' || typeof key !== 'string' || key === '') {
    return bad('orderFile.bucket and orderFile.key must be non-empty strings')
  }
  if (versionId !== undefined && typeof versionId !== 'string') bad('orderFile.versionId must be a string')
  if (size !== undefined && !isOffset(size)) bad('orderFile.size must be a non-negative integer')
  const ref: S3ObjectRef = {
    bucket,
    key,
    ...(typeof versionId === 'string' && versionId !== '' ? { versionId } : {}),
    ...(isOffset(size) ? { size } : {}),
    ...(typeof correlationId === 'string' && correlationId !== '' ? { correlationId } : {}),
  }
  const offsets = (value: unknown, names: string[], what: string): Record<string, number> => {
    if (!isObject(value)) return bad(`orderFile.${what} is not an object`)
    for (const name of names)
      if (!isOffset(value[name])) bad(`orderFile.${what}.${name} must be a non-negative integer`)
    if (!(Number(value.firstLine) >= 1)) bad(`orderFile.${what}.firstLine must be at least 1`)
    return value as Record<string, number>
  }
  if (range !== undefined) {
    const r = offsets(range, ['index', 'start', 'end', 'firstLine'], 'range')
    if (r.end! <= r.start!) bad('orderFile.range.end must be past its start')
    return {
      ...ref,
      range: {
        index: r.index!,
        start: r.start!,
        end: r.end!,
        firstLine: r.firstLine!,
        last: r.last === (true as unknown),
      },
    }
  }
  if (plan !== undefined) {
    const p = offsets(plan, ['index', 'start', 'firstLine'], 'plan')
    return { ...ref, plan: { index: p.index!, start: p.start!, firstLine: p.firstLine! } }
  }
  return bad('orderFile has neither a range nor a plan')
}

/** The ingest message that names one range of a large file, or where its planning goes on. */
export const orderFileMessage = (
  ref: S3ObjectRef,
  part: { range: FileRange } | { plan: PlanStart },
  correlationId: string,
): string => {
  const { bucket, key, versionId, size } = ref
  return JSON.stringify({ orderFile: { bucket, key, versionId, size, correlationId, ...part } })
}

/** The objects of one event record: an SQS message whose body is a notification, or a direct S3 record. */
export const sourceOf = (record: unknown, index: number): OrderSource => {
  const attempt = (id: string, objects: () => S3ObjectRef[]): OrderSource => {
    try {
      return { id, objects: objects() }
    } catch (err) {
      return { id, error: err instanceof Error ? err : new FileError(errorMessage(err)) }
    }
  }
  if (isObject(record) && typeof record.messageId === 'string') {
    return attempt(record.messageId, () => objectsOfNotification(record.body))
  }
  if (isObject(record) && record.eventSource === 'aws:s3') {
    const s3 = isObject(record.s3) ? record.s3 : {}
    const text = (value: unknown): string => (typeof value === 'string' ? value : '')
    const bucket = isObject(s3.bucket) ? text(s3.bucket.name) : ''
    const key = isObject(s3.object) ? text(s3.object.key) : ''
    let id = `s3://${bucket}/${key}`
    try {
      id = `s3://${bucket}/${decodeS3Key(key)}`
    } catch {
      /* keep the raw key in the id; the error comes below */
    }
    return attempt(id, () => objectsOfNotification({ Records: [record] }))
  }
  return {
    id: `Records[${index}]`,
    error: new FileError(`Records[${index}] is neither an SQS message nor an S3 event record`),
  }
}

/** One source per record of an SQS or S3 event, in record order; a bad record gets an `error`, never a throw. */
export const sourcesOf = (event: unknown): OrderSource[] => {
  const records: unknown = (event as { Records?: unknown } | null | undefined)?.Records
  return Array.isArray(records) ? records.map(sourceOf) : []
}
