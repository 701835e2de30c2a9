/**
 * Every error the pipeline raises on purpose is an OrderError. `permanent` says what the SQS handlers do with it:
 * permanent errors are parked in a dead-letter queue with their reasons and acknowledged; everything else is
 * reported as a batch item failure so that SQS retries it (and parks it after maxReceiveCount).
 */

/** One failed check: a JSON Pointer to the field, the rule it broke, and words a client can act on. */
export interface FieldError {
  path: string
  rule: string
  message: string
}

export abstract class OrderError extends Error {
  abstract readonly permanent: boolean
  /** Each class names itself (class names do not survive minification): the DLQ's error attribute reports it. */
  abstract override readonly name: string
}

/** The order failed its schema or a business rule. */
export class ValidationError extends OrderError {
  override readonly name = 'ValidationError'
  readonly permanent = true
  readonly fields: FieldError[]
  constructor(fields: FieldError[], message = fieldsMessage(fields)) {
    super(message)
    this.fields = fields
  }
}

/** The body is not JSON at all. */
export class MalformedOrderError extends OrderError {
  override readonly name = 'MalformedOrderError'
  readonly permanent = true
}

/** The same order id arrived with other content than the stored order. */
export class ConflictError extends OrderError {
  override readonly name = 'ConflictError'
  readonly permanent = true
  readonly orderId: string
  readonly storedHash: string
  readonly hash: string
  constructor(orderId: string, storedHash: string, hash: string) {
    super(`Order ${orderId} already exists with different content`)
    this.orderId = orderId
    this.storedHash = storedHash
    this.hash = hash
  }
}

/** The S3 object cannot be read or is not an order file: retrying cannot help. */
export class FileError extends OrderError {
  override readonly name = 'FileError'
  readonly permanent = true
}

/** Worth retrying: throttling, 5xx, network, transaction conflicts. */
export class TransientError extends OrderError {
  override readonly name = 'TransientError'
  readonly permanent = false
}

/**
 * Not tried, and retried by SQS: an earlier message of its FIFO group failed in this batch, and a group's messages
 * must not be processed out of order (lib/aws/groups.ts).
 */
export class HeldInGroupError extends OrderError {
  override readonly name = 'HeldInGroupError'
  readonly permanent = false
}

/** The message of a list of field errors: one sentence a client can act on. */
export const fieldsMessage = (fields: FieldError[]): string => {
  if (fields.length === 0) return 'Order failed validation'
  const missing = fields.filter((f) => f.rule === 'required' && f.path.lastIndexOf('/') === 0)
  const rest = fields.filter((f) => !missing.includes(f))
  const parts =
    missing.length > 1
      ? [`Missing required fields: ${missing.map((f) => f.path.slice(1)).join(', ')}`]
      : missing.map((f) => f.message)
  return [...parts, ...rest.map((f) => f.message)].join('; ')
}

/**
 * AWS errors about the request itself. A missing table or a missing permission is not among them: that is a
 * deployment to fix, after which a retry (or a replay from the DLQ) succeeds.
 */
const PERMANENT_AWS_ERRORS = new Set(['ValidationException', 'SerializationException', 'InvalidParameterValue'])

/**
 * Whether retrying can help. Ours say so themselves; a SyntaxError is a body that is not JSON; AWS errors about
 * the request itself are permanent; throttling, 5xx, network errors, configuration errors and anything unknown
 * are transient.
 */
export const isPermanent = (err: unknown): boolean => {
  if (err instanceof OrderError) return err.permanent
  if (err instanceof SyntaxError) return true
  const name = (err as { name?: unknown } | null)?.name
  return typeof name === 'string' && PERMANENT_AWS_ERRORS.has(name)
}

/**
 * The classes of our permanent errors, by the name a DLQ message carries: what no retry or replay fixes without a
 * change to the order or the file (the redrive command skips them unless asked).
 */
export const PERMANENT_ERROR_CLASSES: readonly string[] = [
  'ValidationError',
  'ConflictError',
  'MalformedOrderError',
  'FileError',
] satisfies (ValidationError | ConflictError | MalformedOrderError | FileError)['name'][]

/** A name for the error class attribute of a DLQ message. */
export const errorClass = (err: unknown): string => {
  if (err instanceof SyntaxError) return 'MalformedOrderError'
  if (err instanceof Error) return err.name
  return typeof err
}

/** How much of a reason travels into a record, a DLQ attribute or a log line (a field name can be any length). */
const MAX_REASON_CHARS = 500
const MAX_REASON_FIELDS = 20

/** A reason cut to a size every store takes (a DynamoDB item, an SQS attribute, a log line). */
export const boundedMessage = (text: string): string =>
  text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS)}… (${text.length} characters)` : text

/** Field errors cut to a size every store takes: the first 20, each path and message bounded. */
export const boundedFields = (fields: FieldError[]): FieldError[] =>
  fields.slice(0, MAX_REASON_FIELDS).map((f) => ({
    path: boundedMessage(f.path),
    rule: f.rule.slice(0, 40),
    message: boundedMessage(f.message),
  }))

/** The message of an error, bounded (see boundedMessage). */
export const errorMessage = (err: unknown): string =>
  boundedMessage(err instanceof Error ? err.message : `Non-error value thrown: ${String(err)}`)
