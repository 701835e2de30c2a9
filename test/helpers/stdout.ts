/**
 * What code writes to process.stdout while `task` runs, by line and by write call (METRICS_MODE=emf's EMF lines). It replaces
 * process.stdout.write for the whole process: use it in `test.serial` only.
 */
export const captureStdout = async <T>(
  task: () => Promise<T>,
): Promise<{ result: T; lines: string[]; writes: string[] }> => {
  const original = process.stdout.write
  const chunks: string[] = []
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
    const callback = rest.find((r): r is () => void => typeof r === 'function')
    callback?.()
    return true
  }) as typeof process.stdout.write
  try {
    const result = await task()
    return {
      result,
      lines: chunks
        .join('')
        .split('\n')
        .filter((line) => line !== ''),
      writes: chunks,
    }
  } finally {
    process.stdout.write = original
  }
}
