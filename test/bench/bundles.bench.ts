/**
 * Bundle sizes and cold import time of dist/<function>/index.mjs (built by `npm run build`, which `npm run bench`
 * runs first). Each import is timed in a fresh `node` process with a minimal environment (PATH and the SDK warning
 * switch only: the handlers read their configuration at the first invocation, not at import), next to an empty
 * `node` process.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { gzipSync } from 'node:zlib'
import { fmt, median, round, runIfMain, table, target, type Section } from './helpers.ts'

const N = 5
const TARGET_KB = 500
const dist = fileURLToPath(new URL('../../dist/', import.meta.url))
const env = { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }

/** Runs `node args` in a fresh process: its wall time (ms) and what it printed. */
const node = (args: string[]): { wallMs: number; stdout: string } => {
  const start = performance.now()
  const result = spawnSync(process.execPath, args, { env, encoding: 'utf8' })
  const wallMs = performance.now() - start
  if (result.status !== 0)
    throw new Error(
      `node ${args.join(' ')} exited ${result.status}: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`,
    )
  return { wallMs, stdout: result.stdout }
}

const importScript = (file: string): string =>
  `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(performance.now() - t)`

export const bundles = async (): Promise<Section> => {
  const functions = existsSync(dist)
    ? readdirSync(dist)
        .filter((name) => existsSync(join(dist, name, 'index.mjs')))
        .sort()
    : []
  if (functions.length === 0) throw new Error(`no bundle in ${dist}: run npm run build first`)

  node(['-e', '']) // one untimed start, so that the first timed process does not pay for a cold disk cache
  const emptyWall = median(Array.from({ length: N }, () => node(['-e', '']).wallMs))

  const results = functions.map((name) => {
    const file = join(dist, name, 'index.mjs')
    const bytes = statSync(file).size
    const gzipBytes = gzipSync(readFileSync(file), { level: 9 }).length
    node(['--input-type=module', '-e', importScript(file)]) // untimed: reads the file into the page cache
    const samples = Array.from({ length: N }, () => node(['--input-type=module', '-e', importScript(file)]))
    const sizeKb = bytes / 1024
    const mark = target(sizeKb, TARGET_KB, 'KB')
    return {
      name,
      file: `dist/${name}/index.mjs`,
      sizeKb: round(sizeKb, 1),
      gzipKb: round(gzipBytes / 1024, 1),
      sizeTargetKb: TARGET_KB,
      pass: mark.pass,
      mark: mark.text,
      importMs: round(median(samples.map((s) => Number(s.stdout.trim()))), 1),
      processWallMs: round(median(samples.map((s) => s.wallMs)), 1),
      overEmptyNodeMs: round(median(samples.map((s) => s.wallMs)) - emptyWall, 1),
    }
  })

  const rows = results.map((r) => [
    r.name,
    fmt(r.sizeKb, 0),
    r.mark,
    fmt(r.gzipKb, 0),
    fmt(r.importMs, 1),
    fmt(r.processWallMs, 1),
    `+${fmt(r.overEmptyNodeMs, 1)}`,
  ])
  rows.push(['empty node -e ""', '', '', '', '', fmt(emptyWall, 1), ''])
  return {
    title: '3. Bundles and cold import — dist/<function>/index.mjs (esbuild, minified, SDK bundled)',
    lines: [
      `  size in KB (1 KB = 1,024 bytes; target ≤ ${TARGET_KB} KB minified); import time: median of ${N} fresh node processes, each`,
      '  timing `await import(bundle)` in-process, and the whole process wall time next to an empty node process.',
      '  Environment: PATH and AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true only (no configuration needed at import).',
      '',
      ...table(['function', 'size KB', 'target', 'gzip KB', 'import ms', 'process ms', 'vs empty node ms'], rows),
    ],
    figures: { samples: N, node: process.version, emptyNodeProcessMs: round(emptyWall, 1), bundles: results },
  }
}

await runIfMain(import.meta.url, bundles)
