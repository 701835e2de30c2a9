import test from 'ava'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { GetObjectCommand, S3Client, type GetObjectCommandOutput } from '@aws-sdk/client-s3'
import { mockClient } from 'aws-sdk-client-mock'
import type { OrderLine } from '../../../lib/intake/lines.ts'
import { fileKind, readOrderLines } from '../../../lib/intake/read.ts'
import { FileError } from '../../../lib/orders/errors.ts'

/** An S3 client whose GetObject answers `bytes` in chunks of 7 (a gzip stream cut anywhere), with `extra` fields. */
const serving = (bytes: Buffer, extra: Partial<GetObjectCommandOutput> = {}) => {
  const client = new S3Client({ region: 'eu-west-3' })
  const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7))
  mockClient(client)
    .on(GetObjectCommand)
    .callsFake(() => ({ Body: Readable.from(chunks) as unknown as GetObjectCommandOutput['Body'], ...extra }))
  return client
}

const read = async (client: S3Client, key: string, limits = {}): Promise<OrderLine[]> => {
  const lines: OrderLine[] = []
  for await (const line of readOrderLines(client, { bucket: 'b', key, size: 10 }, limits)) lines.push(line)
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
  const encoded = await read(serving(gzipSync(JSONL), { ContentEncoding: 'gzip' }), 'orders/b.jsonl')
  t.is(encoded.length, 4)
})

test('a gzipped .json is held to maxJsonBytes as it is decompressed, whatever its stored size', async (t) => {
  const big = gzipSync(`[${Array.from({ length: 2000 }, () => '{"order_id":"X"}').join(',')}]`)
  await t.throwsAsync(read(serving(big), 'orders/big.json.gz', { maxJsonBytes: 10_000 }), {
    instanceOf: FileError,
    message: /larger than 10000 bytes/,
  })
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
