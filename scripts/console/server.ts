/**
 * The console's HTTP server, on this machine only: the pages (bundled by web.ts), the JSON endpoints over
 * service.ts, and `/order-api/*`, which passes the order form's requests on to the order API with its key, or signed
 * with the operator's credentials where the API wants IAM (so neither leaves this machine's server, and the browser
 * needs no CORS for the console).
 *
 * It acts with the operator's AWS access, so it answers only what a page of its own asks: the Host must be this
 * machine's (a DNS-rebinding page cannot reach it), and a change (POST) must be JSON from its own origin (a page
 * elsewhere cannot send that without a CORS preflight, which is never granted).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { checkLevel } from '../ops/stock.ts'
import type { Asset } from './web.ts'
import { QUEUES, type Console, type QueueName, type ReplayRequest } from './service.ts'

/** The largest body the console takes: a stock edit or a replay request is tiny; an order is at most 64 KB. */
const MAX_BODY_BYTES = 256 * 1024

/** Statuses an order moves on from no more, with the workflow and without it (the order form follows it so far). */
export const SETTLED = {
  workflow: ['NOTIFIED', 'PAYMENT_FAILED', 'REJECTED', 'CONFLICT'],
  plain: ['PROCESSED', 'REJECTED', 'CONFLICT'],
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** Runs `check`, turning what it throws into a 400 with its message (which names the field). */
const parse = <T>(check: () => T): T => {
  try {
    return check()
  } catch (err) {
    throw new HttpError(400, (err as Error).message)
  }
}

const readBody = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

const readJson = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
  const text = (await readBody(req)).toString('utf8')
  const value = parse(() => JSON.parse(text || '{}') as unknown)
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new HttpError(400, 'body: expected a JSON object')
  return value as Record<string, unknown>
}

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' })
  res.end(JSON.stringify(body))
}

/** A replay request from the DLQ panel, checked. */
export const replayRequest = (body: Record<string, unknown>): ReplayRequest => {
  if (typeof body.dryRun !== 'boolean') throw new Error('dryRun: expected true or false')
  const classes = body.errorClasses
  if (
    classes !== undefined &&
    !(Array.isArray(classes) && classes.length <= 50 && classes.every((c) => typeof c === 'string' && c.length <= 100))
  )
    throw new Error('errorClasses: expected a list of error class names')
  if (body.includePermanent !== undefined && typeof body.includePermanent !== 'boolean')
    throw new Error('includePermanent: expected true or false')
  return {
    dryRun: body.dryRun,
    errorClasses: (classes as string[] | undefined)?.length ? (classes as string[]) : undefined,
    includePermanent: body.includePermanent as boolean | undefined,
  }
}

/** Whether a request comes from a page of this server: Host is this machine, a change is JSON from our origin. */
export const refusal = (
  req: Pick<IncomingMessage, 'method' | 'headers'>,
  port: number,
): { status: number; message: string } | undefined => {
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]
  const host = req.headers.host ?? ''
  if (!hosts.includes(host)) return { status: 403, message: 'the console answers on this machine only (Host header)' }
  if (req.method === 'GET' || req.method === 'HEAD') return undefined
  const origin = req.headers.origin
  if (origin !== undefined && origin !== `http://${host}`)
    return { status: 403, message: 'changes are accepted from the console page only (Origin header)' }
  if (!/^application\/json\b/.test(req.headers['content-type'] ?? ''))
    return { status: 415, message: 'Content-Type must be application/json' }
  return undefined
}

export interface ConsoleServer {
  url: string
  server: Server
  close: () => Promise<void>
}

