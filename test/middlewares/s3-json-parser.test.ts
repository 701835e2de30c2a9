import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import middy from '@middy/core'
import test from 'ava'
import type { S3Event, SQSEvent, SQSRecord } from 'aws-lambda'
import fc from 'fast-check'
import type { ObjectStore } from '../../lib/aws/objects.ts'
import { FileError, MalformedOrderError } from '../../lib/orders/errors.ts'
import {
  s3JsonParser,
  type S3JsonParserContext,
  type S3JsonParserOptions,
  type S3OrderFiles,
} from '../../middlewares/s3-json-parser.ts'
import type { OrderLine } from '../../lib/intake/lines.ts'
import { decodeS3Key, objectsOfNotification, type S3ObjectRef } from '../../lib/intake/notification.ts'
import { readOrderLines, type ReadLimits } from '../../lib/intake/read.ts'
import { awsEvent, fakeContext as lambdaContext, seed } from '../helpers/fixtures.ts'

// ---------- helpers ----------

const BUCKET = 'tp-orders-intake-123456789012'
const ref = (key: string, extra: Partial<S3ObjectRef> = {}): S3ObjectRef => ({ bucket: BUCKET, key, ...extra })

/** Cuts a buffer into chunks of the given sizes, cycling through them. */
const chunked = (bytes: Buffer, sizes: number[]): Buffer[] => {
  const chunks: Buffer[] = []
  for (let start = 0, i = 0; start < bytes.length; i++) {
    const size = sizes[i % sizes.length] ?? 1
    chunks.push(bytes.subarray(start, start + size))
    start += size
  }
  return chunks
}

/** An object store of its own (tests run concurrently) whose GetObject answers the given chunks; `calls` lists the gets. */
const s3Serving = (chunks: Iterable<Buffer | string> | Readable) => {
  const calls: { ref: S3ObjectRef; range?: { start: number; end?: number } }[] = []
  const client: ObjectStore = {
    get: async (ref, options = {}) => {
      calls.push({ ref, range: options.range })
      const body = chunks instanceof Readable ? chunks : Readable.from([...chunks])
      return { body, destroy: () => body.destroy() }
    },
    put: async () => {},
  }
  return { client, s3: { calls } }
}

const collect = async (lines: AsyncIterable<OrderLine>): Promise<OrderLine[]> => {
  const result: OrderLine[] = []
  for await (const line of lines) result.push(line)
  return result
}

const readChunks = async (
  chunks: Iterable<Buffer | string>,
  key = 'orders/batch.jsonl',
  options?: Partial<ReadLimits>,
) => {
  const { client } = s3Serving(chunks)
  return collect(readOrderLines(client, ref(key), options))
}

/** Lines as (line, value | error message) pairs: what a reader of the file would check. */
const summary = (lines: OrderLine[]) =>
  lines.map(({ line, value, error }) => (error ? { line, error: error.message } : { line, value }))

const fakeContext = () => lambdaContext() as S3JsonParserContext

/** The middleware in a chain whose handler hands back what `before` prepared. */
const orderFilesOf = async (
  event: SQSEvent | S3Event,
  opts: Partial<S3JsonParserOptions> = {},
): Promise<S3OrderFiles> => {
  const handler = middy<SQSEvent | S3Event, S3OrderFiles, Error, S3JsonParserContext>()
    .use(s3JsonParser(opts))
    .handler(async (_event, context) => context.orderFiles)
  return handler(event, fakeContext())
}

const sqsObjectCreated = awsEvent<SQSEvent>('sqs-ingest-s3-object-created.json')
const sqsTestEvent = awsEvent<SQSEvent>('sqs-ingest-s3-test-event.json')
const [firstRecord, secondRecord] = sqsObjectCreated.Records as [SQSRecord, SQSRecord]

/** An error as the object store throws it: S3's code as its name, the HTTP status in $metadata. */
const s3Error = (name: string, httpStatusCode: number) =>
  Object.assign(new Error(`${name} (${httpStatusCode})`), { name, $metadata: { httpStatusCode } })

