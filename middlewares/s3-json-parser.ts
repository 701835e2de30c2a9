/**
 * S3 order files for a batch handler: `before` lists the S3 objects of each record of an SQS ingest event (bodies
 * are S3 notifications) or of a direct S3 event into `context.orderFiles.sources` (one per record, in order; a bad
 * record gets an `error`, never a throw, so the handler fails that record alone inside its per-record loop), and
 * `context.orderFiles.read(ref)` streams one object's orders (or one range's, `ref.range`). The engines: lib/intake/notification.ts (events →
 * objects), lib/intake/read.ts (GetObject and its error classes) and lib/intake/lines.ts (bytes → orders).
 */
import type { MiddlewareObj, Request } from '@middy/core'
import type { Context, S3Event, SQSEvent } from 'aws-lambda'
import { objectStore, type ObjectStore } from '../lib/aws/objects.ts'
import type { OrderLine } from '../lib/intake/lines.ts'
import { sourcesOf, type OrderSource, type S3ObjectRef } from '../lib/intake/notification.ts'
import { checkLimits, DEFAULT_LIMITS, readOrderLines, type ReadLimits } from '../lib/intake/read.ts'

/** What `s3JsonParser` puts in `context.orderFiles`. */
export interface S3OrderFiles {
  sources: OrderSource[]
  read: (ref: S3ObjectRef) => AsyncGenerator<OrderLine>
}

export type S3JsonParserOptions = { client: ObjectStore | undefined } & ReadLimits

const defaults: S3JsonParserOptions = { client: undefined, ...DEFAULT_LIMITS }

export type S3JsonParserContext = Context & { orderFiles: S3OrderFiles }

type S3JsonParserRequest = Request<SQSEvent | S3Event, unknown, Error, S3JsonParserContext>

/**
 * The S3 client is `opts.client`, or one built on first read and kept for the life of the factory.
 * @throws TypeError at factory time for a limit that is not a positive integer.
 * @example
 * middy<SQSEvent>().use(s3JsonParser({ client })).handler(async (event, context) => {
 *   for (const source of context.orderFiles.sources) { ... context.orderFiles.read(ref) ... }
 * })
 */
export const s3JsonParser = (
  opts: Partial<S3JsonParserOptions> = {},
): MiddlewareObj<SQSEvent | S3Event, unknown, Error, S3JsonParserContext> => {
  const options = { ...defaults, ...opts }
  checkLimits(options, 's3JsonParser')
  let client = options.client
  const limits: ReadLimits = { maxLineBytes: options.maxLineBytes }
  const read = (ref: S3ObjectRef): AsyncGenerator<OrderLine> => readOrderLines((client ??= objectStore()), ref, limits)

  const s3JsonParserMiddlewareBefore = (request: S3JsonParserRequest): void => {
    request.context.orderFiles = { sources: sourcesOf(request.event), read }
  }

  return { before: s3JsonParserMiddlewareBefore }
}
