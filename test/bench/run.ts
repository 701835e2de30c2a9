/**
 * `npm run bench` (after `npm run build`): runs each scenario in turn, prints a table per section and writes the
 * same figures to .build/bench.json. Targets are reported (PASS/OVER), never enforced: the exit code is 0 unless a
 * scenario itself could not run.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { printSection, type Scenario, type Section } from './helpers.ts'
import { bulk } from './bulk.bench.ts'
import { bundles } from './bundles.bench.ts'
import { consolePages } from './console.bench.ts'
import { cost } from './cost.bench.ts'
import { generate } from './generate.bench.ts'
import { requestsPerOrder } from './requests.bench.ts'
import { workerCpu } from './worker-cpu.bench.ts'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'

if (process.argv.includes('--help')) {
  console.log(`usage: npm run bench
  Builds the bundles, then measures: AWS requests and DynamoDB write units per order (1,000 orders in one JSONL file,
  validator + worker, stock tracking off and on), worker CPU time per order through the middy chain, and each
  bundle's size and cold start (whole process against an empty node, with and without --enable-source-maps, and
  what each dependency costs at import), bulk intake (a 1,000,000-line JSONL file, a gzipped copy and a 100 MB
  .json array, planned in ranges and read range by range: simulated time at 15 ms per SQS call, peak RSS, parse and
  validate lines per second), the data lake's order generator (200,000 orders: orders per second, bytes per
  order), the console's page bundles (sizes, bundle time), and the cost per million orders (S3 and API paths, stock
  tracking off and on, METRICS_MODE api and emf: requests, write units, GB-seconds and log bytes × test/bench/prices.json).
  Prints a table per section (PASS/OVER next to each target) and writes the figures to .build/bench.json; takes
  5 to 9 minutes on a 2-core machine, with its load (the bulk section 3 to 6, the cost section about 1.5).`)
  process.exit(0)
}

const scenarios: [string, Scenario][] = [
  ['requests', requestsPerOrder],
  ['workerCpu', workerCpu],
  ['bundles', bundles],
  ['bulk', bulk],
  ['generate', generate],
  ['console', consolePages],
  ['cost', cost],
]

const started = performance.now()
const cpu = cpus()[0]?.model ?? 'unknown CPU'
console.log(
  `Order pipeline bench — node ${process.version}, ${process.platform} ${process.arch}, ${cpus().length} × ${cpu}, ${new Date().toISOString()}`,
)

const report: Record<string, unknown> = {
  generatedAt: new Date().toISOString(),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  cpus: cpus().length,
  cpuModel: cpu,
}
let failed = 0
for (const [name, scenario] of scenarios) {
  const t = performance.now()
  let section: Section
  try {
    section = await scenario()
  } catch (err) {
    failed++
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err)
    section = {
      title: `${name}: could not run`,
      lines: message.split('\n').map((l) => `  ${l}`),
      figures: { error: message },
    }
  }
  const seconds = (performance.now() - t) / 1000
  section.lines.push(`  (${seconds.toFixed(1)} s)`)
  printSection(section)
  report[name] = { title: section.title, seconds: Number(seconds.toFixed(1)), ...section.figures }
}

const out = fileURLToPath(new URL('../../.build/bench.json', import.meta.url))
mkdirSync(fileURLToPath(new URL('../../.build/', import.meta.url)), { recursive: true })
report.seconds = Number(((performance.now() - started) / 1000).toFixed(1))
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`)
console.log(
  `\nFigures written to .build/bench.json; bench ran in ${report.seconds} s.${failed > 0 ? ` ${failed} scenario(s) could not run.` : ''}`,
)
process.exitCode = failed > 0 ? 1 : 0
