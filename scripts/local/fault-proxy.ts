/**
 * A fault-injecting proxy in front of the emulator, for `npm run chaos`: it forwards every request to the target
 * and, with seeded probabilities, answers DynamoDB and SQS calls with throttling (400) or a server error (500) in
 * the shape each service's SDK reads, and can play CloudWatch down (503 for every call). Only the functions talk
 * through it; the runner's pollers and the chaos harness go to the emulator directly.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FaultRates {
  /** Of DynamoDB and SQS calls, the share answered with throttling. */
  throttle: number
  /** Of DynamoDB and SQS calls, the share answered with a 500. */
  serverError: number
  /** Every CloudWatch call answers 503. */
  cloudWatchDown: boolean
}

export interface FaultCounts {
  forwarded: number
  throttled: number
  serverErrors: number
  cloudWatchRefused: number
}

export interface FaultProxy {
  url: string
  counts: FaultCounts
  stop: () => Promise<void>
}

type Service = 'dynamodb' | 'sqs' | 'cloudwatch' | 'other'

/** Which service a request is for, from what the SDK sends (the JSON protocols' X-Amz-Target, else path and body). */
export const serviceOf = (headers: IncomingMessage['headers'], path: string, body: string): Service => {
  const target = String(headers['x-amz-target'] ?? '')
  if (target.startsWith('DynamoDB_')) return 'dynamodb'
  if (target.startsWith('AmazonSQS.')) return 'sqs'
  // CloudWatch: the JSON protocol's target, the CBOR protocol's path, or the query protocol's action.
  if (target.startsWith('GraniteServiceVersion20100801.') || path.includes('GraniteServiceVersion20100801')) {
    return 'cloudwatch'
  }
  if (/(^|&)Action=(PutMetricData|GetMetric)/.test(body)) return 'cloudwatch'
  return 'other'
}

/** The answers the SDK reads as throttling and as a server fault, per JSON protocol. */
const FAULTS = {
  dynamodb: {
    throttle: { type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', status: 400 },
    serverError: { type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', status: 500 },
    contentType: 'application/x-amz-json-1.0',
  },
  sqs: {
    throttle: { type: 'com.amazonaws.sqs#RequestThrottled', status: 400, query: 'RequestThrottled;Sender' },
    serverError: { type: 'com.amazonaws.sqs#InternalError', status: 500, query: 'InternalError;Receiver' },
    contentType: 'application/x-amz-json-1.0',
  },
} as const

/** A small seeded generator (mulberry32): the same seed, the same faults in the same order of requests. */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const read = async (request: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

export const startFaultProxy = async (target: string, rates: FaultRates, seed: number): Promise<FaultProxy> => {
  const random = seededRandom(seed)
  const counts: FaultCounts = { forwarded: 0, throttled: 0, serverErrors: 0, cloudWatchRefused: 0 }
  const server: Server = createServer((request, response) => {
    void (async () => {
      const body = await read(request)
      const path = request.url ?? '/'
      const service = serviceOf(request.headers, path, body.toString('utf8', 0, Math.min(body.length, 200)))
      if (service === 'cloudwatch' && rates.cloudWatchDown) {
        counts.cloudWatchRefused++
        response.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable (injected)')
        return
      }
      if (service === 'dynamodb' || service === 'sqs') {
        const roll = random()
        const fault =
          roll < rates.throttle ? 'throttle' : roll < rates.throttle + rates.serverError ? 'serverError' : undefined
        if (fault) {
          const spec = FAULTS[service]
          const answer = spec[fault]
          if (fault === 'throttle') counts.throttled++
          else counts.serverErrors++
          const headers: Record<string, string> = { 'content-type': spec.contentType }
          if ('query' in answer) headers['x-amzn-query-error'] = answer.query
          response.writeHead(answer.status, headers).end(JSON.stringify({ __type: answer.type, message: 'injected' }))
          return
        }
      }
      counts.forwarded++
      const upstream = await fetch(new URL(path, target), {
        method: request.method,
        headers: Object.fromEntries(
          Object.entries(request.headers).flatMap(([k, v]) =>
            v === undefined || ['host', 'connection', 'content-length', 'expect'].includes(k)
              ? []
              : [[k, Array.isArray(v) ? v.join(',') : v]],
          ),
        ),
        body: request.method === 'GET' || request.method === 'HEAD' ? undefined : new Uint8Array(body),
      })
      const headers = Object.fromEntries(
        [...upstream.headers].filter(([k]) => !['content-encoding', 'transfer-encoding', 'connection'].includes(k)),
      )
      response.writeHead(upstream.status, headers).end(Buffer.from(await upstream.arrayBuffer()))
    })().catch((err: unknown) => {
      if (!response.headersSent) response.writeHead(502).end(String((err as Error).message))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://localhost:${port}`,
    counts,
    stop: async () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
