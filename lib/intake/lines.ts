/**
 * An order file's bytes → its orders, one OrderLine each, in order (pure: no I/O; read.ts feeds it).
 *
 * The .jsonl splitter is our own, over the byte stream (not node:readline, which cannot bound a line): bytes are
 * cut at each `\n`, a line is decoded only once it is complete (so a UTF-8 character split across two chunks is
 * never broken), and a line longer than `maxLineBytes` is counted and dropped, never buffered whole. CRLF, a UTF-8
 * BOM and blank lines are tolerated (blank lines are skipped but counted). A .json file is streamed element by
 * element (json-elements.ts), each element read here as a line is.
 *
 * A line that is not an order is a line with an `error` (a rejected order, never a failed file): not UTF-8, not
 * JSON, too long, or nested deeper than LIMITS.MAX_JSON_DEPTH (checked before anything recurses over it). Its
 * `raw` keeps the first LIMITS.RAW_EXCERPT_BYTES of its text for the DLQ; error messages never quote the input.
 */
import { MalformedOrderError } from '../orders/errors.ts'
import { excerpt, jsonErrorMessage, jsonProblem, type JsonProblem } from '../orders/json.ts'
import { LIMITS } from '../orders/limits.ts'
import type { S3ObjectRef } from './notification.ts'

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
  /** With an `error`: the start of the line's text (at most LIMITS.RAW_EXCERPT_BYTES), when there is one. */
  raw?: string
  /** With a `value`: what `jsonProblem(value)` found (null: nothing), so that it is walked once. */
  structure?: JsonProblem | null
}

const tooDeep = (what: string): MalformedOrderError =>
  new MalformedOrderError(`${what} is nested deeper than ${LIMITS.MAX_JSON_DEPTH} levels`)

const NEWLINE = 0x0a
const BOM = '\uFEFF'

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * One complete line (its bytes without the `\n`) or .json element as an OrderLine, or undefined when it is blank.
 * `label` names it in errors (`line 7`, `element 7`).
 */
export const orderLineOf = (
  ref: S3ObjectRef,
  line: number,
  bytes: Buffer,
  label = `line ${line}`,
): OrderLine | undefined => {
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    const error = new MalformedOrderError(`${label} is not valid UTF-8`)
    return { ref, line, error, bytes: bytes.length, raw: excerpt(bytes) }
  }
  if (line === 1 && text.startsWith(BOM)) text = text.slice(BOM.length)
  if (text.endsWith('\r')) text = text.slice(0, -1)
  if (text.trim() === '') return undefined
  const size = Buffer.byteLength(text, 'utf8')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    const error = new MalformedOrderError(`${label} is not valid JSON (${jsonErrorMessage(err)})`)
    return { ref, line, error, bytes: size, raw: excerpt(Buffer.from(text, 'utf8')) }
  }
  const structure = jsonProblem(value) ?? null
  if (structure?.rule === 'maxDepth') {
    return { ref, line, error: tooDeep(label), bytes: size, raw: excerpt(Buffer.from(text, 'utf8')) }
  }
  return { ref, line, value, bytes: size, structure }
}

/**
 * The orders of a .jsonl byte stream, one per non-blank line. `firstLine` is the number of the stream's first line
 * (1 at the top of the file; a range of a large file starts further on, see ranges.ts).
 */
export async function* jsonlLines(
  ref: S3ObjectRef,
  chunks: AsyncIterable<Buffer>,
  maxLineBytes: number,
  firstLine = 1,
): AsyncGenerator<OrderLine> {
  let parts: Buffer[] = [] // the current line so far, while it is within maxLineBytes
  let head: Buffer | undefined // the start of a line past maxLineBytes, for its excerpt
  let length = 0 // bytes of the current line so far, kept or not
  let line = firstLine - 1
  const endOfLine = (last: Buffer): OrderLine | undefined => {
    line += 1
    const total = length + last.length
    let result: OrderLine | undefined
    if (total > maxLineBytes) {
      const error = new MalformedOrderError(`line ${line} is larger than ${maxLineBytes} bytes`)
      result = { ref, line, error, bytes: total, raw: excerpt(head ?? Buffer.concat([...parts, last])) }
    } else {
      result = orderLineOf(ref, line, parts.length === 0 ? last : Buffer.concat([...parts, last]))
    }
    parts = []
    head = undefined
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
    if (length > maxLineBytes) {
      // Too long: count the bytes, keep only the excerpt's worth of its start.
      head ??= Buffer.concat([...parts, rest]).subarray(0, LIMITS.RAW_EXCERPT_BYTES)
      parts = []
    } else if (rest.length > 0) parts.push(rest)
  }
  if (length > 0) {
    const result = endOfLine(Buffer.alloc(0))
    if (result !== undefined) yield result
  }
}
