/**
 * npm start: the local stack. Starts moto on localhost (unless one answers already), deploys the packaged nested
 * stacks to it with scripts/deploy.sh, runs the deployed functions with the local runner (queues polled with
 * Lambda's semantics, the API served on a local port), runs the demo and prints its report, then keeps serving
 * until Ctrl-C. With --once it exits after the report: 0 when every order got the outcome it must get.
 *
 * While the stack is up, .build/local/stack.json (stack/local-state.ts) says where it is, so that the operations
 * commands find it without --endpoint; it is removed when npm start stops.
 */
import { mkdirSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command, Option } from 'commander'
import { DEMO_WORKFLOW, OutcomeLog, runDemo } from './local/demo.ts'
import { runWorkflowDemo } from './local/workflow-demo.ts'
import { runLakeDemo } from './local/lake-demo.ts'
import { deployToEmulator } from './local/deploy.ts'
import { freePort, motoAnswers, startMotoServer, type MotoServer } from './local/moto.ts'
import { stopProcess } from './local/process.ts'
import { startRunner } from './local/runner.ts'
import { stackNameOf } from './stack/deployment.ts'
import { localStateFile, removeLocalState, writeLocalState } from './stack/local-state.ts'
import { startConsole } from './console.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

interface StartOptions {
  port: number
  apiPort: number
  lambdaPort?: number
  prefix: string
  stage: string
  region: string
  stackName?: string
  once?: boolean
  demo: boolean
  lake: boolean
  reset?: boolean
  verbose?: boolean
  build: boolean
  console: boolean
  consolePort: number
}

/**
 * A moto server on localhost:port: the one that answers, else a new one (stopped with us) whose Step Functions
 * send their Lambda tasks to the runner at `lambdaPort`.
 */
const ensureMoto = async (port: number, logFile: string, lambdaPort: number): Promise<MotoServer> => {
  const endpoint = `http://localhost:${port}`
  return (await motoAnswers(endpoint))
    ? { endpoint }
    : startMotoServer(port, logFile, false, { MOTO_LAMBDA_ENDPOINT: `http://localhost:${lambdaPort}` })
}

const step = (text: string) => console.log(`\n▶ ${text}`)

