/** Child processes of the local stack (the emulator, the function instances), stopped without leaving one behind. */
import type { ChildProcess } from 'node:child_process'

/** Asks a process to stop (SIGTERM) and waits until it has exited; after `graceMs` it is killed (SIGKILL). */
export const stopProcess = async (child: ChildProcess | undefined, graceMs = 5000): Promise<void> => {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}
