/**
 * lib/aws/objects.ts against a moto server of this file's own (keys, ranges, versions, S3's errors, what a put
 * stores, read back with the SDK's S3 client), then against a local node:http server that answers what a test
 * says (faults injected: throttling, 5xx, a reset connection, silence) to count the attempts and read the
 * signed requests.
 */
import test from 'ava'
import { createHash, createHmac } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { objectStore, type ObjectBody, type ObjectStore, type ObjectStoreError } from '../../../lib/aws/objects.ts'
import { clientsFor, startMoto, type Moto } from '../../helpers/moto.ts'

const BUCKET = `objects-${process.pid}`
const VERSIONED = `objects-versioned-${process.pid}`
const KEY = 'raw/year=2026/month=12/día 1.jsonl'
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }

let moto: Moto
let s3: S3Client
let store: ObjectStore

test.before(async () => {
  moto = await startMoto()
  s3 = clientsFor(moto.endpoint).s3
  for (const Bucket of [BUCKET, VERSIONED]) {
    await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-3' } }))
  }
  await s3.send(new PutBucketVersioningCommand({ Bucket: VERSIONED, VersioningConfiguration: { Status: 'Enabled' } }))
  // The environment's endpoint (AWS_ENDPOINT_URL), region and credentials, as a Lambda function has them.
  store = objectStore()
})

test.after.always(() => moto?.stop())

const text = async ({ body }: ObjectBody): Promise<string> => {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(Buffer.from(chunk))
  return Buffer.concat(chunks).toString('utf8')
}

// Against moto

test('a key with spaces, unicode, = and slashes is put and read back, and is the key the SDK sees', async (t) => {
  const keys = [KEY, "odd/(a)+b!*'~ &%.json"]
  for (const key of keys) {
    await store.put(BUCKET, key, `{"key":${JSON.stringify(key)}}`, 'application/json')
    t.is(await text(await store.get({ bucket: BUCKET, key })), `{"key":${JSON.stringify(key)}}`)
    const viaSdk = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
    t.is(await viaSdk.Body?.transformToString(), `{"key":${JSON.stringify(key)}}`, `${key}`)
  }
})

test('a ranged get answers exactly the bytes start..end-1; without an end, to the end of the object', async (t) => {
  const key = 'ranges/alphabet.txt'
  await store.put(BUCKET, key, '0123456789abcdefghijklmnopqrstuvwxyz', 'text/plain')
  const part = await store.get({ bucket: BUCKET, key }, { range: { start: 5, end: 15 } })
  t.is(part.contentLength, 10)
  t.is(await text(part), '56789abcde')
  t.is(await text(await store.get({ bucket: BUCKET, key }, { range: { start: 30 } })), 'uvwxyz')
  const whole = await store.get({ bucket: BUCKET, key })
  t.is(whole.contentLength, 36)
  t.is(await text(whole), '0123456789abcdefghijklmnopqrstuvwxyz')
})

test('a versioned object is read at the version asked for', async (t) => {
  const put = (Body: string) => s3.send(new PutObjectCommand({ Bucket: VERSIONED, Key: KEY, Body }))
  const { VersionId: first } = await put('first')
  await put('second')
  t.truthy(first)
  t.is(await text(await store.get({ bucket: VERSIONED, key: KEY, versionId: first! })), 'first')
  t.is(await text(await store.get({ bucket: VERSIONED, key: KEY })), 'second')
})

test('a missing key is NoSuchKey (404), a missing bucket NoSuchBucket, as the SDK names them', async (t) => {
  const key = await t.throwsAsync<ObjectStoreError>(store.get({ bucket: BUCKET, key: 'no/such key.jsonl' }))
  t.is(key?.name, 'NoSuchKey')
  t.is(key?.$metadata.httpStatusCode, 404)
  t.regex(key?.message ?? '', /key does not exist/i)
  const bucket = await t.throwsAsync<ObjectStoreError>(store.get({ bucket: `${BUCKET}-missing`, key: 'a.json' }))
  t.is(bucket?.name, 'NoSuchBucket')
  t.is(bucket?.$metadata.httpStatusCode, 404)
  const put = await t.throwsAsync<ObjectStoreError>(store.put(`${BUCKET}-missing`, 'a.json', '{}', 'text/plain'))
  t.is(put?.name, 'NoSuchBucket')
})

test('a put keeps its content type and its UTF-8 length; a Content-Encoding is reported by get', async (t) => {
  const body = '{"name":"Zoë"}\n'
  await store.put(BUCKET, 'reports/zoë.jsonl', body, 'application/x-ndjson')
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'reports/zoë.jsonl' }))
  t.is(head.ContentType, 'application/x-ndjson')
  t.is(head.ContentLength, Buffer.byteLength(body))
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'gz/a.jsonl', Body: 'x', ContentEncoding: 'gzip' }))
  const got = await store.get({ bucket: BUCKET, key: 'gz/a.jsonl' })
  got.destroy()
  t.is(got.contentEncoding, 'gzip')
})