const program = new Command('start')
  .description('Run the order pipeline locally: moto + the deployed stacks + the local runner, then the demo.')
  .addOption(new Option('--port <port>', 'moto port').env('MOTO_PORT').default(5000).argParser(Number))
  .addOption(new Option('--api-port <port>', 'port of the local API').env('API_PORT').default(3000).argParser(Number))
  .addOption(
    new Option(
      '--lambda-port <port>',
      "where the runner answers the emulator's Lambda tasks (the MOTO_LAMBDA_ENDPOINT of an emulator you started; default: a free port, for the emulator npm start starts)",
    ).argParser(Number),
  )
  .addOption(new Option('--prefix <prefix>', 'name prefix of the deployment').default('tp'))
  .addOption(new Option('--stage <stage>', 'Stage parameter (metrics dimension)').default('local'))
  .addOption(new Option('--region <region>', 'region').default('eu-west-3'))
  .option('--stack-name <name>', 'stack name (default <prefix>-order-pipeline)')
  .option('--once', 'exit after the demo: 0 when every outcome matched, 1 otherwise')
  .option('--no-demo', 'deploy and serve, without the demo')
  .option('--no-lake', 'the demo without its data-lake step (1,000 generated orders through raw/ to processed/)')
  .option('--reset', 'wipe the emulator first (all its stacks and data)')
  .option('--verbose', "print the functions' log lines")
  .option('--no-build', 'deploy the bundles already in dist/')
  .addOption(
    new Option('--console-port <port>', 'port of the web console on 127.0.0.1 (taken: a free one)')
      .env('CONSOLE_PORT')
      .default(3001)
      .argParser(Number),
  )
  .option('--no-console', 'without the web console (npm run console starts it on its own)')
  .action(async (options: StartOptions) => {
    const workDir = join(root, '.build', 'local')
    mkdirSync(workDir, { recursive: true })
    const stackName = options.stackName ?? stackNameOf(options.prefix)

    step(`moto on localhost:${options.port}`)
    const lambdaPort = options.lambdaPort ?? (await freePort())
    const moto = await ensureMoto(options.port, join(workDir, 'moto.log'), lambdaPort)
    // The runner answers the emulator's Lambda tasks when the emulator sends them to it: ours, or one started with
    // MOTO_LAMBDA_ENDPOINT at --lambda-port.
    const tasksAnswered = moto.child !== undefined || options.lambdaPort !== undefined
    console.log(
      moto.child
        ? `started moto_server (log: .build/local/moto.log)`
        : `using the moto server already running at ${moto.endpoint}${tasksAnswered ? '' : " (without --lambda-port its state machines cannot run the workflow's tasks)"}`,
    )
    if (options.reset) await fetch(`${moto.endpoint}/moto-api/reset`, { method: 'POST' })

    step(`deploying ${stackName} with scripts/deploy.sh`)
    const started = Date.now()
    await deployToEmulator({
      endpoint: moto.endpoint,
      prefix: options.prefix,
      stage: options.stage,
      region: options.region,
      stackName,
      build: options.build,
      inherit: true,
    })
    console.log(`deployed in ${((Date.now() - started) / 1000).toFixed(1)} s`)

    step('starting the local runner')
    const outcomes = new OutcomeLog()
    const runner = await startRunner({
      endpoint: moto.endpoint,
      region: options.region,
      stackName,
      prefix: options.prefix,
      stage: options.stage,
      apiPort: options.apiPort,
      lambdaPort: tasksAnswered ? lambdaPort : undefined,
      workDir,
      onLog: (fn, line) => {
        outcomes.record(fn, line)
        if (options.verbose) console.log(`[${fn}] ${line}`)
      },
    })
    const d = runner.deployment
    for (const m of runner.mappings)
      console.log(`polling ${m.queueUrl.split('/').pop()} → ${m.functionName} (batch size ${m.batchSize})`)
    for (const m of runner.streams)
      console.log(`reading the table's stream → ${m.functionName} (batch size ${m.batchSize})`)
    if (d.stateMachineArn && tasksAnswered)
      console.log(
        `state machine ${d.stateMachineArn.split(':').pop()}: its Lambda tasks answered on port ${lambdaPort}`,
      )
    console.log(`API: ${runner.routes.map((r) => `${r.method} ${runner.apiUrl}${r.resource}`).join(', ')}`)

    // The console before the demo, so that the dashboard shows the demo's orders as they go.
    let consoleServer: Awaited<ReturnType<typeof startConsole>> | undefined
    if (options.console) {
      const consoleOptions = {
        endpoint: moto.endpoint,
        region: options.region,
        prefix: options.prefix,
        stackName,
        apiUrl: runner.apiUrl,
        logDir: runner.logDir,
      }
      consoleServer = await startConsole({ ...consoleOptions, port: options.consolePort }).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
        return startConsole({ ...consoleOptions, port: 0 })
      })
      console.log(`console: ${consoleServer.url}  (dashboard, DLQ replay, stock, order page, order form)`)
    }

    // From here on the commands find the stack by themselves (cli.ts); the file goes when this process does.
    const stateFile = localStateFile()
    writeLocalState(
      {
        endpoint: moto.endpoint,
        prefix: options.prefix,
        region: options.region,
        stackName,
        stage: options.stage,
        apiUrl: runner.apiUrl,
        ...(consoleServer ? { consoleUrl: consoleServer.url } : {}),
        logDir: runner.logDir,
        pid: process.pid,
        startedAt: new Date().toISOString(),
      },
      stateFile,
    )
    process.once('exit', () => removeLocalState(stateFile))

    let ok = true
    if (options.demo) {
      step('demo')
      ok = await runDemo({
        deployment: d,
        apiUrl: runner.apiUrl,
        endpoint: moto.endpoint,
        region: options.region,
        stage: options.stage,
        metricsNamespace: process.env.METRICS_NAMESPACE ?? 'OrderPipeline',
        log: outcomes,
        logDir: runner.logDir,
      })
      if (d.stateMachineArn && tasksAnswered) {
        step('demo: the order workflow')
        const workflow = await runWorkflowDemo({
          deployment: { ...d, stateMachineArn: d.stateMachineArn },
          endpoint: moto.endpoint,
          region: options.region,
          stage: options.stage,
          metricsNamespace: process.env.METRICS_NAMESPACE ?? 'OrderPipeline',
          logDir: runner.logDir,
          orders: DEMO_WORKFLOW,
        })
        ok = ok && workflow
      }
      if (options.lake && d.functions.exporter) {
        step('demo: the data lake')
        const lake = await runLakeDemo({
          deployment: d,
          log: outcomes,
          endpoint: moto.endpoint,
          region: options.region,
        })
        ok = ok && lake.ok
      }
    }

    const stop = async () => {
      removeLocalState(stateFile)
      await consoleServer?.close()
      await runner.stop()
      await stopProcess(moto.child)
    }
    if (options.once) {
      await stop()
      process.exitCode = ok ? 0 : 1
      return
    }
    console.log(`
The local stack is up (Ctrl-C stops it):
  console      ${consoleServer?.url ?? '(off: --no-console)'}
  API          ${runner.apiUrl}/orders     e.g. curl -s -XPOST ${runner.apiUrl}/orders -H 'content-type: application/json' -d @schemas/examples/api-create-order.json
  emulator     ${moto.endpoint}            e.g. aws --endpoint-url ${moto.endpoint} s3 cp order.json s3://${d.bucket}/orders/
  table        ${d.table}      queues ${d.prefix}-orders-{main,main-dlq,ingest,ingest-dlq}
  logs         .build/local/logs/
  commands     npm run status, scan, send, redrive, ... find this stack by themselves (npm run help lists them)`)
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        console.log('\nstopping')
        void stop().then(() => process.exit(0))
      })
    }
  })

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    await program.parseAsync()
  } catch (err) {
    console.error(`start: ${(err as Error).message}`)
    process.exitCode = 1
  }
}
export { program }
