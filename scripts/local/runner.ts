/**
 * The local runner: what Lambda and API Gateway do on AWS, done for a stack deployed to moto (which stores the
 * functions but cannot run them without Docker). It reads the deployed functions back from the emulator (code,
 * handler, environment, timeout), their event source mappings and the API's routes, then runs the same bundles
 * in Node.js processes of their own, polls each mapped queue with Lambda's semantics, and serves the API. It plays
 * CloudWatch Logs' part too: the metrics the functions write to their output in Embedded Metric Format
 * (METRICS_MODE=emf, taken from the deployed environment like every other variable) are put on the emulator
 * (scripts/local/emf.ts).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Server } from 'node:http'
import { unzipSync } from 'fflate'
import { GetResourcesCommand } from '@aws-sdk/client-api-gateway'
import { GetFunctionCommand, ListEventSourceMappingsCommand } from '@aws-sdk/client-lambda'
import { GetObjectCommand, ListBucketsCommand, type S3Client } from '@aws-sdk/client-s3'
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs'
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams'
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { loadTemplate } from '../stack/template.ts'
import type { APIGatewayProxyEvent, SQSEvent } from 'aws-lambda'
import { LambdaHost, type FunctionSpec } from './lambda-host.ts'
import { pollQueue } from './poller.ts'
import { pollStream } from './stream-poller.ts'
import { startApiServer, type Route } from './api-server.ts'
import { startLambdaApi } from './lambda-api.ts'
import { emfForwarder } from './emf.ts'
import { describeDeployment, listResources, type Deployment } from '../stack/deployment.ts'
import {
  sqsClient,
  s3Client,
  cloudFormationClient,
  lambdaClient,
  apiGatewayClient,
  clientConfig,
  cloudWatchClient,
} from '../../lib/aws/clients.ts'

export interface RunnerOptions {
  endpoint: string
  /** Where the functions send their requests (default `endpoint`): the chaos run puts its fault proxy here. */
  functionEndpoint?: string
  region: string
  stackName: string
  prefix: string
  stage: string
  apiPort: number
  /**
   * Where to answer Lambda Invoke calls (the emulator's Step Functions tasks): the port of the MOTO_LAMBDA_ENDPOINT
   * the emulator was started with. Without it, no state machine task can run.
   */
  lambdaPort?: number
  /** Where code is unpacked and function logs are written (default .build/local). */
  workDir: string
  onLog?: (fn: string, line: string) => void
  onBatch?: (fn: string, report: { received: number; deleted: number; failed: number; error?: Error }) => void
}

export interface Runner {
  deployment: Deployment
  apiUrl: string
  mappings: { functionName: string; queueUrl: string; batchSize: number }[]
  /** The functions the runner feeds from the table's stream. */
  streams: { functionName: string; batchSize: number }[]
  routes: Route[]
  logDir: string
  invoke: (functionName: string, event: unknown) => Promise<unknown>
  /** Kills a function's running process, as a sandbox that dies: its invocation fails, the next one starts anew. */
  crash: (functionName: string) => boolean
  /** Resolves once the EMF metrics the functions have written so far are on the emulator. */
  metricsSettled: () => Promise<void>
  stop: () => Promise<void>
}

/**
 * The functions fed by the table's stream, and the template of each one's mapping: the local stack leaves the
 * mappings out (moto takes a mapped stream's records for a function it cannot run, and drops them) and plays each
 * here, with its filter and batch size.
 */
const STREAM_FUNCTIONS = [
  { key: 'exporter', template: 'export.yaml', mapping: 'ExporterMapping' },
  { key: 'workflowStarter', template: 'workflow.yaml', mapping: 'StarterMapping' },
] as const

const templateFile = (name: string): string => fileURLToPath(new URL(`../../cloudformation/${name}`, import.meta.url))

/** The deployed code package: its key from the function's Code.Location, found among the emulator's buckets. */

const downloadCode = async (s3: S3Client, location: string): Promise<Uint8Array> => {
  const key = decodeURIComponent(new URL(location).pathname.slice(1))
  const { Buckets = [] } = await s3.send(new ListBucketsCommand({}))
  for (const { Name } of Buckets) {
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: Name, Key: key }))
      return await object.Body!.transformToByteArray()
    } catch {
      // not in this bucket
    }
  }
  throw new Error(`code package ${key} not found in the emulator's buckets`)
}

const unpack = (zip: Uint8Array, dir: string): void => {
  rmSync(dir, { recursive: true, force: true })
  for (const [name, data] of Object.entries(unzipSync(zip))) {
    if (name.endsWith('/')) continue
    const file = join(dir, name)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, data)
  }
}