// Against a local server that answers what a test says

interface Fake {
  endpoint: string
  store: ObjectStore
  requests: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[]
}

/** A store pointed at a local server whose `answer` handles the n-th request (0-based), closed after the test. */
const fake = async (
  t: { teardown: (fn: () => void) => void },
  answer: (res: ServerResponse, n: number) => void,
  options: Parameters<typeof objectStore>[0] = {},
): Promise<Fake> => {
  const requests: Fake['requests'] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      requests.push({
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      })
      answer(res, requests.length - 1)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { endpoint, store: objectStore({ endpoint, credentials: CREDENTIALS, ...options }), requests }
}

const s3Error = (res: ServerResponse, status: number, code: string, message = `${code} here`): void => {
  res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': 'REQ-1' })
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`)
}

const ok = (res: ServerResponse, body = 'hello'): void => {
  res.writeHead(200, { 'content-length': String(Buffer.byteLength(body)) })
  res.end(body)
}

/**
 * The SigV4 signature S3 computes for a request as it arrives (the path as sent, not encoded again; the query's
 * pairs sorted; the signed headers' values trimmed), from scratch: what the store signed is what it sent.
 */
const signatureOf = ({ method, url, headers }: Fake['requests'][0]): string => {
  const auth = /Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, SignedHeaders=([^,]+), /.exec(
    headers.authorization ?? '',
  )
  const [, , day, region, signed] = auth ?? []
  const [path, query = ''] = url.split('?') as [string, string?]
  const canonical = [
    method,
    path,
    query.split('&').filter(Boolean).sort().join('&'),
    ...signed!.split(';').map((h) => `${h}:${String(headers[h]).trim()}`),
    '',
    signed,
    headers['x-amz-content-sha256'],
  ].join('\n')
  const scope = `${day}/${region}/s3/aws4_request`
  const toSign = ['AWS4-HMAC-SHA256', headers['x-amz-date'], scope, sha256(canonical)].join('\n')
  const key = [day!, region!, 's3', 'aws4_request'].reduce<Buffer | string>(
    (k, part) => createHmac('sha256', k).update(part).digest(),
    `AWS4${CREDENTIALS.secretAccessKey}`,
  )
  return createHmac('sha256', key).update(toSign).digest('hex')
}

const sha256 = (data: string): string => createHash('sha256').update(data).digest('hex')

test('a 503 SlowDown answered twice, then a 200: the get succeeds on its third attempt', async (t) => {
  const { store, requests } = await fake(t, (res, n) => (n < 2 ? s3Error(res, 503, 'SlowDown') : ok(res)))
  t.is(await text(await store.get({ bucket: 'b', key: 'k.jsonl' })), 'hello')
  t.is(requests.length, 3)
})

test('a 403 AccessDenied is not retried: one request, the error named and with its status', async (t) => {
  const { store, requests } = await fake(t, (res) => s3Error(res, 403, 'AccessDenied', 'Access &amp; denied'))
  const err = await t.throwsAsync<ObjectStoreError>(store.get({ bucket: 'b', key: 'k.jsonl' }))
  t.is(err?.name, 'AccessDenied')
  t.is(err?.message, 'Access & denied')
  t.like(err?.$metadata, { httpStatusCode: 403, requestId: 'REQ-1', attempts: 1 })
  t.is(requests.length, 1)
})

test('a 500 every time fails after 3 attempts, as InternalError', async (t) => {
  const { store, requests } = await fake(t, (res) => s3Error(res, 500, 'InternalError'))
  const err = await t.throwsAsync<ObjectStoreError>(store.put('b', 'k.json', '{}', 'application/json'))
  t.is(err?.name, 'InternalError')
  t.like(err?.$metadata, { httpStatusCode: 500, attempts: 3 })
  t.is(requests.length, 3)
})

test('an answer without a body is named from its status: NotFound, Forbidden', async (t) => {
  const statuses = [404, 403]
  const { store } = await fake(t, (res, n) => {
    res.writeHead(statuses[n]!)
    res.end()
  })
  const missing = await t.throwsAsync<ObjectStoreError>(store.get({ bucket: 'b', key: 'k' }))
  t.is(missing?.name, 'NotFound')
  t.is(missing?.$metadata.httpStatusCode, 404)
  const forbidden = await t.throwsAsync<ObjectStoreError>(store.get({ bucket: 'b', key: 'k' }))
  t.is(forbidden?.name, 'Forbidden')
})

test('only the first 64 KB of an error body are read', async (t) => {
  const { store } = await fake(t, (res) => {
    res.writeHead(400, { 'content-type': 'application/xml' })
    res.end(`<Error><Code>InvalidArgument</Code><Message>${'x'.repeat(1024 * 1024)}</Message></Error>`)
  })
  const err = await t.throwsAsync<ObjectStoreError>(store.get({ bucket: 'b', key: 'k' }))
  t.is(err?.name, 'InvalidArgument')
  t.is(err?.message, 'S3 answered HTTP 400')
})

test('a connection reset before the answer is retried', async (t) => {
  const { store, requests } = await fake(t, (res, n) => (n === 0 ? res.socket?.destroy() : ok(res)))
  t.is(await text(await store.get({ bucket: 'b', key: 'k' })), 'hello')
  t.is(requests.length, 2)
})

test('a server that never answers times out (socketTimeout), 3 attempts in all', async (t) => {
  const { store, requests } = await fake(t, () => undefined, { socketTimeout: 100 })
  const err = await t.throwsAsync(store.get({ bucket: 'b', key: 'k' }))
  t.is(err?.name, 'TimeoutError')
  t.is(requests.length, 3)
})

test('a get is SigV4-signed for s3 with an unsigned payload, its key encoded per segment, its range and version sent', async (t) => {
  const { store, requests } = await fake(t, (res) => ok(res))
  const got = await store.get({ bucket: 'b', key: KEY, versionId: 'v 1' }, { range: { start: 5, end: 15 } })
  got.destroy()
  const [{ method, url, headers }] = requests as [Fake['requests'][0]]
  t.is(method, 'GET')
  t.is(url, '/b/raw/year%3D2026/month%3D12/d%C3%ADa%201.jsonl?versionId=v%201')
  t.regex(headers.authorization ?? '', /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-3\/s3\/aws4_request, /)
  t.regex(
    headers.authorization ?? '',
    /SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
  )
  t.is(headers['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD')
  t.is(headers.range, 'bytes=5-14')
  t.is(/Signature=([0-9a-f]{64})$/.exec(headers.authorization ?? '')?.[1], signatureOf(requests[0]!))
})

test("the signature covers the path as sent, RFC 3986 encoded: !'()* too", async (t) => {
  const { store, requests } = await fake(t, (res) => ok(res))
  const got = await store.get({ bucket: 'b', key: "a/(b)!*'~.json" })
  got.destroy()
  t.is(requests[0]?.url, '/b/a/%28b%29%21%2A%27~.json')
  t.is(/Signature=([0-9a-f]{64})$/.exec(requests[0]?.headers.authorization ?? '')?.[1], signatureOf(requests[0]!))
})

test('a put signs the SHA-256 of its UTF-8 body and sends its content type', async (t) => {
  const { store, requests } = await fake(t, (res) => ok(res, ''))
  await store.put('b', 'reports/r.json', '{"a":"é"}', 'application/json')
  const [{ method, url, headers, body }] = requests as [Fake['requests'][0]]
  t.is(method, 'PUT')
  t.is(url, '/b/reports/r.json')
  t.is(body, '{"a":"é"}')
  t.is(headers['x-amz-content-sha256'], sha256('{"a":"é"}'))
  t.is(headers['content-type'], 'application/json')
  t.regex(
    headers.authorization ?? '',
    /SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date,/,
  )
  t.is(/Signature=([0-9a-f]{64})$/.exec(headers.authorization ?? '')?.[1], signatureOf(requests[0]!))
})

test('a range to the end sends bytes=N-; an empty or negative range is a TypeError, sent nowhere', async (t) => {
  const { store, requests } = await fake(t, (res) => ok(res))
  const tail = await store.get({ bucket: 'b', key: 'k' }, { range: { start: 20 } })
  tail.destroy()
  t.is(requests[0]?.headers.range, 'bytes=20-')
  await t.throwsAsync(store.get({ bucket: 'b', key: 'k' }, { range: { start: 5, end: 5 } }), { instanceOf: TypeError })
  await t.throwsAsync(store.get({ bucket: 'b', key: 'k' }, { range: { start: -1 } }), { instanceOf: TypeError })
  t.is(requests.length, 1)
})

test('a local endpoint without AWS_ACCESS_KEY_ID signs with the placeholder credentials local/local', async (t) => {
  const { endpoint, requests } = await fake(t, (res) => ok(res))
  const saved = process.env.AWS_ACCESS_KEY_ID
  delete process.env.AWS_ACCESS_KEY_ID
  let local: ObjectStore
  try {
    local = objectStore({ endpoint }) // reads the environment now, once
  } finally {
    if (saved !== undefined) process.env.AWS_ACCESS_KEY_ID = saved
  }
  const got = await local.get({ bucket: 'b', key: 'k' })
  got.destroy()
  t.regex(requests[0]?.headers.authorization ?? '', /^AWS4-HMAC-SHA256 Credential=local\//)
})

test('no region anywhere is a TypeError naming AWS_REGION', (t) => {
  const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION }
  delete process.env.AWS_REGION
  delete process.env.AWS_DEFAULT_REGION
  try {
    t.throws(() => objectStore({ endpoint: 'http://localhost:1' }), { instanceOf: TypeError, message: /AWS_REGION/ })
    t.notThrows(() => objectStore({ endpoint: 'http://localhost:1', region: 'eu-west-3' }))
  } finally {
    for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value
  }
})
