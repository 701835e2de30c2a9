/**
 * S3 order files: turns S3 ObjectCreated notifications (an SQS event from the ingest queue, or a direct S3 trigger)
 * into the objects to read, and reads each object as a lazy stream of orders (.json: one order or an array;
 * .jsonl: one order a line).
 *
 * `before` never throws for a bad record: each record gets its own `objects` or `error` in
 * `context.orderFiles.sources`, so the handler fails that record alone inside its per-record loop. Reading happens
 * in the handler, through `context.orderFiles.read(ref)`: a FileError there is permanent (ingest DLQ), anything
 * else (throttling, 5xx, network) is left as is and counts as transient.
 *
 * The .jsonl splitter is our own, over the byte stream (not node:readline, which cannot bound a line): bytes are
 * cut at each `\n`, a line is decoded only once it is complete (so a UTF-8 character split across two chunks is
 * never broken), and a line longer than `maxLineBytes` is counted and dropped, never buffered whole.
 */
import { GetObjectCommand, S3Client, type GetObjectCommandOutput } from '@aws-sdk/client-s3'
import type { MiddlewareObj, Request } from '@middy/core'
import type { Context, S3Event, SQSEvent } from 'aws-lambda'
import { LIMITS } from '../lib/orders/constants.ts'
import { FileError, MalformedOrderError, TransientError } from '../lib/orders/errors.ts'

/** An S3 object to read. `key` is decoded (as stored in S3), not URL-encoded as in the notification. */
export interface S3ObjectRef {
  bucket: string
  key: string
  versionId?: string
  size?: number
}

/**
 * One order of a file: `line` is the 1-based physical line of a .jsonl, the 1-based position in a .json array,
 * 1 for a single-object .json. Exactly one of `value` (the parsed JSON) and `error` is set. `bytes` is the UTF-8
 * length of the line's text (of `JSON.stringify(element)` for a .json element).
 */
export interface OrderLine {
  ref: S3ObjectRef
  line: number
  value?: unknown
  error?: MalformedOrderError
  bytes: number
}

/** One per event record, in record order: `id` is the SQS messageId, or `s3://bucket/key` for a direct S3 record. */
export interface OrderSource {
  id: string
  objects?: S3ObjectRef[]
  error?: Error
}

/** What `s3JsonParser` puts in `context.orderFiles`. */
export interface S3OrderFiles {
  sources: OrderSource[]
  read: (ref: S3ObjectRef) => AsyncGenerator<OrderLine>
}

export interface ReadLimits {
  /** A .json file is read whole: larger ones are refused (use .jsonl). */
  maxJsonBytes: number
  /** A longer .jsonl line is reported as a rejected line and skipped, never buffered. */
  maxLineBytes: number
}

export type S3JsonParserOptions = { client: S3Client | undefined } & ReadLimits

const defaults: S3JsonParserOptions = {
  client: undefined,
  maxJsonBytes: 10 * 1024 * 1024,
  maxLineBytes: 2 * LIMITS.MAX_ORDER_BYTES,
}

export type S3JsonParserContext = Context & { orderFiles: S3OrderFiles }

const ACCEPTED_EXTENSIONS = '.json (one order or an array of orders) or .jsonl (one order a line)'
const NEWLINE = 0x0a
const BOM = '\uFEFF'

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err))

const s3Url = (ref: S3ObjectRef): string =>
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
      throw new FileError(`Not an S3 notification: the body is not JSON (${messageOf(err)})`, { cause: err })
    }
  }
  if (isObject(notification) && notification.Event === 's3:TestEvent') return []
  if (!isObject(notification) || !Array.isArray(notification.Records) || notification.Records.length === 0) {
    throw new FileError('Not an S3 notification: no Records')
  }
  return notification.Records.map((record, index) => refOfRecord(record, `Records[${index}]`)).filter(
    (ref): ref is S3ObjectRef => ref !== undefined,
  )
}

