/**
 * What the console reads and does, over one deployment: the same functions as the operations commands (status,
 * stock, report, redrive), shaped as the JSON its pages show. The HTTP side is server.ts.
 */
import { GetApiKeyCommand } from '@aws-sdk/client-api-gateway'
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs'
import { defaultProvider } from '@aws-sdk/credential-provider-node'
import { SignatureV4 } from '@smithy/signature-v4'
import type { AwsCredentialIdentity, Provider } from '@smithy/types'
import {
  apiGatewayClient,
  cloudFormationClient,
  cloudWatchClient,
  dynamoClient,
  isLocalEndpoint,
  s3Client,
  sqsClient,
  type Endpoint,
} from '../../lib/aws/clients.ts'
import { describeMessage } from '../../lib/aws/dlq.ts'
import { Sha256 } from '../../lib/aws/objects.ts'
import { getStock, listStock, setStock, type StockLevel } from '../../lib/aws/table.ts'
import { catalogue } from '../../lib/lake/catalogue.ts'
import { METRIC } from '../../lib/orders/outcomes.ts'
import { peekAll, replayDlq, summarise, type DlqReplay, type PlannedMessage } from '../ops/dlq.ts'
import { latestReports } from '../ops/intake.ts'
import { lastHour, loggedMetrics, metricsPerMinute, queueStatus } from '../ops/observe.ts'
import { countOrders } from '../ops/orders.ts'
import { readStack } from '../stack/deployment.ts'

export type QueueName = 'main' | 'ingest'
export const QUEUES: readonly QueueName[] = ['main', 'ingest']

export interface ConsoleTarget extends Endpoint {
  prefix: string
  stackName: string
  /** The local runner's log folder: metrics the functions logged as EMF are counted too (the local stack). */
  logDir?: string
  /** The order API's base URL (default: the stack's ApiUrl output; locally npm start's http://localhost:3000). */
  apiUrl?: string
  /** The API key the order form sends (default: the stack's key, read with your access, where ApiAuth is API_KEY). */
  apiKey?: string
}

/** A product the order form offers: a stock record, named and priced by the product catalogue. */
export interface Product {
  sku: string
  name: string
  price: number
  currency: string
  available: number
}

/** A replay's request, as the DLQ panel sends it. */
export interface ReplayRequest {
  dryRun: boolean
  errorClasses?: string[]
  includePermanent?: boolean
}

/** The options a replay from the console uses: the command's defaults (npm run redrive --help). */
const REPLAY_DEFAULTS = { maxReplays: 3, rate: 10 }

export type Console = Awaited<ReturnType<typeof openConsole>>

/**
 * The headers of a request to an API deployed with ApiAuth=IAM: signed (SigV4, service execute-api) with the
 * operator's credentials, as API Gateway checks them.
 */
export const signedHeaders = async (
  credentials: AwsCredentialIdentity | Provider<AwsCredentialIdentity>,
  region: string,
  request: { url: string; method: string; headers: Record<string, string>; body?: string },
): Promise<Record<string, string>> => {
  const url = new URL(request.url)
  const signer = new SignatureV4({ service: 'execute-api', region, credentials, sha256: Sha256 })
  const signed = await signer.sign({
    method: request.method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: { ...request.headers, host: url.host },
    body: request.body,
  })
  return signed.headers
}

/**
 * How long a table scan's answer is reused: the outcome counts and the stock list each scan the whole table, which
 * costs read capacity on a large one, and every open dashboard asks for them.
 */
export const SCAN_REUSE_MS = 15_000

/** `load`'s answer, reused for `ms` (a failure is not kept); `fresh` asks again now. */
const reused = <T>(ms: number, load: () => Promise<T>) => {
  let at = 0
  let value: Promise<T> | undefined
  return (fresh = false): Promise<T> => {
    if (fresh || !value || Date.now() - at > ms) {
      at = Date.now()
      value = load().catch((err: unknown) => {
        value = undefined
        throw err
      })
    }
    return value
  }
}

