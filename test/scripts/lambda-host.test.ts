import test from 'ava'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { InvocationError, LambdaHost } from '../../scripts/local/lambda-host.ts'
import { tempDir } from '../helpers/fixtures.ts'

/** A function that reports its process, or starts work that would go on sending behind a timeout. */
const FUNCTION = `
import { appendFileSync } from 'node:fs'
export const handler = async (event) => {
  if (event.kind === 'pid') return process.pid
  setInterval(() => appendFileSync(event.file, 'x'), 10)
  if (event.kind === 'early') {
    await new Promise((resolve) => setTimeout(resolve, 100))
    const err = new Error('[AbortError]: The operation was aborted.')
    err.name = 'TimeoutError' // what middy's timeoutEarly throws
    throw err
  }
  await new Promise(() => undefined) // never answers: the host's deadline
}
`

const host = (t: { teardown: (fn: () => Promise<void> | void) => void }) => {
  const dir = tempDir(t, 'lambda-host-')
  writeFileSync(join(dir, 'index.mjs'), FUNCTION)
  const log = join(dir, 'function.log')
  const fn = new LambdaHost({ name: 'tp-test', dir, handler: 'index.handler', env: {}, timeoutSeconds: 1 }, log)
  t.teardown(async () => fn.stop())
  return { fn, dir, log }
}

/** Bytes written by the work behind the invocation, some time apart. */
const growth = async (file: string): Promise<number> => {
  const before = existsSync(file) ? statSync(file).size : 0
  await sleep(200)
  return (existsSync(file) ? statSync(file).size : 0) - before
}

for (const [kind, why] of [
  ['early', 'a handler that gave up first (middy TimeoutError)'],
  ['hang', 'the function timeout'],
] as const) {
  test(`after ${why}, the process is stopped and replaced, and what it started stops too`, async (t) => {
    // Prepare
    const { fn, dir, log } = host(t)
    const first = await fn.invoke({ kind: 'pid' })
    const file = join(dir, `${kind}.out`)
    // Act
    const err = await t.throwsAsync(fn.invoke({ kind, file }), { instanceOf: InvocationError })
    // Assess
    t.is(err?.errorType, 'Sandbox.Timedout')
    t.is(fn.pid, undefined, 'no instance runs after the timeout')
    t.is(await growth(file), 0, 'nothing goes on behind the timeout')
    const next = await fn.invoke({ kind: 'pid' })
    t.not(next, first, 'the next invocation runs in a new process')
    t.regex(readFileSync(log, 'utf8'), /"msg":"invocation .*its process was stopped and is replaced/)
  })
}
