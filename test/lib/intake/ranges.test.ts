import test from 'ava'
import fc from 'fast-check'
import { gzipSync } from 'node:zlib'
import { jsonElements } from '../../../lib/intake/json-elements.ts'
import { jsonlLines, type OrderLine } from '../../../lib/intake/lines.ts'
import { gunzipped } from '../../../lib/intake/read.ts'
import { PLAN_START, planRanges, sliceOf, type FileRange } from '../../../lib/intake/ranges.ts'
import { FileError } from '../../../lib/orders/errors.ts'

const ref = { bucket: 'b', key: 'orders/big.jsonl' }
const jsonRef = { bucket: 'b', key: 'orders/big.json' }

/** Cuts bytes into chunks of the given sizes, cycling. */
async function* chunked(bytes: Buffer, sizes: number[] = [7]): AsyncGenerator<Buffer> {
  for (let start = 0, i = 0; start < bytes.length; i++) {
    const size = sizes[i % sizes.length] ?? 1
    yield bytes.subarray(start, start + size)
    start += size
  }
}

const collect = async (lines: AsyncIterable<OrderLine>) => {
  const out: { line: number; value?: unknown; error?: string }[] = []
  for await (const l of lines)
    out.push(l.error ? { line: l.line, error: l.error.message } : { line: l.line, value: l.value })
  return out
}

/** Every range of a file, planned part after part (as the validator's planning messages do). */
const planAll = async (kind: 'json' | 'jsonl', bytes: Buffer, rangeBytes: number, maxRanges = 100, sizes = [7]) => {
  const ranges: FileRange[] = []
  let from = PLAN_START
  for (;;) {
    const plan = await planRanges(
      kind,
      kind === 'json' ? jsonRef : ref,
      chunked(bytes.subarray(from.start), sizes),
      from,
      {
        rangeBytes,
        maxRanges,
      },
    )
    ranges.push(...plan.ranges)
    if (!plan.next) return ranges
    from = plan.next
  }
}

/** What each range reads, as the validator reads it (its bytes only), concatenated. */
const readRanges = async (kind: 'json' | 'jsonl', bytes: Buffer, ranges: FileRange[], maxLineBytes = 1000) => {
  const lines = []
  for (const range of ranges) {
    const part = chunked(bytes.subarray(range.start, range.end), [5])
    lines.push(
      ...(await collect(
        kind === 'jsonl'
          ? jsonlLines(ref, part, maxLineBytes, range.firstLine)
          : jsonElements(jsonRef, part, maxLineBytes, { offset: range.start, before: range.firstLine - 1 }, range.last),
      )),
    )
  }
  return lines
}

const whole = async (kind: 'json' | 'jsonl', bytes: Buffer, maxLineBytes = 1000) =>
  collect(
    kind === 'jsonl'
      ? jsonlLines(ref, chunked(bytes), maxLineBytes)
      : jsonElements(jsonRef, chunked(bytes), maxLineBytes),
  )

// ---------- .jsonl ----------

test('each range begins at the first line that starts at or past the previous start + rangeBytes', async (t) => {
  const text = 'aaaa\nbbbbbbbbbb\ncc\ndddd\n'
  const ranges = await planAll('jsonl', Buffer.from(text), 6)
  t.deepEqual(ranges, [
    { index: 0, start: 0, end: 16, firstLine: 1, last: false }, // b's line starts at 5 < 6: it stays in range 0
    { index: 1, start: 16, end: 24, firstLine: 3, last: true }, // c at 16 ≥ 6, then d at 19 < 22
  ])
})

test('a line across a boundary belongs to exactly one range, and a line longer than a range makes one range, not two', async (t) => {
  const long = 'x'.repeat(50)
  const text = `{"a":1}\n${long}\n{"b":2}\n`
  const ranges = await planAll('jsonl', Buffer.from(text), 10)
  // The long line starts at 8, before the first target (10): range 0 holds it whole, past several targets.
  t.deepEqual(
    ranges.map((r) => [r.start, r.end, r.firstLine]),
    [
      [0, 59, 1],
      [59, 67, 3],
    ],
  )
  t.deepEqual(await readRanges('jsonl', Buffer.from(text), ranges), await whole('jsonl', Buffer.from(text)))
})

test('a file ending in a newline gets no empty last range; one without a final newline keeps its last line', async (t) => {
  for (const text of ['{"a":1}\n{"b":2}\n', '{"a":1}\n{"b":2}']) {
    const ranges = await planAll('jsonl', Buffer.from(text), 8, 100, [8])
    t.deepEqual(
      ranges.map((r) => [r.start, r.end, r.last]),
      [
        [0, 8, false],
        [8, text.length, true],
      ],
      `for ${JSON.stringify(text)}`,
    )
  }
})

