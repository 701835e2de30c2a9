/**
 * A small S3 object store: GetObject (streamed, optionally a byte range) and PutObject of a string, and nothing else.
 *
 * Why not @aws-sdk/client-s3: the validator makes exactly these two calls, and the S3 client brings about 140 KB
 * minified into its bundle (flexible checksums, the XML protocol, the S3 endpoint rules and middlewares) for them.
 * This module is built from the pieces the other SDK clients bundle anyway: `@smithy/signature-v4` signs (SigV4,
 * service `s3`), `@smithy/node-http-handler` sends (keep-alive agent, connection and socket timeouts), and the
 * credentials come from the SDK's default chain (`@aws-sdk/credential-provider-node`, replaced by the env-only
 * lib/aws/lambda-credentials.ts in the Lambda bundles). What it adds of its own is small: the URL, the error XML,
 * and a retry loop.
 *
 * Errors look like the SDK's (a `name` from S3's `<Code>`, `$metadata.httpStatusCode`), so that code classifying
 * them (lib/intake/read.ts) works with either.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto'
import { STATUS_CODES, type IncomingMessage } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { defaultProvider } from '@aws-sdk/credential-provider-node'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { SignatureV4 } from '@smithy/signature-v4'
import type { AwsCredentialIdentity, HttpRequest, SourceData } from '@smithy/types'
import { isLocalEndpoint } from './clients.ts'

export interface ObjectRef {
  bucket: string
  /** The key as stored (decoded): it is URI-encoded here. */
  key: string
  versionId?: string
}

export interface ObjectBody {
  /** The streamed body (a node Readable): read it once. */
  body: AsyncIterable<Uint8Array>
  contentLength?: number
  contentEncoding?: string
  /** Stops reading and frees the connection. */
  destroy: () => void
}

export interface ObjectStore {
  /**
   * GetObject; `range` = bytes start..end-1 (end exclusive, omitted: to the end of the object).
   * @throws ObjectStoreError for an S3 error answer (name NoSuchKey, NoSuchBucket, NoSuchVersion, AccessDenied,
   * InvalidRange, SlowDown...), after up to 3 attempts when it is throttling or a 5xx; the network's own errors
   * (ECONNRESET, TimeoutError...) after 3 attempts; TypeError for an invalid range. Nothing is retried once the
   * body has been returned.
   */
  get(ref: ObjectRef, options?: { range?: { start: number; end?: number } }): Promise<ObjectBody>
  /**
   * PutObject of a string (sent as UTF-8) with its Content-Type.
   * @throws ObjectStoreError for an S3 error answer, the network's errors: as for {@link ObjectStore.get}
   */
  put(bucket: string, key: string, body: string | Uint8Array, contentType: string): Promise<void>
}

export interface ObjectStoreOptions {
  /** Default AWS_REGION, else AWS_DEFAULT_REGION. */
  region?: string
  /** An endpoint URL (path-style addressing); default AWS_ENDPOINT_URL, else S3 itself (virtual-hosted). */
  endpoint?: string
  /** Default: the SDK's default chain (placeholders with a local endpoint and no AWS_ACCESS_KEY_ID). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  /** Milliseconds to establish a connection (default 5000). */
  connectionTimeout?: number
  /** Milliseconds a socket may stay idle, waiting for an answer or within a body (default 60000). */
  socketTimeout?: number
}

/** An S3 error answer, shaped like the SDK's service errors: `name` is S3's `<Code>`. */
export class ObjectStoreError extends Error {
  readonly $metadata: { httpStatusCode: number; requestId?: string; attempts: number }

  constructor(name: string, message: string, $metadata: ObjectStoreError['$metadata']) {
    super(message)
    this.name = name
    this.$metadata = $metadata
  }
}

