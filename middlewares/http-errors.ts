/**
 * The API's error answers: `{"message": "...", "errors": [{"path", "rule", "message"}]}`, where `message` alone is
 * enough to act on. Turns our errors and middy's into HTTP errors whose message is that JSON body; use it after
 * @middy/http-error-handler so that its `onError` runs first and the error handler writes the response.
 */
import type { MiddlewareObj, Request } from '@middy/core'
import type { Context } from 'aws-lambda'
import { createError } from '@middy/util'
import { MalformedOrderError, fieldsMessage, ValidationError, type FieldError } from '../lib/orders/errors.ts'
import { jsonErrorMessage } from '../lib/orders/json.ts'
import { logger as baseLogger, type Logger } from '../lib/runtime/logger.ts'

interface ErrorBody {
  message: string
  errors?: FieldError[]
}

interface HttpLikeError {
  statusCode?: number
  message?: string
  expose?: boolean
  cause?: { package?: string; data?: unknown; message?: string }
}

const httpError = (statusCode: number, body: ErrorBody) =>
  createError(statusCode, JSON.stringify(body), { expose: true })

/** The status and body for an error thrown in the API chain. */
const errorAnswer = (err: unknown): { statusCode: number; body: ErrorBody } => {
  if (err instanceof ValidationError) return { statusCode: 400, body: { message: err.message, errors: err.fields } }
  if (err instanceof MalformedOrderError) return { statusCode: 400, body: { message: err.message } }
  const e = (err ?? {}) as HttpLikeError
  if (e.cause?.package === '@middy/validator' && Array.isArray(e.cause.data)) {
    const fields = e.cause.data as FieldError[]
    return { statusCode: 400, body: { message: fieldsMessage(fields), errors: fields } }
  }
  if (e.cause?.package === '@middy/http-json-body-parser') {
    return e.message === 'Unsupported Media Type'
      ? { statusCode: 415, body: { message: 'Content-Type must be application/json' } }
      : { statusCode: 400, body: { message: `Body is not valid JSON (${jsonErrorMessage(e.cause.message)})` } }
  }
  if (typeof e.statusCode === 'number' && e.statusCode < 500)
    return { statusCode: e.statusCode, body: { message: e.message ?? 'Request failed' } }
  return { statusCode: 500, body: { message: 'Internal error: the order was not accepted, retry later' } }
}

const defaults = {
  logger: baseLogger as Logger,
  /** Called when an order is refused for what it is (400, 413): to count it. */
  onRejected: undefined as ((context: Context) => void) | undefined,
}

export const httpErrors = (opts: Partial<typeof defaults> = {}): MiddlewareObj => {
  const { logger, onRejected } = { ...defaults, ...opts }
  const httpErrorsOnError = (request: Request): void => {
    if (request.response !== undefined) return
    const { statusCode, body } = errorAnswer(request.error)
    if (statusCode >= 500) logger.error({ err: request.error }, 'request failed')
    if (statusCode === 400 || statusCode === 413) onRejected?.(request.context)
    request.error = httpError(statusCode, body)
  }
  return { onError: httpErrorsOnError }
}