// ---------- keys and notifications ----------

test("decodeS3Key turns + into spaces and decodes percent-encoded UTF-8, a literal plus and moto's %2F", (t) => {
  // Act + Assess
  t.is(decodeS3Key('orders/lot+de+commandes+%C3%A9t%C3%A9.jsonl'), 'orders/lot de commandes été.jsonl')
  t.is(decodeS3Key('orders/a%2Bb.json'), 'orders/a+b.json')
  t.is(decodeS3Key('orders%2F2026%2Fx.jsonl'), 'orders/2026/x.jsonl')
  t.is(decodeS3Key('orders/plain.json'), 'orders/plain.json')
})

test('decodeS3Key refuses a key that is not valid percent-encoding with a FileError', (t) => {
  // Act
  const err = t.throws(() => decodeS3Key('orders/100%.json'), { instanceOf: FileError })
  // Assess
  t.regex(err?.message ?? '', /orders\/100%\.json/)
})

test('objectsOfNotification lists the objects of the SQS fixture with their keys decoded', (t) => {
  // Act
  const objects = [firstRecord, secondRecord].flatMap((record) => objectsOfNotification(record.body))
  // Assess
  t.deepEqual(objects, [
    { bucket: BUCKET, key: 'orders/2026/01/07/tp-valid.json', size: 271 },
    { bucket: BUCKET, key: 'orders/lot de commandes été.jsonl', size: 2048 },
  ])
})

test('objectsOfNotification names no object for the s3:TestEvent and refuses what is not a notification', (t) => {
  // Act + Assess
  t.deepEqual(objectsOfNotification(sqsTestEvent.Records[0]?.body), [])
  t.throws(() => objectsOfNotification('not json'), { instanceOf: FileError, message: /not JSON/ })
  t.throws(() => objectsOfNotification('{"order_id":"A1"}'), { instanceOf: FileError, message: /no Records/ })
  t.throws(() => objectsOfNotification({ Records: [{ s3: { bucket: { name: BUCKET } } }] }), {
    instanceOf: FileError,
    message: /Records\[0\]/,
  })
  t.throws(() => objectsOfNotification(undefined), { instanceOf: FileError })
})

test('objectsOfNotification skips records that are not ObjectCreated and keeps the version id', (t) => {
  // Prepare
  const body = JSON.stringify({
    Records: [
      {
        eventSource: 'aws:s3',
        eventName: 'ObjectRemoved:Delete',
        s3: { bucket: { name: BUCKET }, object: { key: 'orders/gone.json' } },
      },
      {
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: BUCKET }, object: { key: 'orders/new.json', versionId: 'v2', size: 10 } },
      },
    ],
  })
  // Act
  const objects = objectsOfNotification(body)
  // Assess
  t.deepEqual(objects, [{ bucket: BUCKET, key: 'orders/new.json', versionId: 'v2', size: 10 }])
})

// ---------- the middleware ----------

test('s3JsonParser gives one source per SQS record, in order, keyed by messageId', async (t) => {
  // Act
  const { sources } = await orderFilesOf(sqsObjectCreated, { client: s3Serving([]).client })
  // Assess
  t.deepEqual(sources, [
    { id: firstRecord.messageId, objects: [{ bucket: BUCKET, key: 'orders/2026/01/07/tp-valid.json', size: 271 }] },
    { id: secondRecord.messageId, objects: [{ bucket: BUCKET, key: 'orders/lot de commandes été.jsonl', size: 2048 }] },
  ])
})

test('s3JsonParser gives the s3:TestEvent record no objects', async (t) => {
  // Act
  const { sources } = await orderFilesOf(sqsTestEvent)
  // Assess
  t.deepEqual(sources, [{ id: 'a1b2c3d4-0000-4000-8000-000000000001', objects: [] }])
})