const sourceOf = (record: unknown, index: number): OrderSource => {
  const attempt = (id: string, objects: () => S3ObjectRef[]): OrderSource => {
    try {
      return { id, objects: objects() }
    } catch (err) {
      return { id, error: err instanceof Error ? err : new FileError(messageOf(err)) }
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

const checkLimits = (limits: ReadLimits, where: string): void => {
  for (const name of ['maxJsonBytes', 'maxLineBytes'] as const) {
    const value = limits[name]
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new TypeError(`${where}: ${name} must be a positive integer, got ${String(value)}`)
    }
  }
}

const isNotReadable = (err: unknown): boolean => {
  const { name, $metadata } = (err ?? {}) as { name?: unknown; $metadata?: { httpStatusCode?: unknown } }
  const status = $metadata?.httpStatusCode
  return (
    ['NoSuchKey', 'NotFound', 'NoSuchBucket', 'NoSuchVersion', 'AccessDenied', 'Forbidden'].includes(String(name)) ||
    status === 403 ||
    status === 404
  )
}

const getObject = async (client: S3Client, ref: S3ObjectRef): Promise<GetObjectCommandOutput> => {
  try {
    return await client.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }))
  } catch (err) {
    if (!isNotReadable(err)) throw err
    const { name } = err as { name?: unknown }
    throw new FileError(
      `${s3Url(ref)} cannot be read (${String(name)}: ${messageOf(err)}); ` +
        'a missing key answers 403 when the role may not s3:ListBucket',
      { cause: err },
    )
  }
}

/** The Body of GetObject as Buffers: a Node Readable (Lambda), a web ReadableStream or a Blob. */
async function* bytesOf(body: NonNullable<GetObjectCommandOutput['Body']>): AsyncGenerator<Buffer> {
  const source = (Symbol.asyncIterator in body ? body : (body as Blob).stream()) as AsyncIterable<Uint8Array | string>
  for await (const chunk of source) {
    yield typeof chunk === 'string'
      ? Buffer.from(chunk, 'utf8')
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** One complete .jsonl line (its bytes without the `\n`) as an OrderLine, or undefined when it is blank. */
const orderLineOf = (ref: S3ObjectRef, line: number, bytes: Buffer): OrderLine | undefined => {
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    return { ref, line, error: new MalformedOrderError(`line ${line} is not valid UTF-8`), bytes: bytes.length }
  }
  if (line === 1 && text.startsWith(BOM)) text = text.slice(BOM.length)
  if (text.endsWith('\r')) text = text.slice(0, -1)
  if (text.trim() === '') return undefined
  const size = Buffer.byteLength(text, 'utf8')
  try {
    return { ref, line, value: JSON.parse(text), bytes: size }
  } catch (err) {
    return {
      ref,
      line,
      error: new MalformedOrderError(`line ${line} is not valid JSON: ${messageOf(err)}`),
      bytes: size,
    }
  }
}

async function* jsonlLines(
  ref: S3ObjectRef,
  chunks: AsyncIterable<Buffer>,
  maxLineBytes: number,
): AsyncGenerator<OrderLine> {
  let parts: Buffer[] = [] // the current line so far, while it is within maxLineBytes
  let length = 0 // bytes of the current line so far, kept or not
  let line = 0
  const endOfLine = (last: Buffer): OrderLine | undefined => {
    line += 1
    const total = length + last.length
    const result =
      total > maxLineBytes
        ? {
            ref,
            line,
            error: new MalformedOrderError(`line ${line} is larger than ${maxLineBytes} bytes`),
            bytes: total,
          }
        : orderLineOf(ref, line, parts.length === 0 ? last : Buffer.concat([...parts, last]))
    parts = []
    length = 0
    return result
  }
  for await (const chunk of chunks) {
    let start = 0
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      const result = endOfLine(chunk.subarray(start, end))
      if (result !== undefined) yield result
      start = end + 1
    }
    const rest = chunk.subarray(start)
    length += rest.length
    if (length > maxLineBytes)
      parts = [] // too long: count the bytes, keep none
    else if (rest.length > 0) parts.push(rest)
  }
  if (length > 0) {
    const result = endOfLine(Buffer.alloc(0))
    if (result !== undefined) yield result
  }
}

const tooLarge = (ref: S3ObjectRef, maxJsonBytes: number): FileError =>
  new FileError(
    `${s3Url(ref)} is larger than ${maxJsonBytes} bytes: a .json file is read whole; ` +
      'upload large files as .jsonl (one order a line), which is streamed',
  )

async function* jsonLines(
  ref: S3ObjectRef,
  chunks: AsyncIterable<Buffer>,
  maxJsonBytes: number,
): AsyncGenerator<OrderLine> {
  const parts: Buffer[] = []
  let length = 0
  for await (const chunk of chunks) {
    length += chunk.length
    if (length > maxJsonBytes) throw tooLarge(ref, maxJsonBytes)
    parts.push(chunk)
  }
  let document: unknown
  try {
    const text = utf8.decode(Buffer.concat(parts))
    document = JSON.parse(text.startsWith(BOM) ? text.slice(BOM.length) : text)
  } catch (err) {
    throw new FileError(`${s3Url(ref)} is not a valid JSON file: ${messageOf(err)}`, { cause: err })
  }
  if (Array.isArray(document)) {
    for (const [index, value] of document.entries()) {
      yield { ref, line: index + 1, value, bytes: Buffer.byteLength(JSON.stringify(value), 'utf8') }
    }
  } else if (isObject(document)) {
    yield { ref, line: 1, value: document, bytes: Buffer.byteLength(JSON.stringify(document), 'utf8') }
  } else {
    throw new FileError(`${s3Url(ref)} is neither an order object nor an array of orders`)
  }
}

