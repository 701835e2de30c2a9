/**
 * Bundles each Lambda handler with esbuild into dist/<function>/index.mjs (ESM, node22, minified, source maps,
 * the AWS SDK bundled and tree-shaken from its ES builds, credentials from the environment as Lambda gives them).
 * Prints each bundle's size.
 * Usage: tsx scripts/delivery/build.ts [--help] [--outdir dist]
 *
 * What it does for the cold start (measured by `npm run bench`, "Bundles and cold start"):
 * - the functions run without --enable-source-maps (Node would read and parse a bundle's whole map when it loads
 *   the bundle, 6 to 27 ms of every cold start): the logger maps the stacks it writes, reading index.mjs.map the
 *   first time (lib/runtime/stack.ts);
 * - the source maps carry no `sourcesContent`: names and positions are all a stack trace needs, and a map without
 *   the sources is about a third as large, for that first read and for the package;
 * - the SDK packages' package.json, which each client imports whole for its user agent, is cut to its `version`.
 */
import { build, type BuildOptions, type Plugin } from 'esbuild'
import { readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

export const FUNCTIONS = {
  api: 'handlers/api.ts',
  validator: 'handlers/validator.ts',
  worker: 'handlers/worker.ts',
  generator: 'handlers/generator.ts',
  exporter: 'handlers/exporter.ts',
  workflow: 'handlers/workflow.ts',
} as const

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Lambda gives credentials in the environment: see lib/aws/lambda-credentials.ts. */
const lambdaCredentials: Plugin = {
  name: 'lambda-credentials',
  setup(b) {
    b.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({
      path: join(root, 'lib/aws/lambda-credentials.ts'),
    }))
  },
}

/**
 * Each SDK client imports its package.json whole (2 to 3 KB of scripts, dependencies, keywords) to read `version`
 * for its user agent, the only field any of them reads: the bundle gets `{ "version" }` alone.
 */
const sdkPackageVersion: Plugin = {
  name: 'sdk-package-version',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]@aws-sdk[\\/][^\\/]+[\\/]package\.json$/ }, (args) => {
      const { version } = JSON.parse(readFileSync(args.path, 'utf8')) as { version: string }
      return { contents: JSON.stringify({ version }), loader: 'json' }
    })
  },
}

/** The esbuild options of one function's bundle (also used by the bench to bundle its import probes). */
export const bundleOptions = (entry: string, outfile: string): BuildOptions => ({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: true,
  // Stack traces need names and positions, not the sources: a third of the map to read on the first error.
  sourcesContent: false,
  legalComments: 'none',
  // Some CommonJS dependencies call require(): give the ESM bundle one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  plugins: [lambdaCredentials, sdkPackageVersion],
  logLevel: 'warning',
})

/** Builds every function into `outdir`/<function>/index.mjs and prints each bundle's size. */
export const buildFunctions = async (outdir: string): Promise<void> => {
  for (const [name, entry] of Object.entries(FUNCTIONS)) {
    const outfile = join(resolve(root, outdir), name, 'index.mjs')
    await build(bundleOptions(join(root, entry), outfile))
    console.log(
      `${name.padEnd(10)} ${relative(process.cwd(), outfile)}  ${(statSync(outfile).size / 1024).toFixed(0)} KB`,
    )
  }
}

if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const { values } = parseArgs({ options: { help: { type: 'boolean' }, outdir: { type: 'string', default: 'dist' } } })
  if (values.help) {
    console.log(
      'usage: npm run build [-- --outdir DIR]\n  Bundles handlers/{api,validator,worker,generator,exporter,workflow}.ts into DIR/<function>/index.mjs (default dist).',
    )
    process.exit(0)
  }
  await buildFunctions(values.outdir)
}
