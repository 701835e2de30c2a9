/**
 * Reading one S3 object as a lazy stream of orders: the extension decides the splitter (lines.ts), GetObject's
 * failures are classified (gone or forbidden: a permanent FileError; throttling, 5xx, network: left as they are,
 * transient), and the Body is consumed as it streams.
 */
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

const ACCEPTED_EXTENSIONS = '.json (one order or an array of orders) or .jsonl (one order a line)'

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