/** Finds the deployment and returns what the console can do with it. */
export const openConsole = async (target: ConsoleTarget) => {
  const where: Endpoint = { region: target.region, endpoint: target.endpoint, profile: target.profile }
  const cfn = cloudFormationClient(where)
  const { stack, resources, parameter, output, deployment } = await readStack(cfn, {
    stackName: target.stackName,
    prefix: target.prefix,
    region: target.region ?? 'eu-west-3',
  })
  const namespace = parameter('MetricsNamespace', 'OrderPipeline')
  const stage = parameter('Stage', 'dev')
  const apiUrl =
    target.apiUrl ?? output('ApiUrl') ?? (isLocalEndpoint(target.endpoint) ? 'http://localhost:3000' : undefined)
  // The key's value is read with the operator's access (apigateway:GET); without it, the form's orders get a 403.
  const warnings: string[] = []
  const apiKeyId = output('ApiKeyId') ?? resources.find((r) => r.type === 'AWS::ApiGateway::ApiKey')?.physicalId
  const apiKey =
    target.apiKey ??
    (apiKeyId
      ? await apiGatewayClient(where)
          .send(new GetApiKeyCommand({ apiKey: apiKeyId, includeValue: true }))
          .then((k) => k.value)
          .catch((err: unknown) => {
            warnings.push(`the API key ${apiKeyId} could not be read (${(err as Error).message}): give --api-key`)
            return undefined
          })
      : undefined)

  const dynamo = dynamoClient(where)
  const sqs = sqsClient(where)
  const cw = cloudWatchClient(where)
  const s3 = s3Client(where)
  const dlqUrls = new Map<QueueName, string>()
  const dlqUrl = async (queue: QueueName): Promise<string> => {
    if (!QUEUES.includes(queue)) throw new Error(`queue: expected one of ${QUEUES.join(', ')}`)
    const name = `${target.prefix}-orders-${queue}-dlq`
    if (!dlqUrls.has(queue)) dlqUrls.set(queue, (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!)
    return dlqUrls.get(queue)!
  }

  const counted = reused(SCAN_REUSE_MS, () => countOrders(dynamo, deployment.table))
  const stocked = reused(SCAN_REUSE_MS, () => listStock(dynamo, deployment.table))

  const iam = parameter('ApiAuth', 'API_KEY') === 'IAM'
  const credentials = isLocalEndpoint(target.endpoint)
    ? { accessKeyId: 'local', secretAccessKey: 'local' }
    : defaultProvider({ profile: target.profile })

  return {
    deployment,
    apiUrl,
    apiKey,
    /** The headers the order API wants: its key (ApiAuth=API_KEY), or a SigV4 signature (ApiAuth=IAM). */
    apiHeaders: async (request: { url: string; method: string; headers: Record<string, string>; body?: string }) =>
      iam
        ? signedHeaders(credentials, deployment.region, request)
        : { ...request.headers, ...(apiKey ? { 'x-api-key': apiKey } : {}) },
    /** What the console could not find out, to print at its start. */
    warnings,
    /** Names and settings the pages show (no credentials, no key). */
    about: () => ({
      stack: target.stackName,
      status: stack?.StackStatus,
      prefix: target.prefix,
      region: deployment.region,
      stage,
      namespace,
      table: deployment.table,
      bucket: deployment.bucket,
      workflow: deployment.stateMachineArn !== undefined,
      lake: deployment.functions.exporter !== undefined,
      api: apiUrl !== undefined,
    }),
    /**
     * Orders by status from the table (a scan, reused for SCAN_REUSE_MS); duplicates (never stored twice) from the
     * last hour of their metric.
     */
    outcomes: async () => {
      const counts = await counted()
      const logged = target.logDir ? loggedMetrics(target.logDir, namespace, stage) : new Map<string, number>()
      const duplicates =
        ((await lastHour(cw, namespace, METRIC.DUPLICATE, [{ Name: 'Stage', Value: stage }])) ?? 0) +
        (logged.get(METRIC.DUPLICATE) ?? 0)
      return { ...counts, DUPLICATE: duplicates }
    },
    metrics: () => metricsPerMinute(cw, namespace, stage, target.logDir),
    queues: () =>
      Promise.all([
        queueStatus(sqs, cw, 'ingest', deployment.ingestQueueUrl, false),
        queueStatus(sqs, cw, 'ingest DLQ', deployment.ingestDlqUrl, true),
        queueStatus(sqs, cw, 'main', deployment.mainQueueUrl, false),
        queueStatus(sqs, cw, 'main DLQ', deployment.mainDlqUrl, true),
      ]),
    /** Every stock record (a scan, reused for SCAN_REUSE_MS but after a change). */
    stock: () => stocked(),
    /** Sets a SKU's available count (checked by ops/stock.ts checkLevel), and answers its new level. */
    setStock: async (sku: string, available: number): Promise<StockLevel> => {
      await setStock(dynamo, deployment.table, sku, available, new Date().toISOString())
      await stocked(true)
      return (await getStock(dynamo, deployment.table, sku))!
    },
    /** The products the order form offers: the stock records the product catalogue names and prices. */
    products: async (): Promise<Product[]> => {
      const levels = new Map((await stocked()).map((l) => [l.sku, l.available]))
      return catalogue
        .filter((p) => levels.has(p.sku))
        .map((p) => ({
          sku: p.sku,
          name: p.name,
          price: p.price_cents / 100,
          currency: 'EUR',
          available: levels.get(p.sku)!,
        }))
    },
    reports: (limit = 10) => latestReports(s3, deployment.bucket, limit),
    /** A DLQ's messages by error class (read and made visible again at once). */
    dlq: async (queue: QueueName) => {
      const messages = (await peekAll(sqs, await dlqUrl(queue))).map(describeMessage)
      return { queue, messages: messages.length, groups: summarise(messages) }
    },
    /** A DLQ's replay (or its dry run), as `npm run redrive -- --replay` does it. */
    replay: async (
      queue: QueueName,
      request: ReplayRequest,
      progress: { onStart?: (total: number) => void; onProgress?: (done: number, planned: PlannedMessage) => void },
      signal?: AbortSignal,
    ): Promise<DlqReplay> =>
      replayDlq({
        sqs,
        dlqUrl: await dlqUrl(queue),
        filters: {
          errorClasses: request.errorClasses,
          includePermanent: request.includePermanent,
          maxReplays: REPLAY_DEFAULTS.maxReplays,
        },
        dryRun: request.dryRun,
        rate: REPLAY_DEFAULTS.rate,
        signal,
        ...progress,
      }),
  }
}
