/**
 * Bundle sizes and cold start of dist/<function>/index.mjs (built by `npm run build`, which `npm run bench` runs
 * first). The cold start is a whole process: a fresh `node` that imports the bundle (the Lambda runtime imports it
 * so), its wall time against an empty `node -e ''` started in the same loop, run after run interleaved so that the
 * machine's load falls on both alike, the median of N; once as here (as the templates deploy the functions) and once
 * with --enable-source-maps, what Node's own mapping of stacks would add to each cold start (the functions map the
 * stacks they log instead: lib/runtime/stack.ts). The environment is PATH and the SDK warning switch only: the
 * handlers read their configuration at the first invocation, not at import.
 *
 * Then what the import costs, dependency by dependency: small probe bundles (the build's own esbuild options,
 * scripts/delivery/build.ts) of one part each of what the worker imports, timed the same way. The parts share
 * Node's built-in modules, so their costs do not add up to a bundle's.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { bundleOptions } from '../../scripts/delivery/build.ts'
import { fmt, median, round, runIfMain, table, target, type Section } from './helpers.ts'

const N = 11
const TARGET_KB = 500
/** Target: a bundle's cold process at most this many times an empty node process. */
const TARGET_RATIO = 2
const dist = fileURLToPath(new URL('../../dist/', import.meta.url))
const root = fileURLToPath(new URL('../../', import.meta.url))
const env = { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }
const SOURCE_MAPS = '--enable-source-maps'

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

/** A fresh node importing `file` as the Lambda runtime does; it prints the import's own time, ms. */
const importArgs = (file: string, flags: string[] = []): string[] => [
  ...flags,
  '--input-type=module',
  '-e',
  `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(performance.now() - t)`,
]

interface Timed {
  label: string
  args: string[]
  walls: number[]
  imports: number[]
}

/** Every process of `jobs` once per round, with an empty node first in each round; N rounds. */
const interleaved = (jobs: Timed[]): number[] => {
  const empty: number[] = []
  node(['-e', '']) // untimed: the node binary into the page cache
  for (const job of jobs) node(job.args) // untimed: each bundle into the page cache
  for (let i = 0; i < N; i++) {
    empty.push(node(['-e', '']).wallMs)
    for (const job of jobs) {
      const { wallMs, stdout } = node(job.args)
      job.walls.push(wallMs)
      job.imports.push(Number(stdout.trim()))
    }
  }
  return empty
}

/** What the worker imports, part by part (each re-exported, so that esbuild keeps it). */
const PROBES: [string, string][] = [
  ['an empty ES module (the ES module loader alone)', 'export {}'],
  ["node:https (the SDK's HTTP handler)", "export { Agent } from 'node:https'"],
  ['lib/runtime/logger.ts (pino, its instance)', "export { logger } from './lib/runtime/logger.ts'"],
  [
    '@middy/core + error-logger + sqs-partial-batch-failure',
    "export { default as middy } from '@middy/core'\nexport { default as e } from '@middy/error-logger'\nexport { default as s } from '@middy/sqs-partial-batch-failure'",
  ],
  [
    'lib/orders (validation, generated validators, hashes)',
    "export { checkCanonical } from './lib/orders/validate.ts'\nexport { orderHash } from './lib/orders/order.ts'",
  ],
  ['AWS SDK: core + DynamoDB (document client)', "export { dynamoClient } from './lib/aws/clients.ts'"],
  [
    "AWS SDK: the worker's 4 clients (DynamoDB, SQS, SNS, CloudWatch)",
    "export { dynamoClient, sqsClient, snsClient, cloudWatchClient } from './lib/aws/clients.ts'",
  ],
]

const buildProbes = async (dir: string): Promise<{ label: string; file: string; kb: number }[]> => {
  const probes = []
  for (const [i, [label, contents]] of PROBES.entries()) {
    const file = join(dir, `probe-${i}`, 'index.mjs')
    const { entryPoints: _, ...options } = bundleOptions('', file)
    await build({
      ...options,
      sourcemap: false,
      stdin: { contents, resolveDir: root, loader: 'ts', sourcefile: `probe-${i}.ts` },
    })
    probes.push({ label, file, kb: statSync(file).size / 1024 })
  }
  return probes
}

