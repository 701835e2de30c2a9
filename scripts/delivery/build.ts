/**
 * Bundles each Lambda handler with esbuild into dist/<function>/index.mjs (ESM, node22, minified, source maps,
 * the AWS SDK bundled and tree-shaken from its ES builds, credentials from the environment as Lambda gives them).
 * Prints each bundle's size.
 * Usage: tsx scripts/delivery/build.ts [--help] [--outdir dist]
 */
import { build, type Plugin } from 'esbuild'
import { statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
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
const { values } = parseArgs({ options: { help: { type: 'boolean' }, outdir: { type: 'string', default: 'dist' } } })
if (values.help) {
  console.log(
    'usage: npm run build [-- --outdir DIR]\n  Bundles handlers/{api,validator,worker,generator,exporter,workflow}.ts into DIR/<function>/index.mjs (default dist).',
  )
  process.exit(0)
}

/** Lambda gives credentials in the environment: see lib/aws/lambda-credentials.ts. */
const lambdaCredentials: Plugin = {
  name: 'lambda-credentials',
  setup(b) {
    b.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({
      path: join(root, 'lib/aws/lambda-credentials.ts'),
    }))
  },
}

for (const [name, entry] of Object.entries(FUNCTIONS)) {
  const outfile = join(resolve(root, values.outdir), name, 'index.mjs')
  await build({
    entryPoints: [join(root, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: true,
    legalComments: 'none',
    // Some CommonJS dependencies call require(): give the ESM bundle one.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    plugins: [lambdaCredentials],
    logLevel: 'warning',
  })
  console.log(
    `${name.padEnd(10)} ${relative(process.cwd(), outfile)}  ${(statSync(outfile).size / 1024).toFixed(0)} KB`,
  )
}