test('s3JsonParser fails only the records whose body is not JSON or not an S3 notification, without throwing', async (t) => {
  // Prepare
  const event: SQSEvent = {
    Records: [
      firstRecord,
      { ...firstRecord, messageId: 'not-json', body: 'this is not JSON' },
      { ...firstRecord, messageId: 'not-s3', body: '{"order_id":"A1","amount":12.5}' },
      secondRecord,
    ],
  }
  // Act
  const { sources } = await orderFilesOf(event)
  // Assess
  t.deepEqual(
    sources.map((source) => source.id),
    [firstRecord.messageId, 'not-json', 'not-s3', secondRecord.messageId],
  )
  t.is(sources[0]?.objects?.length, 1)
  t.true(sources[1]?.error instanceof FileError)
  t.is(sources[1]?.objects, undefined)
  t.true(sources[2]?.error instanceof FileError)
  t.deepEqual(sources[3]?.objects, [{ bucket: BUCKET, key: 'orders/lot de commandes été.jsonl', size: 2048 }])
})

test('s3JsonParser reads a direct S3 event, one source per record keyed by its s3:// URL', async (t) => {
  // Prepare
  const event = {
    Records: [
      {
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: {
          bucket: { name: BUCKET },
          object: { key: 'orders/caf%C3%A9+1.jsonl', versionId: 'v1', size: 99, eTag: 'e' },
        },
      },
      { eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: BUCKET }, object: {} } },
    ],
  } as unknown as S3Event
  // Act
  const { sources } = await orderFilesOf(event)
  // Assess
  t.deepEqual(sources[0], {
    id: `s3://${BUCKET}/orders/café 1.jsonl`,
    objects: [{ bucket: BUCKET, key: 'orders/café 1.jsonl', versionId: 'v1', size: 99 }],
  })
  t.is(sources[1]?.id, `s3://${BUCKET}/`)
  t.true(sources[1]?.error instanceof FileError)
})

test('s3JsonParser reads through the given client and passes the version id to GetObject', async (t) => {
  // Prepare
  const { client, s3 } = s3Serving(['{"order_id":"A1"}\n'])
  const event = {
    Records: [
      {
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: BUCKET }, object: { key: 'orders/a.jsonl', versionId: 'v7', size: 18 } },
      },
    ],
  } as unknown as S3Event
  const orderFiles = await orderFilesOf(event, { client })
  const objectRef = orderFiles.sources[0]?.objects?.[0]
  if (objectRef === undefined) return t.fail('no object')
  // Act
  const lines = await collect(orderFiles.read(objectRef))
  // Assess
  t.deepEqual(summary(lines), [{ line: 1, value: { order_id: 'A1' } }])
  t.deepEqual(s3.calls[0], {
    ref: { bucket: BUCKET, key: 'orders/a.jsonl', versionId: 'v7', size: 18 },
    range: undefined,
  })
})

test.serial('s3JsonParser builds its default object store on first read, not when it is built', async (t) => {
  // Prepare: no region anywhere, so that building the store fails, and says why
  const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION }
  delete process.env.AWS_REGION
  delete process.env.AWS_DEFAULT_REGION
  try {
    const handler = middy<SQSEvent | S3Event, S3OrderFiles, Error, S3JsonParserContext>()
      .use(s3JsonParser())
      .handler(async (_event, context) => context.orderFiles)
    // Act
    const orderFiles = await handler(sqsObjectCreated, fakeContext())
    // Assess
    t.is(orderFiles.sources.length, 2)
    t.throws(() => orderFiles.read(ref('orders/a.jsonl')), { instanceOf: TypeError, message: /AWS_REGION/ })
  } finally {
    for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value
  }
})

test('s3JsonParser refuses limits that are not positive integers when it is built', (t) => {
  // Act + Assess
  t.throws(() => s3JsonParser({ maxLineBytes: 0 }), { instanceOf: TypeError, message: /maxLineBytes/ })
  t.throws(() => s3JsonParser({ maxLineBytes: Number.NaN }), { instanceOf: TypeError, message: /maxLineBytes/ })
})

// ---------- .jsonl ----------

