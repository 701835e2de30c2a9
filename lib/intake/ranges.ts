/**
 * Large order files cut into ranges (pure: no I/O), so that no file depends on one invocation's time.
 *
 * A file larger than one range is first planned: its bytes are scanned, without parsing, for where its lines (or
 * its array's elements) begin, and cut so that each range begins at the first line that starts at or after the
 * previous range's start + `rangeBytes`. A line therefore belongs to exactly one range, whatever its length (a line
 * longer than a range makes its range longer, never two ranges), and each range knows the number of its first line,
 * so rejects and reports keep the file's own line numbers. A file ending in a newline gets no empty last range.
 *
 * Planning itself goes in parts of at most `maxRanges` ranges, each part continuing where the previous stopped, so
 * that planning a file of any size takes bounded time too. The cut depends only on the bytes: planning again (a
 * retried part) gives the same ranges.
 */
import type { FileRange, PlanStart, S3ObjectRef } from './notification.ts'
import { JsonElementScanner, type ElementSink } from './json-elements.ts'

export type { FileRange, PlanStart }

export interface PlanOptions {
  rangeBytes: number
  /** The most ranges one part cuts before it stops (default 100). */
  maxRanges?: number
}

export interface Plan {
  ranges: FileRange[]
  /** Where the next part begins, when this part stopped at maxRanges. */
  next?: PlanStart
}

export const PLAN_START: PlanStart = { index: 0, start: 0, firstLine: 1 }
const NEWLINE = 0x0a

/** Cuts ranges as record starts come by: `at(offset, number)` for each line or element start, in order. */
class Cutter {
  readonly ranges: FileRange[] = []
  #start: number
  #firstLine: number
  #index: number
  #target: number
  stopped: PlanStart | undefined

  constructor(
    from: PlanStart,
    readonly rangeBytes: number,
    readonly maxRanges: number,
  ) {
    this.#start = from.start
    this.#firstLine = from.firstLine
    this.#index = from.index
    this.#target = from.start + rangeBytes
  }

  /** A line or element begins at `offset`: a new range, when it is at or past the target. */
  at(offset: number, number: number): void {
    if (this.stopped !== undefined || offset < this.#target) return
    this.ranges.push({ index: this.#index, start: this.#start, end: offset, firstLine: this.#firstLine, last: false })
    this.#start = offset
    this.#firstLine = number
    this.#index += 1
    this.#target = offset + this.rangeBytes
    if (this.ranges.length >= this.maxRanges) this.stopped = { index: this.#index, start: offset, firstLine: number }
  }

  plan(size: number): Plan {
    if (this.stopped !== undefined) return { ranges: this.ranges, next: this.stopped }
    const last = { index: this.#index, start: this.#start, end: size, firstLine: this.#firstLine, last: true }
    return { ranges: [...this.ranges, last] }
  }
}

/**
 * The ranges of a file's bytes, from `from` (a range's start; PLAN_START for the top of the file): `chunks` are
 * the bytes from `from.start` on. Reading stops once the part has its ranges.
 * @throws FileError for a .json file whose structure is broken (found before any range is sent)
 */
export const planRanges = async (
  kind: 'json' | 'jsonl',
  ref: S3ObjectRef,
  chunks: AsyncIterable<Buffer>,
  from: PlanStart,
  options: PlanOptions,
): Promise<Plan> => {
  const cutter = new Cutter(from, options.rangeBytes, options.maxRanges ?? 100)
  let offset = from.start
  if (kind === 'jsonl') {
    let line = from.firstLine
    let pending: number | undefined // a line start just past a chunk's last byte: a line only if a byte follows
    for await (const chunk of chunks) {
      if (chunk.length === 0) continue
      if (pending !== undefined) cutter.at(pending, line)
      pending = undefined
      for (let p = chunk.indexOf(NEWLINE); p !== -1; p = chunk.indexOf(NEWLINE, p + 1)) {
        line += 1
        if (p + 1 < chunk.length) cutter.at(offset + p + 1, line)
        else pending = offset + p + 1
      }
      offset += chunk.length
      if (cutter.stopped) break
    }
    return cutter.plan(offset)
  }
  const sink: ElementSink = { start: (position, at) => cutter.at(at, position), bytes: () => {}, end: () => {} }
  const scanner = new JsonElementScanner(ref, sink, { offset: from.start, before: from.firstLine - 1 })
  for await (const chunk of chunks) {
    scanner.push(chunk)
    offset += chunk.length
    if (cutter.stopped) break
  }
  if (!cutter.stopped) scanner.finish(true)
  return cutter.plan(offset)
}

/** The bytes [start, end) of a stream that begins at byte 0 (a gzipped file cannot be read from an offset). */
export async function* sliceOf(chunks: AsyncIterable<Buffer>, start: number, end = Infinity): AsyncGenerator<Buffer> {
  let offset = 0
  for await (const chunk of chunks) {
    const from = Math.max(0, start - offset)
    const to = Math.min(chunk.length, end - offset)
    offset += chunk.length
    if (to > from) yield from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to)
    if (offset >= end) return
  }
}