/**
 * Reads an S3 object as a lazy stream of orders. `.jsonl` (any case) is streamed line by line and never held whole:
 * CRLF, a UTF-8 BOM and blank lines are tolerated (blank lines are skipped but counted), a line that is not JSON or
 * is longer than `maxLineBytes` comes out as a line with a MalformedOrderError (a rejected order, not a failed
 * file). `.json` is read whole (at most `maxJsonBytes`): an object is one order (line 1), an array one order per
 * element (line = position). `ref.key` must already be decoded (see {@link objectsOfNotification}).
 * @throws FileError (permanent) for an unknown extension, an object that is gone or forbidden (403/404), a .json file
 * too large, not JSON, or neither an object nor an array. Other GetObject and stream errors (SlowDown, 5xx, network)
 * are rethrown as they are: retrying can help.
 * @example for await (const { line, value, error } of readOrderLines(client, ref)) { ... }
 */
export async function* readOrderLines(
  client: S3Client,
  ref: S3ObjectRef,
  options: Partial<ReadLimits> = {},
): AsyncGenerator<OrderLine> {
  const { maxJsonBytes, maxLineBytes } = { ...defaults, ...options }
  checkLimits({ maxJsonBytes, maxLineBytes }, 'readOrderLines')
  const extension = /\.(jsonl|json)$/i.exec(ref.key)?.[1]?.toLowerCase()
  if (extension === undefined) {
    throw new FileError(`${s3Url(ref)} has an unknown extension: upload orders as ${ACCEPTED_EXTENSIONS}`)
  }
  if (extension === 'json' && (ref.size ?? 0) > maxJsonBytes) throw tooLarge(ref, maxJsonBytes)

  const { Body, ContentLength } = await getObject(client, ref)
  if (Body === undefined) throw new TransientError(`GetObject ${s3Url(ref)} returned no body`)
  if (extension === 'json' && (ContentLength ?? 0) > maxJsonBytes) {
    const stream = Body as { destroy?: () => void }
    stream.destroy?.()
    throw tooLarge(ref, maxJsonBytes)
  }
  yield* extension === 'jsonl'
    ? jsonlLines(ref, bytesOf(Body), maxLineBytes)
    : jsonLines(ref, bytesOf(Body), maxJsonBytes)
}

/**
 * Middy middleware: `before` lists the S3 objects of each record of an SQS ingest event (bodies are S3
 * notifications) or of a direct S3 event into `context.orderFiles.sources` (one per record, in order; a bad record
 * gets an `error`, never a throw), and `context.orderFiles.read(ref)` streams one object's orders (see
 * {@link readOrderLines}). The S3 client is `opts.client`, or one built on first read and kept for the life of
 * the factory (path-style addressing when AWS_ENDPOINT_URL points at an emulator).
 * @throws TypeError at factory time for a limit that is not a positive integer.
 * @example
 * middy<SQSEvent>().use(s3JsonParser()).handler(async (event, context) => {
 *   for (const source of context.orderFiles.sources) { ... context.orderFiles.read(ref) ... }
 * })
 */
export const s3JsonParser = (
  opts: Partial<S3JsonParserOptions> = {},
): MiddlewareObj<SQSEvent | S3Event, unknown, Error, S3JsonParserContext> => {
  const options = { ...defaults, ...opts }
  checkLimits(options, 's3JsonParser')
  let client = options.client
  const limits: ReadLimits = { maxJsonBytes: options.maxJsonBytes, maxLineBytes: options.maxLineBytes }
  const read = (ref: S3ObjectRef): AsyncGenerator<OrderLine> => {
    client ??= new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) })
    return readOrderLines(client, ref, limits)
  }

  const s3JsonParserMiddlewareBefore = (
    request: Request<SQSEvent | S3Event, unknown, Error, S3JsonParserContext>,
  ): void => {
    const records: unknown = (request.event as { Records?: unknown } | null | undefined)?.Records
    const sources = Array.isArray(records) ? records.map(sourceOf) : []
    request.context.orderFiles = { sources, read }
  }

  return { before: s3JsonParserMiddlewareBefore }
}
