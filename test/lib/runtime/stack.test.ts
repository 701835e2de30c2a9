import test from 'ava'
import { build } from 'esbuild'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pathToFileURL } from 'node:url'
import { bundleOptions } from '../../../scripts/delivery/build.ts'
import { createLogger } from '../../../lib/runtime/logger.ts'
import { mappedStack } from '../../../lib/runtime/stack.ts'

/** A module that throws from its line 4, column 9 (`new Error`), bundled as the functions are: minified, mapped. */
const THROWER = [
  '// the thrower',
  'export const pay = (amount: number): never => {',
  '  const cents = amount * 100',
  '  throw new Error(`payment of ${cents} refused`)',
  '}',
  '',
].join('\n')

const dir = mkdtempSync(join(tmpdir(), 'stack-test-'))
const bundle = join(dir, 'index.mjs')
test.after.always(() => {
  rmSync(dir, { recursive: true, force: true })
})

/**
 * The bundle's error as a function's process sees it: thrown by the minified code in a fresh node without
 * --enable-source-maps (this test's own process has source maps on, as tsx runs it), its message and raw stack.
 */
const thrown = async (): Promise<Error> => {
  const { entryPoints: _, ...options } = bundleOptions('', bundle)
  await build({
    ...options,
    stdin: { contents: THROWER, resolveDir: dir, loader: 'ts', sourcefile: 'payments/thrower.ts' },
  })
  const script = `try { (await import(${JSON.stringify(pathToFileURL(bundle).href)})).pay(12) } catch (err) { process.stdout.write(err.stack) }`
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  })
  const err = new Error('payment of 1200 refused')
  err.stack = child.stdout
  return err
}

test('a frame in a minified bundle is mapped to the TypeScript file, line and column, the others are kept', async (t) => {
  // Prepare
  const err = await thrown()
  t.regex(err.stack ?? '', /index\.mjs:\d+:\d+/, 'the raw stack points into the minified bundle')
  // Act
  const stack = mappedStack(err.stack ?? '')
  // Assess
  const lines = stack.split('\n')
  t.is(lines[0], 'Error: payment of 1200 refused')
  t.regex(lines[1] ?? '', /^ {4}at .*\(payments\/thrower\.ts:4:9\)$/)
  t.false(stack.includes('index.mjs'), `no frame is left in the bundle: ${stack}`)
  t.is(lines.length, (err.stack ?? '').split('\n').length, 'no frame is lost')
  // the frame outside the bundle (the caller's script) is left as it was
  const caller = (err.stack ?? '').split('\n').find((line) => line.includes('[eval1]'))
  t.truthy(caller)
  t.true(lines.includes(caller!))
})

test('a stack without a bundle frame, an unreadable map and a hostile line come back unchanged', (t) => {
  // Prepare
  const plain = 'Error: boom\n    at run (node:internal/process/task_queues:95:5)\n    at /tmp/no-such-bundle.mjs:1:500'
  const hostile = `Error: x\n    at ${'('.repeat(5_000)}/a.mjs:1:1)`
  // Act, Assess
  t.is(mappedStack(plain), plain)
  t.is(mappedStack(hostile), hostile)
  t.is(mappedStack(''), '')
})

test('an error the logger serializes carries the mapped stack', async (t) => {
  // Prepare
  const err = await thrown()
  const lines: string[] = []
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      lines.push(String(chunk))
      callback()
    },
  })
  const log = createLogger({ name: 'tp-order-worker', level: 'info', destination })
  // Act
  log.error({ err }, 'payment failed')
  // Assess
  t.is(lines.length, 1, `one line: ${lines.join('')}`)
  const line = JSON.parse(lines[0] ?? '{}') as { err?: { type?: string; message?: string; stack?: string } }
  t.is(line.err?.type, 'Error')
  t.is(line.err?.message, 'payment of 1200 refused')
  t.regex(line.err?.stack ?? '', /\(payments\/thrower\.ts:4:9\)/)
})