const MAX_ATTEMPTS = 3
const BACKOFF_BASE_MS = 100
const BACKOFF_CAP_MS = 2000
/** S3 answers no longer than this are read for their error XML; the rest is dropped with the connection. */
const MAX_ERROR_BODY_BYTES = 64 * 1024
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504])
/** S3's own timeout (400 RequestTimeout: the socket was idle) is transient too, as the SDK has it. */
const RETRYABLE_NAMES = new Set(['SlowDown', 'RequestTimeout', 'TimeoutError'])
const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN'])

/** SHA-256 (or HMAC-SHA-256 with a secret) from node:crypto, as the `Checksum` constructor SignatureV4 expects. */
export class Sha256 {
  private hash: Hash | Hmac

  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh()
  }

  private fresh(): Hash | Hmac {
    if (this.secret === undefined) return createHash('sha256')
    const key = this.secret instanceof ArrayBuffer ? new Uint8Array(this.secret) : this.secret
    return createHmac(
      'sha256',
      ArrayBuffer.isView(key) ? new Uint8Array(key.buffer, key.byteOffset, key.byteLength) : key,
    )
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk)
  }

  async digest(): Promise<Uint8Array> {
    return this.hash.digest()
  }

  reset(): void {
    this.hash = this.fresh()
  }
}

/** A key's path segments URI-encoded as S3 canonicalizes them (RFC 3986: `!'()*` too), its slashes kept. */
const encodeKey = (key: string): string =>
  key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/')

/** Full jitter: a random wait up to base·2^(attempt-1), capped. */
const backoff = (attempt: number): number =>
  Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1))

const isRetryable = (err: unknown): boolean => {
  const { name, code, $metadata } = (err ?? {}) as {
    name?: string
    code?: string
    $metadata?: { httpStatusCode?: number }
  }
  return (
    RETRYABLE_STATUS.has($metadata?.httpStatusCode ?? 0) ||
    RETRYABLE_NAMES.has(name ?? '') ||
    RETRYABLE_CODES.has(code ?? '')
  )
}

const xmlText = (xml: string, tag: string): string | undefined => {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)
  return match?.[1]?.replace(
    /&(lt|gt|quot|apos|amp);/g,
    (_, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e]!,
  )
}

/** The error of a non-2xx answer, from at most 64 KB of its XML body (none: a name from the status, NotFound...). */
const errorOf = async (res: IncomingMessage, attempts: number): Promise<ObjectStoreError> => {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      chunks.push(chunk)
      size += chunk.length
      if (size >= MAX_ERROR_BODY_BYTES) break // leaving the loop destroys the stream
    }
  } catch {
    // A body cut short: what came is enough.
  }
  const xml = Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY_BYTES).toString('utf8')
  const status = res.statusCode ?? 0
  const name = xmlText(xml, 'Code') ?? (STATUS_CODES[status] ?? 'Unknown').replace(/\W/g, '')
  const requestId = xmlText(xml, 'RequestId') ?? res.headers['x-amz-request-id']?.toString()
  return new ObjectStoreError(name, xmlText(xml, 'Message') ?? `S3 answered HTTP ${status}`, {
    httpStatusCode: status,
    ...(requestId ? { requestId } : {}),
    attempts,
  })
}

/**
 * An S3 object store for `where` (nothing: the environment's region, endpoint and credentials, as a Lambda function
 * has them). Build it once, at cold start: it holds the connection pool.
 * @throws TypeError when no region is given nor set (AWS_REGION)
 */