test('a .jsonl with a BOM, CRLF, blank lines and a bad line yields orders and a rejected line at their physical line numbers', async (t) => {
  // Prepare
  const content = '\uFEFF{"order_id":"A"}\r\n\r\n   \n{"order_id":"B"}\n{not json}\r\n\n{"order_id":"C"}'
  // Act
  const lines = await readChunks([content])
  // Assess
  t.deepEqual(
    summary(lines).map((l) => l.line),
    [1, 4, 5, 7],
  )
  t.deepEqual(lines[0]?.value, { order_id: 'A' })
  t.is(lines[0]?.bytes, Buffer.byteLength('{"order_id":"A"}'))
  t.deepEqual(lines[1]?.value, { order_id: 'B' })
  t.true(lines[2]?.error instanceof MalformedOrderError)
  t.is(lines[2]?.error?.message, "line 5 is not valid JSON (Expected property name or '}' at position 1)")
  t.is(lines[2]?.raw, '{not json}', 'the raw text is kept for the DLQ, the message never quotes it')
  t.is(lines[2]?.value, undefined)
  t.deepEqual(lines[3]?.value, { order_id: 'C' })
  t.true(lines.every((line) => line.ref.key === 'orders/batch.jsonl'))
})

test('a .JSONL extension in upper case is read as .jsonl', async (t) => {
  // Act
  const lines = await readChunks(['{"a":1}\n{"a":2}\n'], 'orders/BATCH.JSONL')
  // Assess
  t.deepEqual(summary(lines), [
    { line: 1, value: { a: 1 } },
    { line: 2, value: { a: 2 } },
  ])
})

test('a multi-byte character split across two stream chunks comes out whole', async (t) => {
  // Prepare
  const text = '{"name":"Café € 😀"}\n{"name":"été"}\n'
  const bytes = Buffer.from(text)
  const euro = bytes.indexOf(Buffer.from('€'))
  // Act
  const splitInEuro = await readChunks([bytes.subarray(0, euro + 1), bytes.subarray(euro + 1)])
  const byteByByte = await readChunks(chunked(bytes, [1]))
  // Assess
  const expected = [
    { line: 1, value: { name: 'Café € 😀' } },
    { line: 2, value: { name: 'été' } },
  ]
  t.deepEqual(summary(splitInEuro), expected)
  t.deepEqual(summary(byteByByte), expected)
})

test('a line that is not valid UTF-8 is a rejected line, not a failed file', async (t) => {
  // Prepare
  const chunks = [Buffer.from('{"a":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n{"a":2}\n')]
  // Act
  const lines = await readChunks(chunks)
  // Assess
  t.deepEqual(summary(lines), [
    { line: 1, error: 'line 1 is not valid UTF-8' },
    { line: 2, value: { a: 2 } },
  ])
})

test('an over-long line is reported and skipped while the next lines still come', async (t) => {
  // Prepare
  const long = `{"pad":"${'x'.repeat(1000)}"}`
  const bytes = Buffer.from(`{"a":1}\n${long}\n{"a":3}\n${long}`)
  // Act
  const lines = await readChunks(chunked(bytes, [64]), undefined, { maxLineBytes: 100 })
  // Assess
  t.deepEqual(summary(lines), [
    { line: 1, value: { a: 1 } },
    { line: 2, error: 'line 2 is larger than 100 bytes' },
    { line: 3, value: { a: 3 } },
    { line: 4, error: 'line 4 is larger than 100 bytes' },
  ])
  t.is(lines[1]?.bytes, Buffer.byteLength(long))
})

test('a line of exactly maxLineBytes is accepted', async (t) => {
  // Prepare
  const line = '{"a":"xy"}'
  // Act
  const lines = await readChunks([`${line}\n`], undefined, { maxLineBytes: Buffer.byteLength(line) })
  // Assess
  t.deepEqual(summary(lines), [{ line: 1, value: { a: 'xy' } }])
})

