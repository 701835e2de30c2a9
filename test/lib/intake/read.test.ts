import test from 'ava'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import type { ObjectStore } from '../../../lib/aws/objects.ts'
import type { OrderLine } from '../../../lib/intake/lines.ts'
import type { FileRange } from '../../../lib/intake/notification.ts'
import { fileKind, needsRanges, readOrderLines } from '../../../lib/intake/read.ts'
import { FileError } from '../../../lib/orders/errors.ts'

/**
 * An object store whose GetObject answers `bytes` in chunks of 7 (a gzip stream cut anywhere), a Range as S3 does
 * (the stored bytes, compressed or not), and records the ranges asked.
 */
const serving = (bytes: Buffer, extra: { contentEncoding?: string } = {}) => {
  const asked: ({ start: number; end?: number } | undefined)[] = []
  const store: ObjectStore = {
    get: async (_ref, options = {}) => {
      asked.push(options.range)
      const { start = 0, end = bytes.length } = options.range ?? {}
      const part = bytes.subarray(start, end)
      const chunks = Array.from({ length: Math.ceil(part.length / 7) }, (_, i) => part.subarray(i * 7, i * 7 + 7))
      return { body: Readable.from(chunks), contentLength: part.length, destroy: () => {}, ...extra }
    },
    put: async () => {},
  }
  return Object.assign(store, { asked })
}

const read = async (store: ObjectStore, key: string, limits = {}, range?: FileRange): Promise<OrderLine[]> => {
  const lines: OrderLine[] = []
  for await (const line of readOrderLines(store, { bucket: 'b', key, size: 10, range }, limits)) lines.push(line)
  return lines
}

const JSONL = ['{"order_id":"G1"}', '{"order_id":"G2"}', 'not json', '{"order_id":"G4"}'].join('\n')

test('a .jsonl.gz is streamed through gunzip: the same lines, with their line numbers, as the plain file', async (t) => {
  const lines = await read(serving(gzipSync(JSONL)), 'raw/year=2026/month=01/day=07/orders.jsonl.gz')
  t.deepEqual(
    lines.map((l) => [l.line, (l.value as { order_id?: string } | undefined)?.order_id ?? l.error?.name]),
    [
      [1, 'G1'],
      [2, 'G2'],
      [3, 'MalformedOrderError'],
      [4, 'G4'],
    ],
  )
})

test('a .json.gz array and a .jsonl with Content-Encoding: gzip are decompressed too', async (t) => {
  const array = await read(serving(gzipSync('[{"order_id":"A1"},{"order_id":"A2"}]')), 'orders/a.json.gz')
  t.deepEqual(
    array.map((l) => l.value),
    [{ order_id: 'A1' }, { order_id: 'A2' }],
  )
  const encoded = await read(serving(gzipSync(JSONL), { contentEncoding: 'gzip' }), 'orders/b.jsonl')
  t.is(encoded.length, 4)
})

test('a range of a plain file is a ranged GET; its lines keep the numbers they have in the file', async (t) => {
  const bytes = Buffer.from(JSONL)
  const start = JSONL.indexOf('{"order_id":"G2"}')
  const end = JSONL.indexOf('{"order_id":"G4"}')
  const store = serving(bytes)
  const lines = await read(store, 'orders/a.jsonl', {}, { index: 1, start, end, firstLine: 2, last: false })
  t.deepEqual(
    lines.map((l) => l.line),
    [2, 3],
  )
  t.deepEqual(store.asked, [{ start, end }])
})

test('a range of a gzipped file is decompressed from the top and sliced: the same lines as the plain range', async (t) => {
  const start = JSONL.indexOf('{"order_id":"G2"}')
  const end = JSONL.indexOf('{"order_id":"G4"}')
  const store = serving(gzipSync(JSONL))
  const range = { index: 1, start, end, firstLine: 2, last: false }
  const lines = await read(store, 'orders/a.jsonl.gz', {}, range)
  t.deepEqual(
    lines.map((l) => [l.line, (l.value as { order_id?: string } | undefined)?.order_id ?? l.error?.name]),
    [
      [2, 'G2'],
      [3, 'MalformedOrderError'],
    ],
  )
  t.deepEqual(store.asked, [undefined], 'a gzip stream cannot be read from an offset')
  const encoded = serving(gzipSync(JSONL), { contentEncoding: 'gzip' })
  const same = await read(encoded, 'orders/a.jsonl', {}, range)
  t.is(same.length, 2)
  t.deepEqual(encoded.asked, [{ start, end }, undefined], 'a ranged GET of a gzip-encoded object is read again whole')
})

test('a file is planned in ranges when it is larger than one range (a gzipped one by its assumed ratio)', (t) => {
  t.false(needsRanges({ bucket: 'b', key: 'orders/a.jsonl', size: 1000 }, 1000))
  t.true(needsRanges({ bucket: 'b', key: 'orders/a.jsonl', size: 1001 }, 1000))
  t.true(needsRanges({ bucket: 'b', key: 'orders/a.json.gz', size: 200 }, 1000))
  t.false(needsRanges({ bucket: 'b', key: 'orders/a.json.gz', size: 100 }, 1000))
  t.false(needsRanges({ bucket: 'b', key: 'orders/a.csv', size: 10_000 }, 1000))
  t.false(needsRanges({ bucket: 'b', key: 'orders/a.jsonl' }, 1000))
})

test('a .gz that is not gzip, or is cut short, is a FileError: reading it again cannot help', async (t) => {
  await t.throwsAsync(read(serving(Buffer.from(JSONL)), 'orders/plain.jsonl.gz'), {
    instanceOf: FileError,
    message: /is not a valid gzip file \(Z_DATA_ERROR\)/,
  })
  const cut = gzipSync(JSONL).subarray(0, 30)
  await t.throwsAsync(read(serving(cut), 'orders/cut.jsonl.gz'), { instanceOf: FileError, message: /not a valid gzip/ })
})

test('the kind of a file is read from its key, case-insensitively', (t) => {
  t.deepEqual(fileKind('orders/a.JSONL.GZ'), { extension: 'jsonl', gzipped: true })
  t.deepEqual(fileKind('orders/a.json'), { extension: 'json', gzipped: false })
  t.is(fileKind('orders/a.csv.gz'), undefined)
  t.is(fileKind('orders/a.gz'), undefined)
})