export const objectStore = (where: ObjectStoreOptions = {}): ObjectStore => {
  const region = where.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION
  if (!region) throw new TypeError('objectStore: no region: set AWS_REGION (or pass { region })')
  const endpoint = where.endpoint ?? process.env.AWS_ENDPOINT_URL
  const credentials: AwsCredentialIdentity | (() => Promise<AwsCredentialIdentity>) =
    where.credentials ??
    // A local emulator takes any credentials (as clientConfig has it).
    (isLocalEndpoint(endpoint) && !process.env.AWS_ACCESS_KEY_ID
      ? { accessKeyId: 'local', secretAccessKey: 'local' }
      : defaultProvider())
  // S3 signs the path as sent, not encoded a second time (uriEscapePath: false).
  const signer = new SignatureV4({ service: 's3', region, credentials, sha256: Sha256, uriEscapePath: false })
  const http = new NodeHttpHandler({
    connectionTimeout: where.connectionTimeout ?? 5000,
    socketTimeout: where.socketTimeout ?? 60_000,
  })

  /** An endpoint: path-style; S3: virtual-hosted, or path-style for a bucket with dots (TLS wildcard certificate). */
  const requestFor = (method: string, ref: ObjectRef, headers: Record<string, string>, body?: Buffer): HttpRequest => {
    const key = encodeKey(ref.key)
    const base = new URL(endpoint ?? `https://s3.${region}.amazonaws.com`)
    const pathStyle = endpoint !== undefined || ref.bucket.includes('.')
    if (!pathStyle) base.hostname = `${ref.bucket}.${base.hostname}`
    const prefix = base.pathname.replace(/\/$/, '')
    return {
      method,
      protocol: base.protocol,
      hostname: base.hostname,
      ...(base.port ? { port: Number(base.port) } : {}),
      path: pathStyle ? `${prefix}/${encodeURIComponent(ref.bucket)}/${key}` : `${prefix}/${key}`,
      query: ref.versionId !== undefined ? { versionId: ref.versionId } : {},
      headers: { host: base.host, ...headers },
      body,
    }
  }

  /**
   * Signs and sends `request` (signed again at each attempt), answering the 2xx response, its body unread.
   * Throttling, 5xx and network errors are tried again, up to MAX_ATTEMPTS in all, after a jittered backoff.
   */
  const send = async (request: HttpRequest): Promise<IncomingMessage> => {
    for (let attempt = 1; ; attempt++) {
      let failure: unknown
      try {
        // sign() answers a copy of the request as an HttpRequest instance (typed as the plain interface), which is
        // what handle() takes: it reads the fields only.
        const signed = (await signer.sign(request)) as Parameters<NodeHttpHandler['handle']>[0]
        const { response } = await http.handle(signed)
        const res = response.body as IncomingMessage
        if (response.statusCode >= 200 && response.statusCode < 300) return res
        failure = await errorOf(res, attempt)
      } catch (err) {
        failure = err
      }
      if (attempt >= MAX_ATTEMPTS || !isRetryable(failure)) throw failure
      await sleep(backoff(attempt))
    }
  }

  return {
    async get(ref, { range } = {}) {
      const headers: Record<string, string> = { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }
      if (range) {
        const { start, end } = range
        if (
          !Number.isSafeInteger(start) ||
          start < 0 ||
          (end !== undefined && (!Number.isSafeInteger(end) || end <= start))
        ) {
          throw new TypeError(`objectStore.get: invalid range ${start}..${String(end)} (0 <= start < end)`)
        }
        headers.range = `bytes=${start}-${end === undefined ? '' : end - 1}`
      }
      const res = await send(requestFor('GET', ref, headers))
      const length = Number(res.headers['content-length'])
      return {
        body: res,
        ...(res.headers['content-length'] !== undefined && Number.isSafeInteger(length)
          ? { contentLength: length }
          : {}),
        ...(res.headers['content-encoding'] ? { contentEncoding: res.headers['content-encoding'] } : {}),
        destroy: () => res.destroy(),
      }
    },

    async put(bucket, key, body, contentType) {
      const bytes =
        typeof body === 'string'
          ? Buffer.from(body, 'utf8')
          : Buffer.from(body.buffer, body.byteOffset, body.byteLength)
      const headers = {
        'content-type': contentType,
        'content-length': String(bytes.length),
        'x-amz-content-sha256': createHash('sha256').update(bytes).digest('hex'),
      }
      const res = await send(requestFor('PUT', { bucket, key }, headers, bytes))
      res.resume() // an empty body: read to its end, so that the connection goes back to the pool
    },
  }
}
