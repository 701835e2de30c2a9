/**
 * Real SDK clients whose HTTP handler answers locally, with a counting middleware in each client's stack.
 *
 * aws-sdk-client-mock stubs `client.send`, so the middleware stack never runs and nothing could count what the SDK
 * sends; here the whole stack runs (marshalling, serialisation, endpoint resolution, SigV4 signing, retries, SQS MD5
 * checks, deserialisation) and only the network is replaced. The counter sits in the deserialize step, inside the
 * retry and signing middlewares: one count per HTTP request, retries included.
 *
 * Also: the bench configuration, generated orders, the ingest event and the pipeline runs (validator, then worker).
 */
import { createHash, randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { ObjectStore } from '../../lib/aws/objects.ts'
import { SNSClient } from '@aws-sdk/client-sns'
import { SQSClient } from '@aws-sdk/client-sqs'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda'
import pino from 'pino'
import { buildValidator } from '../../handlers/validator.ts'
import { buildWorker } from '../../handlers/worker.ts'
import type { Config } from '../../lib/runtime/config.ts'
import { createLogger, type Logger } from '../../lib/runtime/logger.ts'
import { awsEvent, fakeContext, sqsRecord } from '../helpers/fixtures.ts'

// ---------- the fake network ----------

interface FakeRequest {
  method: string
  hostname: string
  path: string
  headers: Record<string, string>
  body?: unknown
}
interface FakeResponse {
  statusCode: number
  headers: Record<string, string>
  body?: unknown
}

const json = (value: unknown): FakeResponse => ({
  statusCode: 200,
  headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() },
  body: Buffer.from(JSON.stringify(value)),
})

/** Every request that reaches the fake network, whatever the client: a cross-check of the middleware's counts. */
let networkRequests = 0
export const requestsOnTheNetwork = (): number => networkRequests

/** `latencyMs`: each answer comes that long after its request (0: at once), as a network round trip would. */
const requestHandler = (respond: (request: FakeRequest) => FakeResponse, latencyMs = 0) => ({
  handle: async (request: FakeRequest) => {
    networkRequests++
    if (latencyMs > 0) await sleep(latencyMs)
    return { response: respond(request) }
  },
  updateHttpClientConfig: () => undefined,
  httpHandlerConfigs: () => ({}),
  destroy: () => undefined,
})

/** The serialised request body: a string or bytes, depending on the protocol's serialiser. */
const bodyText = ({ body }: FakeRequest): string =>
  typeof body === 'string'
    ? body
    : body instanceof Uint8Array
      ? Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')
      : ''

/** Approximate item size (the brief's estimate): the JSON length of the marshalled item. */
const itemBytes = (item: unknown): number => Buffer.byteLength(JSON.stringify(item))

/**
 * A second estimate, by DynamoDB's sizing rules (approximate): attribute names and strings in UTF-8 bytes, a number
 * about 1 byte per 2 significant digits + 1, 1 byte for a boolean or null, 3 bytes + 1 per element for a map or list.
 */
const ruleBytes = (value: unknown): number => {
  const [[type, v]] = Object.entries(value as Record<string, unknown>) as [[string, unknown]]
  switch (type) {
    case 'S':
      return Buffer.byteLength(v as string)
    case 'N':
      return Math.ceil((v as string).replace(/^[-0.]+|\./g, '').length / 2) + 1
    case 'BOOL':
    case 'NULL':
      return 1
    case 'L':
      return 3 + (v as unknown[]).reduce<number>((sum, e) => sum + 1 + ruleBytes(e), 0)
    case 'M':
      return 3 + mapBytes(v as Record<string, unknown>, 1)
    default:
      return JSON.stringify(v).length
  }
}
const mapBytes = (item: Record<string, unknown>, perElement = 0): number =>
  Object.entries(item).reduce((sum, [name, v]) => sum + perElement + Buffer.byteLength(name) + ruleBytes(v), 0)

/** A DynamoDB write as the table sees it: kind and estimated item size (JSON length of the marshalled item; by the sizing rules). */
export interface DynamoWrite {
  kind: 'PutItem' | 'TransactPut' | 'TransactUpdate'
  bytes: number
  ruleBytes: number
}

const write = (kind: DynamoWrite['kind'], item: unknown): DynamoWrite => ({
  kind,
  bytes: itemBytes(item),
  ruleBytes: mapBytes((item ?? {}) as Record<string, unknown>),
})

export interface QueuedMessage {
  body: string
  attributes: Record<string, string>
}

