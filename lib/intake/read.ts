/**
 * Reading one S3 object as a lazy stream of orders: the extension decides the splitter (lines.ts), GetObject's
 * failures are classified (gone or forbidden: a permanent FileError; throttling, 5xx, network: left as they are,
 * transient), and the Body is consumed as it streams, decompressed on the way when the key ends in `.gz` or the
 * object says `Content-Encoding: gzip`.
 */
import { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3'
import { errorMessage, FileError, TransientError } from '../orders/errors.ts'
import { LIMITS } from '../orders/limits.ts'
import { jsonLines, jsonlLines, tooLarge, type OrderLine } from './lines.ts'
import { s3Url, type S3ObjectRef } from './notification.ts'

export interface ReadLimits {
  /** A .json file is read whole: larger ones are refused (use .jsonl). */
  maxJsonBytes: number
  /** A longer .jsonl line is reported as a rejected line and skipped, never buffered. */
  maxLineBytes: number
}

export const DEFAULT_LIMITS: ReadLimits = {
  maxJsonBytes: 10 * 1024 * 1024,
  maxLineBytes: 2 * LIMITS.MAX_ORDER_BYTES,
}

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
      `${s3Url(ref)} cannot be read (${String(name)}: ${errorMessage(err)}); ` +
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
  const { maxJsonBytes, maxLineBytes } = { ...DEFAULT_LIMITS, ...options }
  checkLimits({ maxJsonBytes, maxLineBytes }, 'readOrderLines')
  const kind = fileKind(ref.key)
  if (kind === undefined) {
    throw new FileError(`${s3Url(ref)} has an unknown extension: upload orders as ${ACCEPTED_EXTENSIONS}`)
  }
  const { extension } = kind
  // A gzipped object's stored size says nothing of what it holds: its limits apply as it is decompressed.
  if (extension === 'json' && !kind.gzipped && (ref.size ?? 0) > maxJsonBytes) throw tooLarge(ref, maxJsonBytes)

  const { Body, ContentLength, ContentEncoding } = await getObject(client, ref)
  if (Body === undefined) throw new TransientError(`GetObject ${s3Url(ref)} returned no body`)
  const gzipped = kind.gzipped || /^(x-)?gzip$/i.test(ContentEncoding ?? '')
  if (extension === 'json' && !gzipped && (ContentLength ?? 0) > maxJsonBytes) {
    const stream = Body as { destroy?: () => void }
    stream.destroy?.()
    throw tooLarge(ref, maxJsonBytes)
  }
  const bytes = gzipped ? gunzipped(ref, bytesOf(Body)) : bytesOf(Body)
  yield* extension === 'jsonl' ? jsonlLines(ref, bytes, maxLineBytes) : jsonLines(ref, bytes, maxJsonBytes)
}
