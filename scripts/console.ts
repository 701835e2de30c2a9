/**
 * npm run console: the web console of a deployment (the local stack or AWS), served on this machine with your own
 * AWS access: the dashboard, the order page and the order form. With --write-form it writes the stand-alone order
 * form for a shop to host instead.
 */
import { join } from 'node:path'
import { Command, Option } from 'commander'
import { isLocalEndpoint } from '../lib/aws/clients.ts'
import { run, withDeploymentOptions } from './cli.ts'
import { pathOption } from './ops/paths.ts'
import { SETTLED, startConsoleServer, type ConsoleServer } from './console/server.ts'
import { openConsole, type ConsoleTarget } from './console/service.ts'
import { consoleAssets, writeForm } from './console/web.ts'
import { stackNameOf } from './stack/deployment.ts'

export interface ConsoleOptions {
  region: string
  endpoint?: string
  profile?: string
  prefix: string
  stackName?: string
  port: number
  apiUrl?: string
  apiKey?: string
  logDir?: string
  writeForm?: string
}

const targetOf = (options: ConsoleOptions): ConsoleTarget => ({
  region: options.region,
  endpoint: options.endpoint,
  profile: options.profile,
  prefix: options.prefix,
  stackName: options.stackName ?? stackNameOf(options.prefix),
  apiUrl: options.apiUrl,
  apiKey: options.apiKey,
  // Locally nothing turns the functions' EMF lines into metrics: read them from the runner's logs.
  logDir: options.logDir ?? (isLocalEndpoint(options.endpoint) ? join('.build', 'local', 'logs') : undefined),
})

/** Starts the console of a deployment; `npm start` calls it too. */
export const startConsole = async (options: ConsoleOptions): Promise<ConsoleServer & { warnings: string[] }> => {
  const c = await openConsole(targetOf(options))
  const server = await startConsoleServer({ console: c, assets: await consoleAssets(), port: options.port }).catch(
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE')
        throw Object.assign(new Error(`port ${options.port} is in use: give another --port (0 takes a free one)`), {
          code: err.code,
        })
      throw err
    },
  )
  return { ...server, warnings: c.warnings }
}

const program = withDeploymentOptions(new Command('console'))
  .description(
    'Serve the web console of a deployment on this machine: dashboard, DLQ replay, stock, order page, order form.',
  )
  .option('--stack-name <name>', 'stack name (default <prefix>-order-pipeline)')
  .addOption(
    new Option('--port <port>', 'port on 127.0.0.1 (0: any free port)')
      .env('CONSOLE_PORT')
      .default(3001)
      .argParser(Number),
  )
  .option(
    '--api-url <url>',
    "the order API's base URL (default: the stack's ApiUrl output; with a local --endpoint, http://localhost:3000)",
  )
  .option('--api-key <key>', "the API key the order form sends (default: the stack's key, read with your access)")
  .addOption(
    new Option(
      '--log-dir <dir>',
      "the local runner's log folder, for the metrics it logged (default .build/local/logs)",
    ).argParser(pathOption('--log-dir')),
  )
  .addOption(
    new Option(
      '--write-form <dir>',
      'write the stand-alone order form (index.html, form.js, style.css, config.json) to <dir> and exit',
    ).argParser(pathOption('--write-form')),
  )
  .addHelpText(
    'after',
    `
The console listens on 127.0.0.1 only and acts with your AWS access (or the local stack's): nothing of it is
deployed. It answers pages of its own only (Host and Origin are checked).

The stand-alone order form calls the API from the shop's pages: deploy with CorsOrigin set to the shop's origin,
then host the folder --write-form wrote (README, "The order form").

Examples:
  npm run console -- --endpoint http://localhost:5000        # the local stack (npm start starts it itself)
  npm run console -- --profile prod --region eu-west-3 --prefix shop
  npm run console -- --profile prod --write-form site/order`,
  )
  .action(async (options: ConsoleOptions) => {
    if (options.writeForm) {
      const c = await openConsole(targetOf(options))
      for (const w of c.warnings) console.error(`console: ${w}`)
      if (!c.apiUrl) throw new Error('no order API known: give --api-url')
      const files = await writeForm(options.writeForm, {
        apiUrl: c.apiUrl,
        apiKey: c.apiKey,
        products: (await c.products()).map(({ available: _available, ...p }) => p),
        settled: c.about().workflow ? SETTLED.workflow : SETTLED.plain,
      })
      console.log(`wrote ${files.join(', ')}`)
      console.log(
        `host the folder at the origin the stack's CorsOrigin names; it calls ${c.apiUrl}` +
          (c.apiKey ? ' with the API key in config.json' : ''),
      )
      return
    }
    const server = await startConsole(options)
    for (const w of server.warnings) console.error(`console: ${w}`)
    console.log(`console: ${server.url}   (Ctrl-C stops it)`)
    await new Promise<void>((resolve) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve())
    })
    await server.close()
  })

if (import.meta.url === `file://${process.argv[1]}`) await run(program)
export { program }
