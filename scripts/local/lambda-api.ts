/**
 * Lambda's Invoke API, played locally for the emulator's Step Functions: moto's state machine interpreter sends
 * each Lambda task to `MOTO_LAMBDA_ENDPOINT` (scripts/local/moto_server.py), and this server answers it with the
 * deployed function run by the local runner. `POST /2015-03-31/functions/{name}/invocations` (the name, or the
 * function's ARN URL-encoded, a `:qualifier` ignored), the task's payload as the body: 200 with the result as JSON,
 * or, when the function throws, 200 with `X-Amz-Function-Error: Unhandled` and `{ errorType, errorMessage }`, the
 * error's name being what the state's Retry and Catch match.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { InvocationError } from './lambda-host.ts'

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/

/** `tp-order-workflow-tasks`, or `arn:aws:lambda:eu-west-3:123456789012:function:tp-order-workflow-tasks:1` → the name. */
export const functionNameOf = (nameOrArn: string): string => {
  const arn = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)(?::[^:]+)?$/.exec(nameOrArn)
  return arn ? arn[1]! : nameOrArn.split(':')[0]!
}

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export interface LambdaApiOptions {
  port: number
  /** Runs a deployed function; rejects as the function failed (an InvocationError carries the error's name). */
  invoke: (functionName: string, event: unknown) => Promise<unknown>
}

/** Starts the server on localhost:port. */
export const startLambdaApi = async (options: LambdaApiOptions): Promise<Server> => {
  const server = createServer((req, res) => {
    void (async () => {
      const match = INVOKE_PATH.exec(new URL(req.url ?? '/', 'http://localhost').pathname)
      const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers })
        res.end(JSON.stringify(body ?? null))
      }
      if (req.method !== 'POST' || !match) {
        answer(404, { message: `not a Lambda Invoke request: ${req.method} ${req.url}` })
        return
      }
      const name = functionNameOf(decodeURIComponent(match[1]!))
      let event: unknown
      try {
        const body = await readBody(req)
        event = body === '' ? {} : JSON.parse(body)
      } catch {
        answer(400, { message: 'the payload is not JSON' }, { 'x-amzn-errortype': 'InvalidRequestContentException' })
        return
      }
      try {
        answer(200, await options.invoke(name, event))
      } catch (err) {
        const errorType = err instanceof InvocationError ? err.errorType : (err as Error).name || 'Error'
        answer(200, { errorType, errorMessage: (err as Error).message }, { 'X-Amz-Function-Error': 'Unhandled' })
      }
    })()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, 'localhost', () => resolve())
  })
  return server
}
