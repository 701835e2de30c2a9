/** The emulator: a moto server of our own on a free port, started and waited for, or the one already answering. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { openSync } from 'node:fs'
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
 * Starts `moto_server -H localhost -p PORT` (localhost, not 127.0.0.1: moto resolves nested TemplateURLs only on
 * localhost) with its output in `logFile` (or nowhere), and waits until it answers.
 * @throws when moto_server is not installed, or does not answer within 10 s
 */
export const startMotoServer = async (port: number, logFile?: string): Promise<MotoServer> => {
  const endpoint = `http://localhost:${port}`
  if (spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).error) {
    throw new Error("moto_server is not installed: pip install 'moto[server]' (Python 3.9 or newer)")
  }
  const out = logFile ? openSync(logFile, 'a') : 'ignore'
  const child = spawn('moto_server', ['-H', 'localhost', '-p', String(port)], { stdio: ['ignore', out, out] })
  for (let i = 0; i < 100 && !(await motoAnswers(endpoint)); i++) await sleep(100)
  if (!(await motoAnswers(endpoint)))
    throw new Error(`moto_server did not start on port ${port}${logFile ? ` (see ${logFile})` : ''}`)
  return { endpoint, child }
}