interface MarshalledUpdate {
  Key?: Record<string, unknown>
  ExpressionAttributeValues?: Record<string, unknown>
}

/** The stock record after a reservation (pk, sk, type, sku, available, reserved, updated_at), marshalled, from the Update's key and values. */
const stockItemAfter = (update: MarshalledUpdate): Record<string, unknown> => {
  const pk = (update.Key?.pk as { S?: string } | undefined)?.S ?? 'STOCK#?'
  return {
    ...update.Key,
    type: { S: 'stock' },
    sku: { S: pk.slice('STOCK#'.length) },
    available: { N: '1000000' },
    reserved: { N: '1000000' },
    updated_at: update.ExpressionAttributeValues?.[':now'] ?? { S: new Date().toISOString() },
  }
}

// ---------- the counting middleware ----------

type Next = (args: { request: unknown }) => Promise<unknown>
type CountingMiddleware = (next: Next, context: { clientName?: string; commandName?: string }) => Next
interface Stacked {
  middlewareStack: {
    add: (middleware: CountingMiddleware, options: { step: 'deserialize'; name: string; priority: 'low' }) => void
  }
}

const SERVICE_NAMES: Record<string, string> = {
  DynamoDBClient: 'DynamoDB',
  SQSClient: 'SQS',
  S3Client: 'S3',
  CloudWatchClient: 'CloudWatch',
  SNSClient: 'SNS',
}

/** `DynamoDB PutItem`: service and operation of what the SDK sends (commandName is the low-level command's). */
const requestName = (clientName = '?', commandName = '?'): string =>
  `${SERVICE_NAMES[clientName] ?? clientName} ${commandName.replace(/Command$/, '')}`

const addCounter = (client: Stacked, count: (name: string) => void): void => {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      count(requestName(context.clientName, context.commandName))
      return next(args)
    },
    { step: 'deserialize', name: 'benchRequestCounter', priority: 'low' },
  )
}

// ---------- the fake account ----------

export interface FakeAws {
  clients: {
    dynamo: DynamoDBDocumentClient
    sqs: SQSClient
    s3: ObjectStore
    sns: SNSClient
    cloudWatch: CloudWatchClient
  }
  /** Requests sent, by `Service Operation`, for each phase (the name set by `phase`). */
  requests: Map<string, Map<string, number>>
  writes: DynamoWrite[]
  queued: Map<string, QueuedMessage[]>
  objects: Map<string, Buffer>
  phase: string
}

const REGION = 'eu-west-3'
const credentials = { accessKeyId: 'AKIDBENCHMARK', secretAccessKey: 'bench-secret' }

