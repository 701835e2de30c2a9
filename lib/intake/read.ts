/**
 * Reading one S3 object as a lazy stream of orders: the extension decides the splitter (lines.ts for .jsonl,
 * json-elements.ts for .json), GetObject's failures are classified (gone or forbidden: a permanent FileError;
 * throttling, 5xx, network: left as they are, transient), and the Body is consumed as it streams, decompressed on the
 * way when the key ends in `.gz` or the object says `Content-Encoding: gzip`. A range of a large file (ranges.ts) is
 * read with a ranged GET, or, gzipped, decompressed from the top with the bytes before it skipped.
 */
import { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import type { ObjectBody, ObjectStore } from '../aws/objects.ts'
import { errorMessage, FileError } from '../orders/errors.ts'
import { LIMITS } from '../orders/limits.ts'
import { jsonElements } from './json-elements.ts'
import { jsonlLines, type OrderLine } from './lines.ts'
import { s3Url, type S3ObjectRef } from './notification.ts'
import { sliceOf, type FileRange } from './ranges.ts'

export interface ReadLimits {
  /** A longer line or .json element is reported as a rejected order and skipped, never buffered. */
  maxLineBytes: number
}

export const DEFAULT_LIMITS: ReadLimits = { maxLineBytes: 2 * LIMITS.MAX_ORDER_BYTES }

/** How much larger than its stored size a gzipped file is assumed to be, to decide whether to plan ranges. */
export const GZIP_RATIO = 8
const ACCEPTED_EXTENSIONS =
  '.json (one order or an array of orders) or .jsonl (one order a line), each optionally gzipped (.json.gz, .jsonl.gz)'

/** `orders/a.jsonl.gz` → jsonl, gzipped; `orders/a.JSON` → json. */
export const fileKind = (key: string): { extension: 'json' | 'jsonl'; gzipped: boolean } | undefined => {
  const match = /\.(jsonl|json)(\.gz)?$/i.exec(key)
  if (!match) return undefined
  return { extension: match[1]!.toLowerCase() as 'json' | 'jsonl', gzipped: match[2] !== undefined }
}

/**
 * A gzip stream's bytes, decompressed as they arrive (node's zlib: nothing is held whole). A stream that is not
 * gzip, or cut short, is a FileError: reading it again cannot help. The source's own errors pass as they are.
 */
export async function* gunzipped(ref: S3ObjectRef, chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const gunzip = createGunzip()
  const source = Readable.from(chunks)
  source.on('error', (err) => gunzip.destroy(err))
  source.pipe(gunzip)
  try {
    for await (const chunk of gunzip) yield chunk as Buffer
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new FileError(`${s3Url(ref)} is not a valid gzip file (${code}): ${errorMessage(err)}`, { cause: err })
    }
    throw err
  } finally {
    source.destroy()
  }
}

/** @throws TypeError naming the limit that is not a positive integer */
export const checkLimits = (limits: ReadLimits, where: string): void => {
  for (const name of ['maxLineBytes'] as const) {
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

const getObject = async (
  store: ObjectStore,
  ref: S3ObjectRef,
  range?: { start: number; end?: number },
): Promise<ObjectBody> => {
  try {
    return await store.get(ref, range ? { range } : {})
  } catch (err) {
    if (!isNotReadable(err)) throw err
    const { name } = err as { name?: unknown }
    throw new FileError(
      `${s3Url(ref)} cannot be read (${String(name)}: ${errorMessage(err)}); ` +
        'a missing key answers 403 when the role may not s3:ListBucket',
      { cause: err },
    )
  }
}

/** A streamed Body as Buffers (strings and Uint8Arrays alike). */
async function* bytesOf(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    yield typeof chunk === 'string'
      ? Buffer.from(chunk, 'utf8')
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  }
}

/** @throws FileError for a key that is neither .json nor .jsonl (optionally .gz) */
export const kindOf = (ref: S3ObjectRef): { extension: 'json' | 'jsonl'; gzipped: boolean } => {
  const kind = fileKind(ref.key)
  if (kind === undefined) {
    throw new FileError(`${s3Url(ref)} has an unknown extension: upload orders as ${ACCEPTED_EXTENSIONS}`)
  }
  return kind
}

/** Whether a file is planned in ranges (see ranges.ts) rather than read in one invocation. */
export const needsRanges = (ref: S3ObjectRef, rangeBytes: number): boolean => {
  const kind = fileKind(ref.key)
  if (kind === undefined || ref.size === undefined) return false
  return (kind.gzipped ? ref.size * GZIP_RATIO : ref.size) > rangeBytes
}

/**
 * The object's content (decompressed) from byte `start` to `end` (exclusive; omitted: to the end), streamed: a
 * ranged GET for a plain object, the whole object decompressed and sliced for a gzipped one.
 * @throws FileError for an unknown extension or an object that is gone or forbidden
 */
export const objectBytes = async (
  store: ObjectStore,
  ref: S3ObjectRef,
  { start = 0, end }: { start?: number; end?: number } = {},
): Promise<AsyncIterable<Buffer>> => {
  const kind = kindOf(ref)
  const partial = start > 0 || end !== undefined
  let object = await getObject(store, ref, partial && !kind.gzipped ? { start, end } : undefined)
  const encoded = /^(x-)?gzip$/i.test(object.contentEncoding ?? '')
  if (partial && !kind.gzipped && encoded) {
    // Stored gzipped under a plain name: a byte range of it means nothing; read it whole and slice.
    object.destroy()
    object = await getObject(store, ref)
  }
  const body = bytesOf(object.body)
  if (kind.gzipped || encoded) {
    const content = gunzipped(ref, body)
    return partial ? sliceOf(content, start, end) : content
  }
  return body
}

/**
 * Reads an S3 object (or one range of it, `ref.range`) as a lazy stream of orders, never held whole. `.jsonl`
 * (any case) is split line by line: CRLF, a UTF-8 BOM and blank lines are tolerated (blank lines are skipped but
 * counted). `.json` is streamed element by element: an object is one order (line 1), an array one order per element
 * (line = position). A line or element that is not JSON or is longer than `maxLineBytes` comes out as a line with a
 * MalformedOrderError (a rejected order, not a failed file). `ref.key` must already be decoded (see
 * {@link objectsOfNotification}).
 * @throws FileError (permanent) for an unknown extension, an object that is gone or forbidden (403/404), a .json
 * document whose structure is broken (not an object or an array, not closed, a missing comma). Other GetObject and
 * stream errors (SlowDown, 5xx, network) are rethrown as they are: retrying can help.
 * @example for await (const { line, value, error } of readOrderLines(store, ref)) { ... }
 */
export async function* readOrderLines(
  store: ObjectStore,
  ref: S3ObjectRef & { range?: FileRange },
  options: Partial<ReadLimits> = {},
): AsyncGenerator<OrderLine> {
  const { maxLineBytes } = { ...DEFAULT_LIMITS, ...options }
  checkLimits({ maxLineBytes }, 'readOrderLines')
  const { extension } = kindOf(ref)
  const { range } = ref
  const bytes = await objectBytes(store, ref, range ? { start: range.start, end: range.end } : {})
  if (extension === 'jsonl') {
    yield* jsonlLines(ref, bytes, maxLineBytes, range?.firstLine ?? 1)
    return
  }
  const start = range ? { offset: range.start, before: range.firstLine - 1 } : undefined
  yield* jsonElements(ref, bytes, maxLineBytes, start, range?.last ?? true)
}
