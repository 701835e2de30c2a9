/**
 * The web console's pages (scripts/console/web.ts): the size of each bundle the server sends, and how long the
 * console takes to bundle them at its start (median of a few builds; the first, cold, untimed).
 */
import { performance } from 'node:perf_hooks'
import { gzipSync } from 'node:zlib'
import { consoleAssets } from '../../scripts/console/web.ts'
import { fmt, median, round, runIfMain, table, type Section } from './helpers.ts'

const N = 3

export const consolePages = async (): Promise<Section> => {
  await consoleAssets()
  const times: number[] = []
  let assets = new Map<string, { body: Buffer }>()
  for (let i = 0; i < N; i++) {
    const start = performance.now()
    assets = await consoleAssets()
    times.push(performance.now() - start)
  }
  const results = [...assets]
    .filter(([path]) => path.endsWith('.js') || path.endsWith('.css'))
    .map(([path, asset]) => ({
      path,
      sizeKb: round(asset.body.length / 1024, 1),
      gzipKb: round(gzipSync(asset.body, { level: 9 }).length / 1024, 1),
    }))
  return {
    title: '6. Console pages — scripts/console/web/ bundled by esbuild at the console start (Preact, Chart.js)',
    lines: [
      `  bundle time: median of ${N} builds after a cold one: ${fmt(median(times), 0)} ms`,
      '',
      ...table(
        ['path', 'size KB', 'gzip KB'],
        results.map((r) => [r.path, fmt(r.sizeKb, 1), fmt(r.gzipKb, 1)]),
      ),
    ],
    figures: { bundleMs: round(median(times), 0), assets: results },
  }
}

await runIfMain(import.meta.url, consolePages)
