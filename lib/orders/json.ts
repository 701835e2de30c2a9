/**
 * Parsed JSON as it comes in: anything. These narrow it without trusting it, and never recurse over it: a value
 * nested thousands of levels deep (hostile, or a bug upstream) must cost one reject, never a stack overflow.
 */
import { LIMITS } from './limits.ts'

export type JsonObject = Record<string, unknown>

/** A plain JSON object (not null, not an array). */
export const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** The first `max` bytes of a text (bytes or a string) as text: a character cut in two is replaced, never split. */
export const excerpt = (text: Buffer | string, max: number = LIMITS.RAW_EXCERPT_BYTES): string => {
  const bytes = typeof text === 'string' ? Buffer.from(text.slice(0, max), 'utf8') : text
  return new TextDecoder('utf-8').decode(bytes.subarray(0, max))
}

/** What is wrong with a parsed value as data we can store: too deep, or a number DynamoDB cannot hold exactly. */
export interface JsonProblem {
  /** JSON Pointer of the value (the first one found, for a number). */
  path: string
  rule: 'maxDepth' | 'safeNumber'
}

/**
 * The first structural problem of a parsed value, found without recursion (an explicit stack): nesting deeper than
 * `maxDepth` (an object or an array counts one level), or a number that is not a safe integer nor a finite double
 * within ±2^53 (the DynamoDB marshaller refuses what it cannot store exactly).
 */
interface Frame {
  value: object
  /** Levels down to this object or array, the root being 1. */
  depth: number
  key: string | number
  parent: Frame | undefined
}

/** The JSON Pointer of a frame (and of one of its members): built only when a problem is found. */
const pointer = (frame: Frame, member?: string | number): string => {
  const keys = member === undefined ? [] : [String(member)]
  for (let f: Frame | undefined = frame; f?.parent !== undefined; f = f.parent) keys.push(String(f.key))
  return keys
    .reverse()
    .map((k) => `/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`)
    .join('')
}

const unsafeNumber = (n: number): boolean => !Number.isFinite(n) || Math.abs(n) > Number.MAX_SAFE_INTEGER

export const jsonProblem = (value: unknown, maxDepth: number = LIMITS.MAX_JSON_DEPTH): JsonProblem | undefined => {
  if (typeof value === 'number') return unsafeNumber(value) ? { path: '', rule: 'safeNumber' } : undefined
  if (typeof value !== 'object' || value === null) return undefined
  const stack: Frame[] = [{ value, depth: 1, key: '', parent: undefined }]
  while (stack.length > 0) {
    const frame = stack.pop()!
    if (frame.depth > maxDepth) return { path: pointer(frame), rule: 'maxDepth' }
    const object = frame.value as Record<string, unknown>
    const keys: (string | number)[] = Array.isArray(object) ? object.map((_, i) => i) : Object.keys(object)
    for (const key of keys) {
      const child = object[key as string]
      if (typeof child === 'number') {
        if (unsafeNumber(child)) return { path: pointer(frame, key), rule: 'safeNumber' }
      } else if (typeof child === 'object' && child !== null) {
        stack.push({ value: child, depth: frame.depth + 1, key, parent: frame })
      }
    }
  }
  return undefined
}

/**
 * A JSON.parse error described without the input: V8's messages quote a window of the text around the error
 * (`Unexpected token 'a', "ana.pii@ex"... is not valid JSON`), which may be personal data and must not reach a
 * log or a DLQ reason. Keeps the kind of error and the position where V8 gives one.
 * @example jsonErrorMessage(new SyntaxError('Unterminated string in JSON at position 20')) // 'unterminated string at position 20'
 */
export const jsonErrorMessage = (err: unknown): string => {
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : ''
  const position = /at position (\d+)/.exec(message)?.[1]
  const kind = /^Unexpected end of JSON input/.test(message)
    ? 'unexpected end of input'
    : /^Unterminated string/.test(message)
      ? 'unterminated string'
      : /^Bad control character/.test(message)
        ? 'control character in a string'
        : /^Bad escaped character|^Bad Unicode escape/.test(message)
          ? 'bad escape in a string'
          : /^Expected /.test(message)
            ? message
                .replace(/ in JSON at position \d+.*$/s, '')
                .replace(/"[^"]*"/g, '…')
                .slice(0, 80)
            : /^Unexpected (token|number|string|non-whitespace)/.test(message)
              ? 'unexpected character'
              : 'syntax error'
  return position === undefined ? kind : `${kind} at position ${position}`
}
