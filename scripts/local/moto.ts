/** The emulator: a moto server of our own on a free port, started and waited for, or the one already answering. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { openSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** A TCP port nobody listens on now (bind to 0, read it, release it). */
export const freePort = async (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

/** Whether a moto server answers at `endpoint`. */
export const motoAnswers = async (endpoint: string): Promise<boolean> => {
  try {
    return (await fetch(`${endpoint}/moto-api/`)).ok
  } catch {
    return false
  }
}

export interface MotoServer {
  endpoint: string
  /** Set when we started it (stop it with stopProcess). */
  child?: ChildProcess
}

/**
 * scripts/local/moto_server.py: moto_server with transactions that keep only the items they name to roll back, and
 * Step Functions executions that run (their Lambda tasks invoked at MOTO_LAMBDA_ENDPOINT when that is set).
 */
const PATCHED_SERVER = fileURLToPath(new URL('./moto_server.py', import.meta.url))

/**
 * How to run the emulator: the patched moto_server.py with the first Python that has moto (MOTO_PYTHON, python3,
 * python), else moto_server as installed (its transactions then copy whole tables: slower as the table grows).
 * @throws when neither is installed
 */
export const motoCommand = (): { command: string; args: string[]; patched: boolean } => {
  const candidates = [process.env.MOTO_PYTHON, 'python3', 'python'].filter((c): c is string => !!c)
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import moto.server, moto.dynamodb.models.table'], { stdio: 'ignore' })
    if (!probe.error && probe.status === 0) return { command: python, args: [PATCHED_SERVER], patched: true }
  }
  if (!spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).error)
    return { command: 'moto_server', args: [], patched: false }
  throw new Error("moto_server is not installed: pip install 'moto[server]' (Python 3.9 or newer)")
}

/**
 * Starts the emulator on `localhost:PORT` (localhost, not 127.0.0.1: moto resolves nested TemplateURLs only on
 * localhost) with its output in `logFile` (or nowhere), and waits until it answers. `asInstalled`: moto_server
 * itself, without the patch (for tests of what the local tools do on an emulator a user started). `env`: variables
 * for the server's environment on top of ours (MOTO_LAMBDA_ENDPOINT: where its Step Functions invoke Lambda tasks).
 * @throws when moto is not installed, exits, or does not answer within 30 s
 */
export const startMotoServer = async (
  port: number,
  logFile?: string,
  asInstalled = false,
  env: NodeJS.ProcessEnv = {},
): Promise<MotoServer> => {
  const endpoint = `http://localhost:${port}`
  const { command, args, patched } = asInstalled ? { command: 'moto_server', args: [], patched: false } : motoCommand()
  if (!patched && !asInstalled)
    console.warn(
      'moto: no python3 or python here imports moto (set MOTO_PYTHON to the interpreter moto_server runs with): ' +
        'running moto_server as installed, whose transactions slow down as a table grows (scripts/local/moto_server.py)',
    )
  const out = logFile ? openSync(logFile, 'a') : 'ignore'
  const child = spawn(command, [...args, '-H', 'localhost', '-p', String(port)], {
    stdio: ['ignore', out, out],
    env: { ...process.env, ...env },
  })
  // Importing moto takes a few seconds, many more on a loaded machine: up to 30 s, unless the server has exited.
  for (let i = 0; i < 300 && child.exitCode === null && !(await motoAnswers(endpoint)); i++) await sleep(100)
  if (!(await motoAnswers(endpoint))) {
    const exited = child.exitCode !== null ? ` (it exited with code ${child.exitCode})` : ' within 30 s'
    if (child.exitCode === null) child.kill()
    throw new Error(`moto_server did not start on port ${port}${exited}${logFile ? `; see ${logFile}` : ''}`)
  }
  return { endpoint, child }
}