export const bundles = async (): Promise<Section> => {
  const functions = existsSync(dist)
    ? readdirSync(dist)
        .filter((name) => existsSync(join(dist, name, 'index.mjs')))
        .sort()
    : []
  if (functions.length === 0) throw new Error(`no bundle in ${dist}: run npm run build first`)

  const jobs = functions.flatMap((name): Timed[] => {
    const file = join(dist, name, 'index.mjs')
    return [
      { label: name, args: importArgs(file), walls: [], imports: [] },
      { label: `${name} ${SOURCE_MAPS}`, args: importArgs(file, [SOURCE_MAPS]), walls: [], imports: [] },
    ]
  })
  const emptyWalls = interleaved(jobs)
  const emptyWall = median(emptyWalls)
  const job = (label: string) => jobs.find((j) => j.label === label)!

  const results = functions.map((name) => {
    const file = join(dist, name, 'index.mjs')
    const bytes = statSync(file).size
    const mapBytes = existsSync(`${file}.map`) ? statSync(`${file}.map`).size : 0
    const gzipBytes = gzipSync(readFileSync(file), { level: 9 }).length
    const sizeKb = bytes / 1024
    const mark = target(sizeKb, TARGET_KB, 'KB')
    const plain = job(name)
    const mapped = job(`${name} ${SOURCE_MAPS}`)
    const processWallMs = median(plain.walls)
    const withSourceMapsMs = median(mapped.walls)
    const ratio = processWallMs / emptyWall
    const coldMark = target(ratio, TARGET_RATIO, '× empty node')
    return {
      name,
      file: `dist/${name}/index.mjs`,
      sizeKb: round(sizeKb, 1),
      gzipKb: round(gzipBytes / 1024, 1),
      mapKb: round(mapBytes / 1024, 1),
      sizeTargetKb: TARGET_KB,
      pass: mark.pass,
      mark: mark.text,
      importMs: round(median(plain.imports), 1),
      processWallMs: round(processWallMs, 1),
      overEmptyNodeMs: round(processWallMs - emptyWall, 1),
      coldStart: {
        processMs: round(processWallMs, 1),
        emptyNodeMs: round(emptyWall, 1),
        ratio: round(ratio, 2),
        targetRatio: TARGET_RATIO,
        pass: coldMark.pass,
        withSourceMapsMs: round(withSourceMapsMs, 1),
        withSourceMapsRatio: round(withSourceMapsMs / emptyWall, 2),
        withSourceMapsPass: withSourceMapsMs / emptyWall <= TARGET_RATIO,
      },
    }
  })

  const probeDir = mkdtempSync(join(tmpdir(), 'bench-probes-'))
  let probes: { label: string; kb: number; processMs: number; overEmptyMs: number; importMs: number }[]
  let probeEmpty: number
  try {
    const built = await buildProbes(probeDir)
    const probeJobs = built.map((p): Timed => ({ label: p.label, args: importArgs(p.file), walls: [], imports: [] }))
    probeEmpty = median(interleaved(probeJobs))
    probes = built.map((p, i) => ({
      label: p.label,
      kb: round(p.kb, 1),
      processMs: round(median(probeJobs[i]!.walls), 1),
      overEmptyMs: round(median(probeJobs[i]!.walls) - probeEmpty, 1),
      importMs: round(median(probeJobs[i]!.imports), 1),
    }))
  } finally {
    rmSync(probeDir, { recursive: true, force: true })
  }

  const rows = results.map((r) => [
    r.name,
    fmt(r.sizeKb, 0),
    r.mark,
    fmt(r.gzipKb, 0),
    fmt(r.importMs, 1),
    fmt(r.coldStart.processMs, 1),
    `${fmt(r.coldStart.ratio, 2)}×`,
    `${fmt(r.coldStart.withSourceMapsMs, 1)} (${fmt(r.coldStart.withSourceMapsRatio, 2)}×)`,
    `≤ ${TARGET_RATIO}× ${r.coldStart.pass ? 'PASS' : 'OVER'}`,
  ])
  rows.push(['empty node -e ""', '', '', '', '', fmt(emptyWall, 1), '1.00×', '', ''])
  const probeRows = probes.map((p) => [
    p.label,
    fmt(p.kb, 0),
    fmt(p.importMs, 1),
    fmt(p.processMs, 1),
    `+${fmt(p.overEmptyMs, 1)}`,
    `${fmt(p.processMs / probeEmpty, 2)}×`,
  ])
  probeRows.push(['empty node -e ""', '', '', fmt(probeEmpty, 1), '', '1.00×'])
  return {
    title: '3. Bundles and cold start — dist/<function>/index.mjs (esbuild, minified, SDK bundled)',
    lines: [
      `  size in KB (1 KB = 1,024 bytes; target ≤ ${TARGET_KB} KB minified). Cold start: a fresh node importing the bundle, whole`,
      `  process wall time, median of ${N}, each round beside an empty \`node -e ''\` (interleaved); "import ms": the import alone,`,
      `  timed inside the process. Target: ≤ ${TARGET_RATIO}× the empty process. Again with ${SOURCE_MAPS} (not deployed: Node`,
      "  would read and parse the bundle's source map at load; the logger maps the stacks it writes). Environment: PATH and",
      '  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true only (no configuration needed at import).',
      '',
      ...table(
        [
          'function',
          'size KB',
          'target',
          'gzip KB',
          'import ms',
          'process ms',
          'vs empty',
          `${SOURCE_MAPS} ms`,
          'cold start target',
        ],
        rows,
      ),
      '',
      "  What the import costs, part by part: probe bundles of what the worker imports (the build's esbuild options), timed",
      '  the same way (they share built-in modules: the parts do not add up to a bundle):',
      '',
      ...table(['probe', 'KB', 'import ms', 'process ms', 'vs empty ms', 'vs empty'], probeRows),
    ],
    figures: {
      samples: N,
      node: process.version,
      emptyNodeProcessMs: round(emptyWall, 1),
      bundles: results,
      coldStart: {
        method: `fresh node --input-type=module -e "await import(bundle)", whole process wall time, median of ${N}, interleaved with node -e ''; again with ${SOURCE_MAPS}`,
        emptyNodeMs: round(emptyWall, 1),
        targetRatio: TARGET_RATIO,
        pass: results.every((r) => r.coldStart.pass),
        byBundle: Object.fromEntries(results.map((r) => [r.name, r.coldStart])),
      },
      importProbes: { emptyNodeMs: round(probeEmpty, 1), probes },
    },
  }
}

await runIfMain(import.meta.url, bundles)