/** Serves the console on 127.0.0.1:`port` (0: a free port). */
export const startConsoleServer = async (options: {
  console: Console
  assets: Map<string, Asset>
  port: number
}): Promise<ConsoleServer> => {
  const c = options.console
  const replaying = new Set<QueueName>()
  let port = options.port

  const queueOf = (name: string): QueueName => {
    if (!(QUEUES as readonly string[]).includes(name))
      throw new HttpError(404, `no queue ${name.slice(0, 40)}: expected ${QUEUES.join(' or ')}`)
    return name as QueueName
  }

  /**
   * A DLQ's replay (or dry run), its progress streamed as NDJSON lines: `start` (how many messages), one `message`
   * line per message as its action is decided, then `done` with the report (or `error`). One replay per queue at
   * a time; a page that goes away stops it between two messages (the rest stay in the DLQ).
   */
  const replay = async (res: ServerResponse, queue: QueueName, body: Record<string, unknown>) => {
    const request = parse(() => replayRequest(body))
    if (replaying.has(queue)) throw new HttpError(409, `a replay of the ${queue} DLQ is running already`)
    replaying.add(queue)
    const abort = new AbortController()
    res.once('close', () => abort.abort())
    const line = (value: unknown) => res.write(`${JSON.stringify(value)}\n`)
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Cache-Control': 'no-store' })
    try {
      const result = await c.replay(
        queue,
        request,
        {
          onStart: (total) => line({ type: 'start', total }),
          onProgress: (done, planned) => line({ type: 'message', done, ...planned }),
        },
        abort.signal,
      )
      line({ type: 'done', ...result })
    } catch (err) {
      line({ type: 'error', message: (err as Error).message })
    } finally {
      replaying.delete(queue)
      res.end()
    }
  }

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse, params: string[]) => Promise<void>> = {
    'GET /api/about': async (_req, res) => send(res, 200, c.about()),
    'GET /api/outcomes': async (_req, res) => send(res, 200, await c.outcomes()),
    'GET /api/metrics': async (_req, res) => send(res, 200, await c.metrics()),
    'GET /api/queues': async (_req, res) => send(res, 200, await c.queues()),
    'GET /api/stock': async (_req, res) => send(res, 200, await c.stock()),
    'POST /api/stock': async (req, res) => {
      const body = await readJson(req)
      const [sku, available] = parse(() => checkLevel(body.sku, body.available))
      send(res, 200, await c.setStock(sku, available))
    },
    'GET /api/reports': async (_req, res) => send(res, 200, await c.reports()),
    'GET /api/dlq/*': async (_req, res, [name]) => send(res, 200, await c.dlq(queueOf(name!))),
    'POST /api/dlq/*/replay': async (req, res, [name]) => replay(res, queueOf(name!), await readJson(req)),
    'GET /form/config.json': async (_req, res) =>
      send(res, 200, {
        apiUrl: '/order-api',
        products: await c.products(),
        settled: c.about().workflow ? SETTLED.workflow : SETTLED.plain,
      }),
  }

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost')
      try {
        const refused = refusal(req, port)
        if (refused) throw new HttpError(refused.status, refused.message)
        if (url.pathname.startsWith('/order-api/')) return await proxy(req, res, url)
        const asset = req.method === 'GET' ? options.assets.get(url.pathname) : undefined
        if (asset) {
          res.writeHead(200, { 'Content-Type': asset.type, 'Cache-Control': 'no-cache' })
          res.end(asset.body)
          return
        }
        const [key, params] = route(req.method ?? 'GET', url.pathname)
        const handler = key ? routes[key] : undefined
        if (!handler) throw new HttpError(404, `no page or endpoint ${url.pathname.slice(0, 100)}`)
        await handler(req, res, params)
      } catch (err) {
        const status = err instanceof HttpError ? err.status : 502
        if (!res.headersSent)
          send(res, status, { message: status === 502 ? `AWS: ${(err as Error).message}` : (err as Error).message })
        else res.end()
        if (status === 502) console.error(`console: ${req.method} ${url.pathname}: ${(err as Error).message}`)
      }
    })()
  })

  /** The route key that matches, `*` standing for one path segment, with the segments it stood for. */
  const route = (method: string, path: string): [string | undefined, string[]] => {
    const parts = path.split('/')
    for (const key of Object.keys(routes)) {
      const [m, pattern] = key.split(' ') as [string, string]
      const want = pattern.split('/')
      if (m !== method || want.length !== parts.length) continue
      const params: string[] = []
      if (want.every((w, i) => (w === '*' ? (params.push(decodeURIComponent(parts[i]!)), true) : w === parts[i])))
        return [key, params]
    }
    return [undefined, []]
  }

  /** Passes an order form request on to the order API, with the API key or signed (service.ts apiHeaders). */
  const proxy = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (!c.apiUrl) throw new HttpError(503, 'no order API known: give --api-url')
    const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req)
    const headers: Record<string, string> = {}
    for (const name of ['content-type', 'idempotency-key', 'x-correlation-id']) {
      const value = req.headers[name]
      if (typeof value === 'string') headers[name] = value
    }
    const target = `${c.apiUrl.replace(/\/$/, '')}${url.pathname.slice('/order-api'.length)}${url.search}`
    const method = req.method ?? 'GET'
    const text = body?.toString('utf8')
    const answer = await fetch(target, {
      method,
      headers: await c.apiHeaders({ url: target, method, headers, body: text }),
      body: text,
      signal: AbortSignal.timeout(30_000),
    }).catch((err: unknown) => {
      throw new HttpError(502, `the order API at ${c.apiUrl} did not answer (${(err as Error).message})`)
    })
    res.writeHead(answer.status, {
      'Content-Type': answer.headers.get('content-type') ?? 'application/json',
      'Cache-Control': 'no-store',
    })
    res.end(Buffer.from(await answer.arrayBuffer()))
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, '127.0.0.1', () => resolve())
  })
  port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
