// One Lambda "instance" of the local runner: a Node.js process with the function's own environment that imports
// the deployed bundle once and runs invocations sent by its parent (scripts/local/lambda-host.ts) over IPC.
// Its stdout is the function's log. Usage (by the host only): node lambda-child.mjs <code dir> <handler>
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const [dir, handler = 'index.handler'] = process.argv.slice(2)
const dot = handler.lastIndexOf('.')
const file = handler.slice(0, dot)
const exportName = handler.slice(dot + 1)

const serialiseError = (err) =>
  err instanceof Error
    ? { name: err.name, message: err.message, stack: err.stack }
    : { name: typeof err, message: `Non-error value thrown: ${String(err)}` }

let mod
try {
  mod = await import(pathToFileURL(join(dir, `${file}.mjs`)).href)
  if (typeof mod[exportName] !== 'function')
    throw new Error(`${handler}: no exported function ${exportName} in ${file}.mjs`)
  process.send({ type: 'ready' })
} catch (err) {
  process.send({ type: 'init-error', error: serialiseError(err) })
  process.exit(1)
}

process.on('message', async ({ id, event, context }) => {
  const deadline = Date.now() + context.timeoutMs
  const ctx = {
    ...context,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }
  try {
    const result = await mod[exportName](event, ctx)
    process.send({ type: 'result', id, result: result === undefined ? null : result })
  } catch (err) {
    process.send({ type: 'result', id, error: serialiseError(err) })
  }
})