/** `latencyMs` (default 0): the time each request waits for its answer, S3's included (a simulated round trip). */
export const fakeAws = ({ latencyMs = 0 }: { latencyMs?: number } = {}): FakeAws => {
  // The responders and the counter run later, once `aws` (at the end) exists.
  const count = (name: string): void => {
    const phase = aws.requests.get(aws.phase) ?? new Map<string, number>()
    aws.requests.set(aws.phase, phase)
    phase.set(name, (phase.get(name) ?? 0) + 1)
  }

  const dynamoResponder = (request: FakeRequest): FakeResponse => {
    const target = request.headers['x-amz-target'] ?? ''
    const input = JSON.parse(bodyText(request) || '{}') as {
      Item?: unknown
      TransactItems?: { Put?: { Item?: unknown }; Update?: MarshalledUpdate }[]
    }
    if (target.endsWith('.PutItem')) aws.writes.push(write('PutItem', input.Item))
    for (const action of input.TransactItems ?? []) {
      if (action.Put) aws.writes.push(write('TransactPut', action.Put.Item))
      if (action.Update) aws.writes.push(write('TransactUpdate', stockItemAfter(action.Update)))
    }
    return json({})
  }

  const sqsResponder = (request: FakeRequest): FakeResponse => {
    if (!(request.headers['x-amz-target'] ?? '').endsWith('.SendMessageBatch')) return json({})
    const input = JSON.parse(bodyText(request)) as {
      QueueUrl: string
      Entries: { Id: string; MessageBody: string; MessageAttributes?: Record<string, { StringValue?: string }> }[]
    }
    const queue = aws.queued.get(input.QueueUrl) ?? []
    aws.queued.set(input.QueueUrl, queue)
    for (const entry of input.Entries) {
      queue.push({
        body: entry.MessageBody,
        attributes: Object.fromEntries(
          Object.entries(entry.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
        ),
      })
    }
    return json({
      Successful: input.Entries.map((e) => ({
        Id: e.Id,
        MessageId: randomUUID(),
        MD5OfMessageBody: createHash('md5').update(e.MessageBody).digest('hex'),
      })),
      Failed: [],
    })
  }

  // S3 through the object store the validator uses (lib/aws/objects.ts), answered from `objects`, counted.
  const s3: ObjectStore = {
    get: async (ref, options = {}) => {
      networkRequests++
      count('S3 GetObject')
      if (latencyMs > 0) await sleep(latencyMs)
      const bytes = aws.objects.get(ref.key)
      if (bytes === undefined) {
        throw Object.assign(new Error('The specified key does not exist.'), {
          name: 'NoSuchKey',
          $metadata: { httpStatusCode: 404 },
        })
      }
      const { start = 0, end = bytes.length } = options.range ?? {}
      const part = bytes.subarray(start, end)
      const chunks = Array.from({ length: Math.ceil(part.length / 65536) }, (_, i) =>
        part.subarray(i * 65536, (i + 1) * 65536),
      )
      return { body: Readable.from(chunks), contentLength: part.length, destroy: () => {} }
    },
    put: async (_bucket, key, body) => {
      networkRequests++
      count('S3 PutObject')
      if (latencyMs > 0) await sleep(latencyMs)
      aws.objects.set(key, typeof body === 'string' ? Buffer.from(body) : Buffer.from(body))
    },
  }

  const snsResponder = (request: FakeRequest): FakeResponse => {
    const action = new URLSearchParams(bodyText(request)).get('Action') ?? 'Unknown'
    const xml = `<${action}Response xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><${action}Result></${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`
    return { statusCode: 200, headers: { 'content-type': 'text/xml' }, body: Buffer.from(xml) }
  }

  const common = { region: REGION, credentials }
  const dynamoBase = new DynamoDBClient({ ...common, requestHandler: requestHandler(dynamoResponder, latencyMs) })
  const sqs = new SQSClient({ ...common, requestHandler: requestHandler(sqsResponder, latencyMs) })
  const sns = new SNSClient({ ...common, requestHandler: requestHandler(snsResponder, latencyMs) })
  const cloudWatch = new CloudWatchClient({ ...common, requestHandler: requestHandler(() => json({}), latencyMs) })
  for (const client of [dynamoBase, sqs, sns, cloudWatch]) addCounter(client as unknown as Stacked, count)
  // As lib/aws/clients.ts builds it (the document client shares the base client's middleware stack).
  const dynamo = DynamoDBDocumentClient.from(dynamoBase, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  })
  const aws: FakeAws = {
    clients: { dynamo, sqs, s3, sns, cloudWatch },
    requests: new Map(),
    writes: [],
    queued: new Map(),
    objects: new Map(),
    phase: 'default',
  }
  return aws
}

// ---------- configuration, orders, events ----------

export const ACCOUNT = '123456789012'
export const BUCKET = `tp-orders-intake-${ACCOUNT}`
const queueUrl = (name: string) => `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`

