/**
 * A .json order file streamed element by element (pure: no I/O), so that a 100 MB array is never held whole.
 *
 * The scanner walks the bytes once and tracks only what it must to find where each top-level element begins and
 * ends: the nesting depth, and whether it is inside a string (and after a backslash). Each element's bytes are then
 * parsed on their own (lines.ts `orderLineOf`, as a .jsonl line is), so that one bad element is that element's
 * reject, with its position, and never its neighbours'. What no element can explain is the file's FileError: a
 * document that is neither an object nor an array, an array that is not closed (a file cut short), a missing or
 * trailing comma, anything after the closing bracket.
 *
 * A scan may start at the top of the document or at the first byte of an element inside the array (a range of a
 * large file, see ranges.ts); a range that is not the file's last may end between two elements.
 */
import { FileError, MalformedOrderError } from '../orders/errors.ts'
import { excerpt } from '../orders/json.ts'
import { LIMITS } from '../orders/limits.ts'
import { orderLineOf, type OrderLine } from './lines.ts'
import { s3Url, type S3ObjectRef } from './notification.ts'

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const COMMA = 0x2c
const isSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09
const BOM = [0xef, 0xbb, 0xbf]

/** What the scanner reports as it goes: an element begins (its absolute offset), a piece of it, its end. */
export interface ElementSink {
  start(position: number, offset: number): void
  bytes(piece: Buffer): void
  end(): void
}

/** Where a scan begins: the document's first byte, or an element's first byte inside the array. */
export interface ScanStart {
  /** The byte offset of the first byte fed (0: the top of the document). */
  offset: number
  /** Elements before this one (0 at the top). */
  before: number
}

const TOP = 0
const BETWEEN = 1
const ELEMENT = 2
const DONE = 3

/** The element scanner: `push` each chunk in order, then `finish`. @throws FileError for the document's structure */
export class JsonElementScanner {
  #mode: number
  #expectElement = true
  #sawElement = false
  #single = false
  #depth = 0
  #inString = false
  #escape = false
  /** A number or a literal element (true, false, null): it ends at the next delimiter. */
  #bare = false
  #offset: number
  /** Elements begun so far (the 1-based position of the current one). */
  position: number

  constructor(
    readonly ref: S3ObjectRef,
    readonly sink: ElementSink,
    start: ScanStart = { offset: 0, before: 0 },
  ) {
    this.#offset = start.offset
    this.position = start.before
    this.#mode = start.offset === 0 ? TOP : BETWEEN
    if (start.offset > 0) this.#sawElement = true
  }