test('CRLF lines and a BOM at offset 0: each range reads the lines the whole file reads, with the same numbers', async (t) => {
  const text = '\uFEFF{"a":1}\r\n\r\n{"b":2}\r\nnot json\r\n{"c":3}'
  const bytes = Buffer.from(text)
  const ranges = await planAll('jsonl', bytes, 4)
  t.true(ranges.length >= 3)
  t.deepEqual(await readRanges('jsonl', bytes, ranges), await whole('jsonl', bytes))
})

test('a BOM is stripped only at offset 0: a range that begins with one reads it as part of its line', async (t) => {
  const bytes = Buffer.from('{"a":1}\n\uFEFF{"b":2}\n')
  const ranges = await planAll('jsonl', bytes, 4)
  const lines = await readRanges('jsonl', bytes, ranges)
  t.deepEqual(lines[0], { line: 1, value: { a: 1 } })
  t.regex(lines[1]?.error ?? '', /line 2 is not valid JSON/)
})

test('planning stops at maxRanges and the next part continues where it stopped: the same ranges as in one part', async (t) => {
  const bytes = Buffer.from(Array.from({ length: 200 }, (_, i) => JSON.stringify({ i })).join('\n'))
  const first = await planRanges('jsonl', ref, chunked(bytes), PLAN_START, { rangeBytes: 50, maxRanges: 5 })
  t.is(first.ranges.length, 5)
  t.like(first.next, { index: 5, start: first.ranges[4]!.end })
  t.deepEqual(await planAll('jsonl', bytes, 50, 5), await planAll('jsonl', bytes, 50, 1000))
})

const lineArbitrary = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  fc.constantFrom('', ' ', 'not json', '{"cut":'),
)

test('for any file, range size and chunking, the ranges read exactly the lines of the whole file, once, in order', async (t) => {
  await t.notThrowsAsync(
    fc.assert(
      fc.asyncProperty(
        fc.array(lineArbitrary, { maxLength: 40 }),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        fc.integer({ min: 1, max: 80 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 4 }),
        async (lines, newline, finalNewline, rangeBytes, maxRanges, sizes) => {
          const bytes = Buffer.from(lines.join(newline) + (finalNewline ? newline : ''))
          const ranges = await planAll('jsonl', bytes, rangeBytes, maxRanges, sizes)
          // Contiguous, covering the file, none empty, the last one last.
          ranges.forEach((r, i) => {
            const empty = r.end <= r.start && bytes.length > 0
            if (r.index !== i || empty || r.last !== (i === ranges.length - 1)) throw new Error('bad range')
            if (i > 0 && r.start !== ranges[i - 1]!.end) throw new Error('gap')
          })
          if (bytes.length > 0 && ranges.at(-1)!.end !== bytes.length) throw new Error('not covered')
          t.deepEqual(await readRanges('jsonl', bytes, ranges, 60), await whole('jsonl', bytes, 60))
        },
      ),
      { numRuns: 150 },
    ),
  )
})

// ---------- .json ----------

test('a .json array is cut at element starts; each range reads its elements with their positions', async (t) => {
  const orders = Array.from({ length: 30 }, (_, i) => ({ order_id: `A-${i}`, note: 'a ] } , " \\ [ {' }))
  const bytes = Buffer.from(JSON.stringify(orders, null, 1))
  const ranges = await planAll('json', bytes, 100)
  t.true(ranges.length > 5, `${ranges.length} ranges`)
  for (const r of ranges.slice(1)) t.is(bytes[r.start], 0x7b, `range ${r.index} begins at an element`)
  const lines = await readRanges('json', bytes, ranges)
  t.deepEqual(
    lines,
    orders.map((value, i) => ({ line: i + 1, value })),
  )
})

test('for any array, range size and chunking, the ranges read exactly the elements of the whole file', async (t) => {
  await t.notThrowsAsync(
    fc.assert(
      fc.asyncProperty(
        fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 25 }),
        fc.constantFrom(0, 1, 2),
        fc.integer({ min: 1, max: 60 }),
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 4 }),
        async (values, indent, rangeBytes, sizes) => {
          const bytes = Buffer.from(JSON.stringify(values, null, indent))
          const ranges = await planAll('json', bytes, rangeBytes, 3, sizes)
          const expected = JSON.parse(bytes.toString('utf8')) as unknown[] // -0 and the like as JSON reads them
          t.deepEqual(
            await readRanges('json', bytes, ranges, 10_000),
            expected.map((value, i) => ({ line: i + 1, value })),
          )
        },
      ),
      { numRuns: 150 },
    ),
  )
})

