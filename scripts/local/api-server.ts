/**
 * API Gateway, played locally: an HTTP server whose requests become REST API (v1) proxy events for the API
 * function. Routes come from the deployed API (resource paths such as /orders and /orders/{id}).
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda'

export interface Route {
  method: string
  resource: string
}

/** `/orders/{id}` matched against `/orders/ORD-1` → `{ id: 'ORD-1' }`; undefined when it does not match. */
export const matchResource = (resource: string, path: string): Record<string, string> | undefined => {
  const want = resource.split('/').filter(Boolean)
  const got = path.split('/').filter(Boolean)
  if (want.length !== got.length) return undefined
  const params: Record<string, string> = {}
  for (const [i, part] of want.entries()) {
    const m = /^\{(.+)\}$/.exec(part)
    if (m) params[m[1]!] = decodeURIComponent(got[i]!)
    else if (part !== got[i]) return undefined
  }
  return params
}

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export const toProxyEvent = (
  req: IncomingMessage,
  body: string,
  route: Route,
  stage: string,
  params: Record<string, string>,
): APIGatewayProxyEvent => {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const headers = Object.fromEntries(
    Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
  )
  const query = Object.fromEntries(url.searchParams)
  const requestId = randomUUID()
  return {
    resource: route.resource,
    path: url.pathname,
    httpMethod: req.method ?? 'GET',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    multiValueQueryStringParameters: null,
    pathParameters: Object.keys(params).length > 0 ? params : null,
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'local',
      resourceId: 'local',
      stage,
      requestId,
      requestTimeEpoch: Date.now(),
      path: `/${stage}${url.pathname}`,
      resourcePath: route.resource,
      httpMethod: req.method ?? 'GET',
      protocol: 'HTTP/1.1',
      authorizer: null,
      identity: {
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? null,
      } as APIGatewayProxyEvent['requestContext']['identity'],
    },
    body: body.length > 0 ? body : null,
    isBase64Encoded: false,
  }
}

/** Serves `routes` (plus CORS preflight) by invoking the API function. */
export const startApiServer = async (options: {
  port: number
  routes: Route[]
  stage: string
  invoke: (event: APIGatewayProxyEvent) => Promise<unknown>
}): Promise<Server> => {
  const server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname
      const matches = options.routes
        .map((route) => ({ route, params: matchResource(route.resource, path) }))
        .filter((m) => m.params)
      const match = matches.find((m) => m.route.method === req.method)
      if (!match) {
        res.writeHead(matches.length > 0 ? 405 : 404, { 'Content-Type': 'application/json' })
        res.end(
          JSON.stringify({
            message: matches.length > 0 ? `Method ${req.method} not allowed on ${path}` : `No route for ${path}`,
          }),
        )
        return
      }
      try {
        const event = toProxyEvent(req, await readBody(req), match.route, options.stage, match.params!)
        const result = (await options.invoke(event)) as APIGatewayProxyResult
        res.writeHead(result.statusCode, result.headers as Record<string, string> | undefined)
        res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body)
      } catch (err) {
        res.writeHead(502, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ message: 'Internal server error', error: (err as Error).message }))
      }
    })()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, 'localhost', () => resolve())
  })
  return server
}