  #fail(what: string): never {
    throw new FileError(`${s3Url(this.ref)} is not a valid JSON file: ${what}`)
  }

  #begin(chunk: Buffer, i: number): void {
    const b = chunk[i]!
    this.position += 1
    this.#sawElement = true
    this.#mode = ELEMENT
    this.#depth = b === OPEN_OBJECT || b === OPEN_ARRAY ? 1 : 0
    this.#inString = b === QUOTE
    this.#bare = this.#depth === 0 && !this.#inString
    this.sink.start(this.position, this.#offset + i)
  }

  #endElement(): void {
    this.sink.end()
    this.#mode = this.#single ? DONE : BETWEEN
    this.#expectElement = false
  }

  push(chunk: Buffer): void {
    const n = chunk.length
    let from = this.#mode === ELEMENT ? 0 : -1
    let i = 0
    while (i < n) {
      const b = chunk[i]!
      if (this.#mode === ELEMENT) {
        if (this.#inString) {
          if (this.#escape) this.#escape = false
          else if (b === BACKSLASH) this.#escape = true
          else if (b === QUOTE) {
            this.#inString = false
            if (this.#depth === 0) {
              // A string element ends with its closing quote.
              this.sink.bytes(chunk.subarray(from, i + 1))
              from = -1
              this.#endElement()
            }
          }
          i += 1
          continue
        }
        if (this.#bare) {
          if (isSpace(b) || b === COMMA || b === CLOSE_ARRAY || b === CLOSE_OBJECT) {
            this.sink.bytes(chunk.subarray(from, i))
            from = -1
            this.#endElement()
            continue // the delimiter is read again, between elements
          }
          i += 1
          continue
        }
        if (b === QUOTE) this.#inString = true
        else if (b === OPEN_OBJECT || b === OPEN_ARRAY) this.#depth += 1
        else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
          this.#depth -= 1
          if (this.#depth === 0) {
            this.sink.bytes(chunk.subarray(from, i + 1))
            from = -1
            this.#endElement()
          }
        }
        i += 1
        continue
      }
      if (isSpace(b)) {
        i += 1
        continue
      }
      if (this.#mode === BETWEEN) {
        if (this.#expectElement) {
          if (b === CLOSE_ARRAY) {
            if (this.#sawElement) this.#fail(`a comma after element ${this.position} is followed by no element`)
            this.#mode = DONE
          } else if (b === COMMA) {
            this.#fail(`element ${this.position + 1} is missing (two commas)`)
          } else {
            this.#begin(chunk, i)
            from = i
          }
        } else if (b === COMMA) this.#expectElement = true
        else if (b === CLOSE_ARRAY) this.#mode = DONE
        else this.#fail(`a comma or a closing bracket is missing after element ${this.position}`)
        i += 1
        continue
      }
      if (this.#mode === TOP) {
        if (this.#offset + i < BOM.length && b === BOM[this.#offset + i]) {
          i += 1
          continue
        }
        if (b === OPEN_ARRAY) {
          this.#mode = BETWEEN
          this.#expectElement = true
        } else if (b === OPEN_OBJECT) {
          this.#single = true
          this.#begin(chunk, i)
          from = i
        } else {
          throw new FileError(`${s3Url(this.ref)} is neither an order object nor an array of orders`)
        }
        i += 1
        continue
      }
      this.#fail('there is more after the end of the document')
    }
    if (from >= 0 && from < n) this.sink.bytes(chunk.subarray(from))
    this.#offset += n
  }

  /**
   * The end of what was fed: the end of the file (`last`), or of a range that ends between two elements.
   * @throws FileError when the document is cut short
   */
  finish(last: boolean): void {
    if (this.#mode === ELEMENT && this.#bare) this.#endElement()
    if (this.#mode === TOP) this.#fail('it holds no JSON value')
    if (this.#mode === ELEMENT) this.#fail(`element ${this.position} is cut short (the file ends inside it)`)
    if (last && this.#mode === BETWEEN) this.#fail('the array is not closed (the file is cut short)')
    if (!last && this.#mode === BETWEEN && !this.#expectElement) {
      this.#fail(`a comma or a closing bracket is missing after element ${this.position}`)
    }
  }
}

/**
 * The orders of a .json byte stream, one OrderLine per element of the array (line = its 1-based position), or one
 * for a single-object file (line 1). An element longer than `maxElementBytes` is counted and rejected, never
 * buffered whole.
 * @throws FileError for a document that no element can explain (see the file header)
 */
export async function* jsonElements(
  ref: S3ObjectRef,
  chunks: AsyncIterable<Buffer>,
  maxElementBytes: number,
  start: ScanStart = { offset: 0, before: 0 },
  last = true,
): AsyncGenerator<OrderLine> {
  const ready: OrderLine[] = []
  let parts: Buffer[] = []
  let head: Buffer | undefined
  let length = 0
  let position = 0
  const sink: ElementSink = {
    start: (p) => {
      position = p
      parts = []
      head = undefined
      length = 0
    },
    bytes: (piece) => {
      length += piece.length
      if (length > maxElementBytes) {
        head ??= Buffer.concat([...parts, piece]).subarray(0, LIMITS.RAW_EXCERPT_BYTES)
        parts = []
      } else parts.push(piece)
    },
    end: () => {
      const label = `element ${position}`
      if (length > maxElementBytes) {
        const error = new MalformedOrderError(`${label} is larger than ${maxElementBytes} bytes`)
        ready.push({ ref, line: position, error, bytes: length, raw: excerpt(head ?? Buffer.alloc(0)) })
      } else {
        const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
        const line = orderLineOf(ref, position, bytes, label)
        if (line !== undefined) ready.push(line)
      }
      parts = []
      head = undefined
    },
  }
  const scanner = new JsonElementScanner(ref, sink, start)
  for await (const chunk of chunks) {
    scanner.push(chunk)
    if (ready.length > 0) yield* ready.splice(0)
  }
  scanner.finish(last)
  yield* ready.splice(0)
}
