/**
 * Runs a deployed function's bundle as Lambda would: in a process of its own (scripts/local/lambda-child.mjs) with
 * the function's environment variables, one import per cold start, a timeout per invocation, and its stdout
 * captured as its log.
 *
 * A timed-out invocation is stopped the way Lambda stops it: its process is killed (SIGKILL) and replaced at the
 * next invocation, so nothing it started goes on sending behind the timeout, and what it had not returned is not
 * delivered. That holds for the host's own deadline and for a handler that gave up first (middy's timeoutEarly
 * answers a `TimeoutError`): either way the host writes a line to the function's log, as Lambda's "Task timed out".
 */
import { fork, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { createWriteStream, type WriteStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { stopProcess } from './process.ts'

export interface FunctionSpec {
  name: string
  /** Folder holding the unpacked code. */
  dir: string
  handler: string
  /** The deployed environment variables, plus what the local runner adds (endpoint, credentials). */
  env: Record<string, string>
  timeoutSeconds: number
  memoryMb?: number
}

export class InvocationError extends Error {
  readonly errorType: string
  constructor(errorType: string, message: string) {
    super(message)
    this.name = 'InvocationError'
    this.errorType = errorType
  }
}

interface Pending {
  resolve: (value: unknown) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

const CHILD = fileURLToPath(new URL('./lambda-child.mjs', import.meta.url))

/** The error a handler answers with when middy's timeoutEarly gave up on it. */
const TIMED_OUT = new Set(['TimeoutError', 'Sandbox.Timedout'])

/** Emits 'log' (function name, line) for each line the function writes. */
export class LambdaHost extends EventEmitter {
  readonly spec: FunctionSpec
  #child: ChildProcess | undefined
  #ready: Promise<void> | undefined
  readonly #pending = new Map<string, Pending>()
  readonly #log: WriteStream | undefined

  constructor(spec: FunctionSpec, logFile?: string) {
    super()
    this.spec = spec
    this.#log = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined
  }

  #start(): Promise<void> {
    const child = fork(CHILD, [this.spec.dir, this.spec.handler], {
      env: {
        ...this.spec.env,
        AWS_LAMBDA_FUNCTION_NAME: this.spec.name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(this.spec.memoryMb ?? 128),
        PATH: process.env.PATH ?? '',
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // As deployed: no --enable-source-maps, the logger maps the stacks it writes (lib/runtime/stack.ts).
      execArgv: [],
    })
    this.#child = child
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream! }).on('line', (line) => {
        this.#log?.write(`${line}\n`)
        this.emit('log', this.spec.name, line)
      })
    }
    child.on(
      'message',
      (message: { type: string; id?: string; result?: unknown; error?: { name: string; message: string } }) => {
        if (message.type !== 'result' || !message.id) return
        const pending = this.#pending.get(message.id)
        if (!pending) return
        this.#pending.delete(message.id)
        clearTimeout(pending.timer)
        if (message.error && TIMED_OUT.has(message.error.name)) {
          this.#timedOut(message.id, `gave up before its timeout (${message.error.name})`)
          pending.reject(new InvocationError('Sandbox.Timedout', `${this.spec.name} timed out (${message.error.name})`))
        } else if (message.error) pending.reject(new InvocationError(message.error.name, message.error.message))
        else pending.resolve(message.result)
      },
    )
    child.on('exit', (code) => {
      if (this.#child === child) this.#child = undefined
      for (const [id, pending] of this.#pending) {
        clearTimeout(pending.timer)
        pending.reject(new InvocationError('Runtime.ExitError', `${this.spec.name} exited with code ${code}`))
        this.#pending.delete(id)
      }
    })
    return new Promise((resolve, reject) => {
      child.once('message', (message: { type: string; error?: { message: string } }) =>
        message.type === 'ready'
          ? resolve()
          : reject(new InvocationError('Runtime.ImportModuleError', message.error?.message ?? 'init failed')),
      )
      child.once('exit', (code) =>
        reject(new InvocationError('Runtime.ExitError', `${this.spec.name} exited during init with code ${code}`)),
      )
    })
  }

  /** Invokes the function with `event`; rejects with an InvocationError when it throws or times out. */
  async invoke(event: unknown): Promise<unknown> {
    if (!this.#child) this.#ready = this.#start()
    await this.#ready
    const id = randomUUID()
    const timeoutMs = this.spec.timeoutSeconds * 1000
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        this.#timedOut(id, `timed out after ${this.spec.timeoutSeconds} s`)
        reject(
          new InvocationError('Sandbox.Timedout', `${this.spec.name} timed out after ${this.spec.timeoutSeconds} s`),
        )
      }, timeoutMs)
      this.#pending.set(id, { resolve, reject, timer })
      this.#child!.send({
        id,
        event,
        context: {
          awsRequestId: id,
          functionName: this.spec.name,
          functionVersion: '$LATEST',
          invokedFunctionArn: `arn:aws:lambda:${this.spec.env.AWS_REGION ?? 'eu-west-3'}:123456789012:function:${this.spec.name}`,
          memoryLimitInMB: String(this.spec.memoryMb ?? 128),
          logGroupName: `/aws/lambda/${this.spec.name}`,
          logStreamName: 'local',
          timeoutMs,
        },
      })
    })
  }

  /** Stops the process of a timed-out invocation (it is replaced at the next one) and says so in the log. */
  #timedOut(id: string, why: string): void {
    const line = JSON.stringify({
      level: 'error',
      time: new Date().toISOString(),
      name: this.spec.name,
      requestId: id,
      msg: `invocation ${why}: its process was stopped and is replaced at the next invocation`,
    })
    this.#log?.write(`${line}\n`)
    this.emit('log', this.spec.name, line)
    this.#child?.kill('SIGKILL')
    this.#child = undefined
  }

  /** Kills the running process at once (SIGKILL): what it was doing fails as an exit. @returns whether one ran */
  crash(): boolean {
    const child = this.#child
    if (!child) return false
    this.#child = undefined
    child.kill('SIGKILL')
    return true
  }

  /** The process id of the running instance, if one is running. */
  get pid(): number | undefined {
    return this.#child?.pid
  }

  /** Stops the instance and waits for its process to exit. */
  async stop(): Promise<void> {
    const child = this.#child
    this.#child = undefined
    await stopProcess(child, 2000)
    this.#log?.end()
  }
}