export const startRunner = async (options: RunnerOptions): Promise<Runner> => {
  const cfn = cloudFormationClient(options)
  const lambda = lambdaClient(options)
  const s3 = s3Client(options)
  const sqs = sqsClient(options)
  const apigateway = apiGatewayClient(options)
  const dynamo = new DynamoDBClient(clientConfig(options))
  // The functions get credentials in their environment, as Lambda gives them: any will do for the emulator.
  const credentials = {
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
  }

  const deployment = describeDeployment(await listResources(cfn, options.stackName), options.prefix, options.region)
  const logDir = join(options.workDir, 'logs')
  mkdirSync(logDir, { recursive: true })

  // EMF lines become PutMetricData on the emulator itself (options.endpoint, never a chaos run's fault proxy: on AWS
  // CloudWatch Logs extracts them, whatever the function's own requests meet).
  const metrics = emfForwarder(cloudWatchClient(options))
  const hosts = new Map<string, LambdaHost>()
  for (const name of Object.values(deployment.functions).filter((n): n is string => n !== undefined)) {
    const fn = await lambda.send(new GetFunctionCommand({ FunctionName: name }))
    const conf = fn.Configuration!
    const dir = join(options.workDir, 'functions', name)
    unpack(await downloadCode(s3, fn.Code!.Location!), dir)
    const spec: FunctionSpec = {
      name,
      dir,
      handler: conf.Handler ?? 'index.handler',
      timeoutSeconds: conf.Timeout ?? 3,
      memoryMb: conf.MemorySize,
      env: {
        ...(conf.Environment?.Variables ?? {}),
        AWS_REGION: options.region,
        AWS_DEFAULT_REGION: options.region,
        AWS_ENDPOINT_URL: options.functionEndpoint ?? options.endpoint,
        ...credentials,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        // A failed transaction puts back the items it named as they were before it (scripts/local/moto_server.py),
        // undoing a concurrent transaction's write to the same stock item: on the emulator, one order at a time.
        WORKER_CONCURRENCY: '1',
      },
    }
    const host = new LambdaHost(spec, join(logDir, `${name}.log`))
    host.on('log', metrics.line)
    if (options.onLog) host.on('log', options.onLog)
    hosts.set(name, host)
  }
  const invoke = async (functionName: string, event: unknown): Promise<unknown> => {
    const host = hosts.get(functionName)
    if (!host) throw new Error(`no function ${functionName} in the stack`)
    return host.invoke(event)
  }

  const abort = new AbortController()
  const mappings: Runner['mappings'] = []
  const streams: Runner['streams'] = []
  const polling: Promise<void>[] = []
  for (const name of hosts.keys()) {
    const { EventSourceMappings = [] } = await lambda.send(new ListEventSourceMappingsCommand({ FunctionName: name }))
    for (const esm of EventSourceMappings) {
      if (!esm.EventSourceArn?.startsWith('arn:aws:sqs:')) continue
      const queueName = esm.EventSourceArn.split(':').pop()!
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }))
      const batchSize = esm.BatchSize ?? 10
      mappings.push({ functionName: name, queueUrl: QueueUrl!, batchSize })
      polling.push(
        pollQueue(
          {
            sqs,
            queueUrl: QueueUrl!,
            queueArn: esm.EventSourceArn,
            region: options.region,
            batchSize,
            invoke: async (event: SQSEvent) => invoke(name, event),
            onBatch: (report) => options.onBatch?.(name, report),
          },
          abort.signal,
        ),
      )
    }
  }

  // The stream mappings the local stack leaves out (STREAM_FUNCTIONS), each played with its template's filter.
  const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: deployment.table }))
  for (const source of STREAM_FUNCTIONS) {
    const name = deployment.functions[source.key]
    if (!name || !hosts.has(name) || !Table?.LatestStreamArn) continue
    const mapping = loadTemplate(templateFile(source.template)).Resources[source.mapping]?.Properties ?? {}
    const filters = ((mapping.FilterCriteria as { Filters?: { Pattern?: string }[] } | undefined)?.Filters ?? []).map(
      (f) => f.Pattern ?? '{}',
    )
    streams.push({ functionName: name, batchSize: Number(mapping.BatchSize ?? 100) })
    polling.push(
      pollStream(
        {
          streams: new DynamoDBStreamsClient(clientConfig(options)),
          streamArn: Table.LatestStreamArn,
          region: options.region,
          batchSize: Number(mapping.BatchSize ?? 100),
          patterns: filters,
          // -1 (the default): until the record expires, a day by default; here, as many tries as fit in minutes.
          maxRetries: Number(mapping.MaximumRetryAttempts ?? -1) < 0 ? 30 : Number(mapping.MaximumRetryAttempts),
          invoke: async (event) => invoke(name, event),
          onBatch: (report) =>
            options.onBatch?.(name, {
              received: report.received,
              deleted: report.delivered,
              failed: report.failed,
              error: report.error,
            }),
        },
        abort.signal,
      ),
    )
  }

  // Lambda's Invoke API for the emulator's state machines (moto_server.py sends their Lambda tasks here).
  const lambdaApi =
    options.lambdaPort !== undefined ? await startLambdaApi({ port: options.lambdaPort, invoke }) : undefined

  let server: Server | undefined
  const routes: Route[] = []
  if (deployment.restApiId) {
    const { items = [] } = await apigateway.send(
      new GetResourcesCommand({ restApiId: deployment.restApiId, embed: ['methods'], limit: 500 }),
    )
    for (const resource of items) {
      // OPTIONS too, where the API has them (a CorsOrigin): API Gateway passes preflights to the function as well.
      for (const method of Object.keys(resource.resourceMethods ?? {}))
        routes.push({ method, resource: resource.path! })
    }
    server = await startApiServer({
      port: options.apiPort,
      routes,
      stage: options.stage,
      invoke: async (event: APIGatewayProxyEvent) => invoke(deployment.functions.api, event),
    })
  }

  return {
    deployment,
    apiUrl: `http://localhost:${options.apiPort}`,
    mappings,
    streams,
    routes,
    logDir,
    invoke,
    crash: (functionName: string) => hosts.get(functionName)?.crash() ?? false,
    metricsSettled: metrics.settled,
    stop: async () => {
      abort.abort()
      await Promise.allSettled(polling)
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
      await new Promise<void>((resolve) => (lambdaApi ? lambdaApi.close(() => resolve()) : resolve()))
      await Promise.all([...hosts.values()].map(async (host) => host.stop()))
      await metrics.settled()
    },
  }
}