export const benchConfig = (stockTracking: boolean): Config => ({
  ordersTable: 'tp-orders-bench',
  mainQueueUrl: queueUrl('tp-orders-main'),
  mainDlqUrl: queueUrl('tp-orders-main-dlq'),
  ingestDlqUrl: queueUrl('tp-orders-ingest-dlq'),
  ingestQueueUrl: undefined,
  rangeBytes: 8 * 1024 * 1024,
  corsOrigins: [],
  sendsInFlight: 8,
  alertTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:tp-orders-alerts`,
  metricsNamespace: 'OrderPipeline',
  stage: 'bench',
  stockTracking,
  defaultCurrency: 'EUR',
  maxOrderAmount: 10000,
  workerConcurrency: 10,
  intakeBucket: BUCKET,
  rawPrefix: 'raw/',
  generatedOrders: 1000,
  generatorSeed: undefined,
  invalidRate: 0,
  duplicateRate: 0,
  stateMachineArn: '',
  customerTopicArn: undefined,
  paymentSuccessRate: 0.9,
  paymentTimeoutRate: 0,
  maxStockWaits: 168,
})

/** Deterministic pseudo-random numbers (mulberry32), so that every run benches the same orders. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

export const SKU_POOL = Array.from({ length: 20 }, (_, i) => `SKU-${String(i + 1).padStart(3, '0')}`)

/** Valid canonical orders: distinct ids, 1–4 lines from a pool of 20 SKUs, amount = Σ qty × unit price to the cent. */
export const makeOrders = (count: number, prefix = 'BENCH', seed = 20260107): Record<string, unknown>[] => {
  const next = random(seed)
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1))
  return Array.from({ length: count }, (_, i) => {
    const items = Array.from({ length: int(1, 4) }, () => ({
      sku: SKU_POOL[int(0, SKU_POOL.length - 1)]!,
      qty: int(1, 3),
      unit_price: int(199, 19999) / 100,
    }))
    const cents = items.reduce((sum, item) => sum + item.qty * Math.round(item.unit_price * 100), 0)
    const customer = int(1000, 1999)
    return {
      order_id: `${prefix}-${String(i + 1).padStart(6, '0')}`,
      customer_id: `CUST-${customer}`,
      created_at: new Date(Date.UTC(2026, 0, 7, 10) + i * 1000).toISOString(),
      currency: 'EUR',
      amount: cents / 100,
      items,
      customer: { name: `Customer ${customer}`, email: `customer${customer}@example.com` },
    }
  })
}

export const jsonl = (orders: unknown[]): Buffer => Buffer.from(orders.map((o) => JSON.stringify(o)).join('\n') + '\n')

/** The ingest-queue event of the shared fixture, its one record naming `key` (URL-encoded as S3 sends it). */
export const ingestEvent = (key: string, size: number): SQSEvent => {
  const fixture = awsEvent<SQSEvent>('sqs-ingest-s3-object-created.json')
  const record = fixture.Records[0]!
  const notification = JSON.parse(record.body) as {
    Records: { s3: { bucket: { name: string }; object: { key: string; size: number } } }[]
  }
  const s3 = notification.Records[0]!.s3
  s3.bucket.name = BUCKET
  s3.object.key = encodeURIComponent(key).replaceAll('%2F', '/').replaceAll('%20', '+')
  s3.object.size = size
  return { Records: [{ ...record, body: JSON.stringify({ Records: [notification.Records[0]] }) }] }
}

/** A main-queue record as Lambda delivers what the validator sent. */
export const mainQueueRecord = (message: QueuedMessage): SQSRecord =>
  sqsRecord(message.body, {
    eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:tp-orders-main`,
    messageAttributes: Object.fromEntries(
      Object.entries(message.attributes).map(([name, value]) => [
        name,
        { dataType: 'String', stringValue: value, stringListValues: [], binaryListValues: [] },
      ]),
    ),
  })

/** The functions' logs at their deployed level (info), serialised and written, but to /dev/null. */
export const benchLogger = (level = 'info'): Logger =>
  createLogger({ level, destination: pino.destination({ dest: '/dev/null', sync: true }) })

// ---------- pipeline runs ----------

const failures = (response: unknown): number =>
  (response as SQSBatchResponse | undefined)?.batchItemFailures?.length ?? -1

/** Puts `orders` in one .jsonl object, runs the validator on its ingest event, and returns what it queued on the main queue. */
export const runValidator = async (
  aws: FakeAws,
  config: Config,
  orders: unknown[],
  logger: Logger,
): Promise<QueuedMessage[]> => {
  const key = `orders/bench/${orders.length}-orders.jsonl`
  const bytes = jsonl(orders)
  aws.objects.set(key, bytes)
  const { dynamo, sqs, s3, sns, cloudWatch } = aws.clients
  const validator = buildValidator({ config, sqs, dynamo, s3, sns, cloudWatch, logger })
  const response = await validator(ingestEvent(key, bytes.length), fakeContext())
  if (failures(response) !== 0) throw new Error(`the validator failed the ingest record: ${JSON.stringify(response)}`)
  const queued = aws.queued.get(config.mainQueueUrl) ?? []
  if (queued.length !== orders.length)
    throw new Error(
      `the validator queued ${queued.length} of ${orders.length} orders (DLQ: ${aws.queued.get(config.mainDlqUrl)?.length ?? 0})`,
    )
  return queued
}

export type Worker = (records: SQSRecord[]) => Promise<void>

/** The worker's middy chain on the fake clients; each call is one invocation, which must fail no record. */
export const workerOn = (aws: FakeAws, config: Config, logger: Logger): Worker => {
  const { dynamo, sqs, sns, cloudWatch } = aws.clients
  const worker = buildWorker({ config, dynamo, sqs, sns, cloudWatch, logger })
  return async (records) => {
    const response = await worker({ Records: records }, fakeContext() as Parameters<typeof worker>[1])
    if (failures(response) !== 0) throw new Error(`the worker failed records: ${JSON.stringify(response)}`)
  }
}

export const batches = <T>(items: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size))