test('a large .jsonl is consumed lazily: the first order comes before the stream is read to its end', async (t) => {
  // Prepare
  const content = Buffer.from(
    Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ order_id: `O-${i}`, amount: i })).join('\n'),
  )
  const chunks = chunked(content, [64])
  let pulled = 0
  const stream = new Readable({
    read() {
      this.push(chunks[pulled++] ?? null)
    },
  })
  const { client } = s3Serving(stream)
  const lines = readOrderLines(client, ref('orders/big.jsonl'))
  // Act
  const first = await lines.next()
  const pulledForFirst = pulled
  await lines.return(undefined)
  // Assess
  t.deepEqual(first.value?.value, { order_id: 'O-0', amount: 0 })
  t.true(pulledForFirst < chunks.length / 10, `pulled ${pulledForFirst} of ${chunks.length} chunks`)
  t.true(stream.destroyed)
})

test('a large .jsonl read to its end yields every order in order', async (t) => {
  // Prepare
  const content = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ order_id: `O-${i}` })).join('\n')
  // Act
  const lines = await readChunks(chunked(Buffer.from(content), [37]))
  // Assess
  t.is(lines.length, 20_000)
  t.true(lines.every((line, i) => line.line === i + 1 && (line.value as { order_id: string }).order_id === `O-${i}`))
})

// ---------- .json ----------

test('a .json object is one order at line 1', async (t) => {
  // Prepare
  const order = seed('tp-valid.json')
  // Act
  const lines = await readChunks([`\uFEFF${JSON.stringify(order, null, 2)}`], 'orders/tp-valid.json')
  // Assess
  t.deepEqual(summary(lines), [{ line: 1, value: order }])
  t.is(lines[0]?.bytes, Buffer.byteLength(JSON.stringify(order, null, 2)), 'the length of its text in the file')
})

test('a .json array is one order per element, numbered by position', async (t) => {
  // Prepare
  const orders = [{ order_id: 'A', note: 'é' }, { order_id: 'B' }, 'not an order']
  // Act
  const lines = await readChunks(chunked(Buffer.from(JSON.stringify(orders)), [5]), 'orders/lot.JSON')
  // Assess
  t.deepEqual(
    summary(lines),
    orders.map((value, i) => ({ line: i + 1, value })),
  )
  t.deepEqual(
    lines.map((line) => line.bytes),
    orders.map((value) => Buffer.byteLength(JSON.stringify(value))),
  )
})

const fileError = test.macro(
  async (t, content: string, key: string, message: RegExp, options?: Partial<ReadLimits>) => {
    // Act
    const err = await t.throwsAsync(readChunks([content], key, options), { instanceOf: FileError })
    // Assess
    t.regex(err?.message ?? '', message)
  },
)

test(
  'a .json scalar is a FileError',
  fileError,
  '"hello"',
  'orders/x.json',
  /s3:\/\/.*orders\/x\.json is neither an order object nor an array/,
)
test('a .json null is a FileError', fileError, 'null', 'orders/x.json', /neither an order object nor an array/)
test(
  'a .json that is not JSON is a FileError',
  fileError,
  '{"order_id":',
  'orders/x.json',
  /orders\/x\.json is not a valid JSON file/,
)
test('an unknown extension is a FileError naming the key and the accepted extensions, without a GetObject', async (t) => {
  // Prepare
  const { client, s3 } = s3Serving(['a,b,c\n'])
  // Act
  const err = await t.throwsAsync(collect(readOrderLines(client, ref('orders/export.csv'))), { instanceOf: FileError })
  // Assess
  t.regex(err?.message ?? '', /orders\/export\.csv.*\.json\b.*\.jsonl/)
  t.is(s3.calls.length, 0)
})

// ---------- GetObject errors ----------

const readFailing = async (error: Error) => {
  const client: ObjectStore = { get: async () => Promise.reject(error), put: async () => {} }
  return collect(readOrderLines(client, ref('orders/gone.jsonl', { versionId: 'v3' })))
}

