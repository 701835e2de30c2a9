/**
 * A 413 before anything parses a body past the bound: the body's size is measured as it arrives (a base64 body
 * decoded), so that no parser or validator spends time on an oversized order.
 */
import type { MiddlewareObj, Request } from '@middy/core'
import { createError } from '@middy/util'

const defaults = {
  /** The largest body accepted, in bytes. */
  maxBytes: 0,
}

/** @example .use(httpBodyLimit({ maxBytes: LIMITS.MAX_ORDER_BYTES })).use(httpJsonBodyParser()) */
export const httpBodyLimit = (opts: Partial<typeof defaults> = {}): MiddlewareObj => {
  const { maxBytes } = { ...defaults, ...opts }
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0)
    throw new TypeError('httpBodyLimit: maxBytes must be a positive integer')
  const httpBodyLimitBefore = (request: Request): void => {
    const { body, isBase64Encoded } = request.event as { body?: unknown; isBase64Encoded?: boolean }
    if (typeof body !== 'string') return
    const bytes = Buffer.byteLength(body, isBase64Encoded ? 'base64' : 'utf8')
    if (bytes > maxBytes) throw createError(413, `The order is ${bytes} bytes; at most ${maxBytes} are accepted`)
  }
  return { before: httpBodyLimitBefore }
}