test('a .json element that is not JSON is its own reject; its neighbours are read', async (t) => {
  const lines = await whole('json', Buffer.from('[{"a":1}, {bad}, tru, {"c":3}, "s\\"]"]'))
  t.deepEqual(
    lines.map((l) => l.line),
    [1, 2, 3, 4, 5],
  )
  t.deepEqual([lines[0]?.value, lines[3]?.value, lines[4]?.value], [{ a: 1 }, { c: 3 }, 's"]'])
  t.regex(lines[1]?.error ?? '', /^element 2 is not valid JSON/)
  t.regex(lines[2]?.error ?? '', /^element 3 is not valid JSON/)
})

test('a .json element longer than the limit is rejected without being held, with its excerpt', async (t) => {
  const big = JSON.stringify({ notes: 'n'.repeat(5000) })
  const out: OrderLine[] = []
  for await (const l of jsonElements(jsonRef, chunked(Buffer.from(`[{"a":1},${big},{"b":2}]`), [64]), 1000)) out.push(l)
  t.deepEqual(
    out.map((l) => l.line),
    [1, 2, 3],
  )
  t.regex(out[1]?.error?.message ?? '', /element 2 is larger than 1000 bytes/)
  t.is(out[1]?.bytes, big.length)
  t.true(big.startsWith(out[1]?.raw ?? 'x'), 'the start of the element')
  t.true((out[1]?.raw?.length ?? 0) >= 1000, 'what was read of it before it was past the limit')
})

const broken = test.macro(async (t, text: string, message: RegExp) => {
  const err = await t.throwsAsync(whole('json', Buffer.from(text)), { instanceOf: FileError })
  t.regex(err?.message ?? '', message)
  // Planning finds it too, before any range is sent.
  await t.throwsAsync(planAll('json', Buffer.from(text), 1000), { instanceOf: FileError })
})

test('an array that is not closed is a FileError', broken, '[{"a":1},{"b":2}', /the array is not closed/)
test('a file cut inside an element is a FileError', broken, '[{"a":1},{"b":', /element 2 is cut short/)
test('a trailing comma is a FileError', broken, '[{"a":1},]', /a comma after element 1 is followed by no element/)
test('two commas are a FileError', broken, '[{"a":1},,{"b":2}]', /element 2 is missing/)
test(
  'a missing comma is a FileError',
  broken,
  '[{"a":1} {"b":2}]',
  /a comma or a closing bracket is missing after element 1/,
)
test('anything after the document is a FileError', broken, '[{"a":1}] x', /more after the end of the document/)
test('a scalar document is a FileError', broken, '42', /neither an order object nor an array/)
test('an empty document is a FileError', broken, '  ', /holds no JSON value/)

test('an empty array has no elements; a single object with a BOM is line 1', async (t) => {
  t.deepEqual(await whole('json', Buffer.from('[ ]')), [])
  t.deepEqual(await whole('json', Buffer.from('\uFEFF {"a":[1,{"b":"}"}]}\n')), [
    { line: 1, value: { a: [1, { b: '}' }] } },
  ])
})

// ---------- gzip ----------

test('a gzipped file is planned over its decompressed bytes, and each range is a slice of them', async (t) => {
  const text = Array.from({ length: 300 }, (_, i) => JSON.stringify({ order_id: `G-${i}` })).join('\n')
  const gz = gzipSync(text)
  const plan = await planRanges('jsonl', ref, gunzipped(ref, chunked(gz, [100])), PLAN_START, { rangeBytes: 1000 })
  t.is(plan.ranges.at(-1)?.end, Buffer.byteLength(text))
  const lines = []
  for (const range of plan.ranges) {
    const part = sliceOf(gunzipped(ref, chunked(gz, [100])), range.start, range.end)
    lines.push(...(await collect(jsonlLines(ref, part, 1000, range.firstLine))))
  }
  t.is(lines.length, 300)
  t.true(lines.every((l, i) => l.line === i + 1 && (l.value as { order_id: string }).order_id === `G-${i}`))
})

test('sliceOf gives exactly the bytes asked, across chunk boundaries, and stops reading at the end', async (t) => {
  let pulled = 0
  async function* source() {
    for (let i = 0; i < 100; i++) {
      pulled++
      yield Buffer.from(`${String(i).padStart(2, '0')}|`)
    }
  }
  const parts: Buffer[] = []
  for await (const chunk of sliceOf(source(), 3, 11)) parts.push(chunk)
  t.is(Buffer.concat(parts).toString(), '01|02|03')
  t.is(pulled, 4)
})