const permanentS3Error = test.macro(async (t, error: Error) => {
  // Act
  const err = await t.throwsAsync(readFailing(error), { instanceOf: FileError })
  // Assess
  t.regex(err?.message ?? '', new RegExp(`s3://${BUCKET}/orders/gone\\.jsonl \\(version v3\\)`))
  t.is(err?.cause, error)
})

test('NoSuchKey is a FileError with the bucket, key and original error', permanentS3Error, s3Error('NoSuchKey', 404))
test(
  '403 AccessDenied (a missing key without s3:ListBucket) is a FileError',
  permanentS3Error,
  s3Error('AccessDenied', 403),
)
test('a bare 404 NotFound is a FileError', permanentS3Error, s3Error('NotFound', 404))

const transientS3Error = test.macro(async (t, error: Error) => {
  // Act
  const err = await t.throwsAsync(readFailing(error))
  // Assess
  t.is(err, error)
  t.false(err instanceof FileError)
})

test('503 SlowDown is rethrown unchanged, not as a FileError', transientS3Error, s3Error('SlowDown', 503))
test('a 500 InternalError is rethrown unchanged', transientS3Error, s3Error('InternalError', 500))
test(
  'a network error is rethrown unchanged',
  transientS3Error,
  Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
)

// ---------- property ----------

/** What a .jsonl reader must yield for the whole file, computed line by line on the whole buffer. */
const expectedLines = (bytes: Buffer, maxLineBytes: number) => {
  const expected: Array<{ line: number; value?: unknown; error?: true }> = []
  let start = 0
  for (let line = 1; start <= bytes.length; line++) {
    const end = bytes.indexOf(0x0a, start) === -1 ? bytes.length : bytes.indexOf(0x0a, start)
    const raw = bytes.subarray(start, end)
    start = end + 1
    if (raw.length > maxLineBytes) {
      expected.push({ line, error: true })
      continue
    }
    let text: string
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw)
    } catch {
      expected.push({ line, error: true })
      continue
    }
    text = (line === 1 ? text.replace(/^\uFEFF/, '') : text).replace(/\r$/, '')
    if (text.trim() === '') continue
    try {
      expected.push({ line, value: JSON.parse(text) })
    } catch {
      expected.push({ line, error: true })
    }
  }
  return expected
}

const lineArbitrary = fc.oneof(
  fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value))),
  fc.jsonValue().map((value) => Buffer.from(`\uFEFF${JSON.stringify(value)}`)),
  fc.string({ unit: 'binary' }).map((text) => Buffer.from(text.replaceAll('\n', ''))),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes.filter((byte) => byte !== 0x0a))),
  fc.constantFrom('', '  ', '\t', '\r').map((text) => Buffer.from(text)),
)

test('for any content and any chunking, a .jsonl yields its valid lines in order and only rejected lines otherwise', async (t) => {
  await t.notThrowsAsync(
    fc.assert(
      fc.asyncProperty(
        fc.array(lineArbitrary, { maxLength: 30 }),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 32 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 4, max: 200 }),
        async (lines, newline, bom, finalNewline, sizes, maxLineBytes) => {
          // Prepare
          const separated = lines.flatMap((line, i) =>
            i < lines.length - 1 || finalNewline ? [line, Buffer.from(newline)] : [line],
          )
          const bytes = Buffer.concat([...(bom ? [Buffer.from('\uFEFF')] : []), ...separated])
          // Act
          const actual = await readChunks(chunked(bytes, sizes), undefined, { maxLineBytes })
          // Assess
          for (const line of actual) {
            assert.ok(
              'value' in line !== (line.error !== undefined),
              `line ${line.line} has exactly one of value and error`,
            )
            if (line.error !== undefined) assert.ok(line.error instanceof MalformedOrderError)
          }
          assert.deepEqual(
            actual.map(({ line, value, error }) => (error ? { line, error: true } : { line, value })),
            expectedLines(bytes, maxLineBytes),
          )
        },
      ),
      { numRuns: 300 },
    ),
  )
})
