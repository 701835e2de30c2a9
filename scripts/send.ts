/**
 * npm run send -- FILE|- [--door api|s3|queue] [--wait]: one order or a file of orders (ops/send-input.ts) into a
 * deployment through one of its doors:
 * - api (default): each order POSTed to the order API, with the stack's API key (or SigV4-signed where the stack has
 *   ApiAuth=IAM) and an Idempotency-Key from the order's content;
 * - s3: the file uploaded to the intake bucket as orders/send/<timestamp>-<name>, for the validator to read;
 * - queue: each order checked as the API checks it (parseOrder, with the deployed API's currency and maximum amount),
 *   then sent straight onto the main queue (FIFO ids where the queue is FIFO); an invalid order is refused, not sent.
 * With --wait it follows each order in the table until it settles (stored, rejected, or still pending at --timeout)
 * and prints one line per order. Exit code 1 when an order was rejected, refused, not sent, or did not settle.
 */
import { createHash, randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Command, Option } from 'commander'
import pLimit from 'p-limit'
import { GetApiKeyCommand } from '@aws-sdk/client-api-gateway'
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { defaultProvider } from '@aws-sdk/credential-provider-node'
import {
  apiGatewayClient,
  cloudFormationClient,
  dynamoClient,
  isLocalEndpoint,
  lambdaClient,
  s3Client,
  sqsClient,
} from '../lib/aws/clients.ts'
import { ATTRIBUTE, isFifo, orderFifoIds, sendMessages, type OutgoingMessage } from '../lib/aws/queue.ts'
import { getOrderStatus, storedHash, type OrderStatus } from '../lib/aws/table.ts'
import { reportKey, type FileReport } from '../lib/intake/report.ts'
import { fieldsMessage, ValidationError, type FieldError } from '../lib/orders/errors.ts'
import { detectDialect, orderHash, orderIdFromIdempotencyKey, orderIdFromS3, orderIdOf } from '../lib/orders/order.ts'
import { OUTCOME } from '../lib/orders/outcomes.ts'
import { parseOrder, type Rules } from '../lib/orders/validate.ts'
import { DEFAULTS } from '../lib/runtime/config.ts'
import { notFound, run, withAwsOptions, type AwsOptions } from './cli.ts'
import { signedHeaders } from './console/service.ts'
import { formatTable } from './format.ts'
import { intakeKey } from './ops/paths.ts'
import {
  InputError,
  MAX_SEND_ORDERS,
  readSendInput,
  uploadName,
  type InputFormat,
  type InputOrder,
  type SendInput,
} from './ops/send-input.ts'
import { readStack, type DeployedStack, type Deployment } from './stack/deployment.ts'

export const DOORS = ['api', 's3', 'queue'] as const
export type Door = (typeof DOORS)[number]

export interface SendOptions extends AwsOptions {
  door: Door
  wait?: boolean
  /** Seconds --wait waits at most. */
  timeout: number
  apiUrl?: string
  apiKey?: string
  format?: InputFormat
  stackName?: string
  /** --no-idempotency-key: false. */
  idempotencyKey: boolean
}

/**
 * What became of one order. At the door: ACCEPTED (the API's 202), QUEUED, UPLOADED (in the file), or at once
 * REJECTED (the API's 400), CONFLICT or DUPLICATE (409), REFUSED (the queue door's own check), FAILED (not sent).
 * After --wait: PROCESSED, REJECTED, CONFLICT, DUPLICATE, or PENDING (did not settle in time).
 */
export type Outcome =
  | 'ACCEPTED'
  | 'QUEUED'
  | 'UPLOADED'
  | 'PROCESSED'
  | 'REJECTED'
  | 'CONFLICT'
  | 'DUPLICATE'
  | 'REFUSED'
  | 'FAILED'
  | 'PENDING'

/** The outcomes that make the exit code 1. */
export const FAILED_OUTCOMES: ReadonlySet<Outcome> = new Set(['REJECTED', 'CONFLICT', 'REFUSED', 'FAILED', 'PENDING'])
/** The outcomes that are not final: --wait follows these. */
const IN_FLIGHT: ReadonlySet<Outcome> = new Set(['ACCEPTED', 'QUEUED', 'UPLOADED'])

export interface SentOrder {
  line: number
  orderId?: string
  outcome: Outcome
  detail: string
  /** The content hash the order has where it is known (queue and s3 doors): another stored hash is a conflict. */
  hash?: string
  /** When it went through the door (ms): earlier records of its id are someone else's. */
  sentAt?: number
}

/** How long before the send a record still counts as the answer to it (the clocks of this machine and of AWS). */
const CLOCK_SKEW_MS = 2000

/** At most this many field errors are named on an order's line. */
const SHOWN_REASONS = 3

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

/** The Idempotency-Key of an order's text: the same order sent again is the same order (a DUPLICATE). */
export const idempotencyKeyOf = (text: string): string => `send-${sha256(text).slice(0, 40)}`

const reasonsText = (fields: FieldError[]): string =>
  fields.length <= SHOWN_REASONS
    ? fieldsMessage(fields)
    : `${fieldsMessage(fields.slice(0, SHOWN_REASONS))}; and ${fields.length - SHOWN_REASONS} more`

/** The deployment and what its stack says about the API (its URL output, the key's id, ApiAuth). */
type Target = DeployedStack

const findTarget = async (options: SendOptions): Promise<Target> => {
  const target = await readStack(cloudFormationClient(options), options)
  if (options.table) target.deployment.table = options.table
  return target
}

/**
 * The rules the deployed API checks orders with (its DEFAULT_CURRENCY and MAX_ORDER_AMOUNT), for the queue door's
 * own check; the defaults, with a warning, when the function's configuration cannot be read.
 */
const deployedRules = async (
  options: SendOptions,
  d: Deployment,
): Promise<Rules & { defaultCurrency: string; warning?: string }> => {
  try {
    const config = await lambdaClient(options).send(
      new GetFunctionConfigurationCommand({ FunctionName: d.functions.api }),
    )
    const env = config.Environment?.Variables ?? {}
    return {
      defaultCurrency: env.DEFAULT_CURRENCY ?? DEFAULTS.defaultCurrency,
      maxOrderAmount: Number(env.MAX_ORDER_AMOUNT ?? DEFAULTS.maxOrderAmount),
    }
  } catch (err) {
    return {
      defaultCurrency: DEFAULTS.defaultCurrency,
      maxOrderAmount: DEFAULTS.maxOrderAmount,
      warning: `the configuration of ${d.functions.api} could not be read (${(err as Error).message}): orders are checked with the defaults (${DEFAULTS.defaultCurrency}, below ${DEFAULTS.maxOrderAmount})`,
    }
  }
}

// The api door

interface ApiAnswer {
  status: number
  body: { message?: string; orderId?: string; status?: string; errors?: FieldError[] }
}

/** Whether a POST is worth sending again: throttled, a 5xx, or no answer (the Idempotency-Key keeps it one order). */
const retryable = (status: number): boolean => status === 429 || status >= 500

const networkCode = (err: unknown): string => {
  const e = err as { code?: string; cause?: { code?: string; message?: string }; message?: string }
  return e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? 'network error'
}

const sendToApi = async (
  input: SendInput,
  options: SendOptions,
  target: Target,
  correlationId: string,
  warn: (line: string) => void,
): Promise<SentOrder[]> => {
  const apiUrl = (options.apiUrl ?? target.output('ApiUrl'))?.replace(/\/+$/, '')
  if (!apiUrl)
    throw new Error(
      `the order API's URL is unknown: stack ${target.stackName} has no ApiUrl output${isLocalEndpoint(options.endpoint) ? ' (moto shows none) and no running npm start names it' : ''}: give --api-url (the local stack's is printed by npm start, e.g. http://localhost:3000)`,
    )
  const iam = target.parameter('ApiAuth', 'API_KEY') === 'IAM'
  const keyId =
    target.output('ApiKeyId') ?? target.resources.find((r) => r.type === 'AWS::ApiGateway::ApiKey')?.physicalId
  let apiKey = options.apiKey
  if (!apiKey && keyId && !iam && !isLocalEndpoint(options.endpoint))
    apiKey = await apiGatewayClient(options)
      .send(new GetApiKeyCommand({ apiKey: keyId, includeValue: true }))
      .then((k) => k.value)
      .catch((err: unknown) => {
        warn(`the API key ${keyId} could not be read (${(err as Error).message}): give --api-key`)
        return undefined
      })
  const credentials = isLocalEndpoint(options.endpoint)
    ? { accessKeyId: 'local', secretAccessKey: 'local' }
    : defaultProvider({ profile: options.profile })

  const post = async (order: InputOrder): Promise<ApiAnswer> => {
    const url = `${apiUrl}/orders`
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-correlation-id': correlationId,
      ...(options.idempotencyKey ? { 'idempotency-key': idempotencyKeyOf(order.text) } : {}),
    }
    const sent = iam
      ? await signedHeaders(credentials, options.region, { url, method: 'POST', headers, body: order.text })
      : { ...headers, ...(apiKey ? { 'x-api-key': apiKey } : {}) }
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await fetch(url, { method: 'POST', headers: sent, body: order.text })
        const text = await response.text()
        let body: ApiAnswer['body'] = {}
        try {
          body = JSON.parse(text) as ApiAnswer['body']
        } catch {
          body = { message: text.slice(0, 200) }
        }
        if (!retryable(response.status) || attempt >= 3) return { status: response.status, body }
      } catch (err) {
        if (attempt >= 3)
          throw new Error(`nothing answers at ${url} (${networkCode(err)}): is the API URL right? (--api-url)`, {
            cause: err,
          })
      }
      await sleep(250 * 2 ** attempt)
    }
  }

  const limit = pLimit(4)
  const results = await Promise.all(
    input.orders.map((order) =>
      limit(async (): Promise<SentOrder & { unreachable?: string }> => {
        const sentAt = Date.now()
        let answer: ApiAnswer
        try {
          answer = await post(order)
        } catch (err) {
          return { line: order.line, outcome: 'FAILED', detail: (err as Error).message, unreachable: apiUrl }
        }
        const { status, body } = answer
        const orderId = body.orderId ?? orderIdOf(order.value)
        if (status === 202) return { line: order.line, orderId, outcome: 'ACCEPTED', detail: '', sentAt }
        if (status === 409)
          return body.status === OUTCOME.DUPLICATE
            ? { line: order.line, orderId, outcome: 'DUPLICATE', detail: body.message ?? 'already received' }
            : { line: order.line, orderId, outcome: 'CONFLICT', detail: body.message ?? 'exists with other content' }
        if (status === 400 || status === 413 || status === 415)
          return {
            line: order.line,
            orderId,
            outcome: 'REJECTED',
            detail: body.errors?.length ? reasonsText(body.errors) : (body.message ?? `HTTP ${status}`),
          }
        const hint =
          status === 401 || status === 403
            ? iam
              ? ' (signed with your credentials: may they call execute-api:Invoke?)'
              : ' (the API wants its key: give --api-key)'
            : ''
        return {
          line: order.line,
          orderId,
          outcome: 'FAILED',
          detail: `HTTP ${status} ${body.message ?? ''}`.trim() + hint,
        }
      }),
    ),
  )
  // The API not answering at all is one error, not a line per order.
  if (results.every((r) => r.unreachable)) throw new Error(results[0]!.detail)
  return results.map(({ unreachable: _unreachable, ...r }) => r)
}

// The queue door

const sendToQueue = async (
  input: SendInput,
  options: SendOptions,
  target: Target,
  correlationId: string,
  warn: (line: string) => void,
): Promise<SentOrder[]> => {
  const d = target.deployment
  const rules = await deployedRules(options, d)
  if (rules.warning) warn(rules.warning)
  const receivedAt = new Date().toISOString()
  const results: SentOrder[] = []
  const messages: (OutgoingMessage & { index: number })[] = []
  const source = `send:${uploadName(input)}`
  for (const order of input.orders) {
    try {
      const canonical = parseOrder(order.value, {
        ...rules,
        receivedAt,
        // The id the API would give the same order with the Idempotency-Key of send's api door.
        assignOrderId: () => orderIdFromIdempotencyKey(idempotencyKeyOf(order.text)),
        bytes: Buffer.byteLength(order.text),
      })
      const hash = orderHash(canonical, rules.defaultCurrency)
      results.push({ line: order.line, orderId: canonical.order_id, outcome: 'QUEUED', detail: '', hash })
      messages.push({
        index: results.length - 1,
        id: `m${results.length - 1}`,
        body: JSON.stringify(canonical),
        attributes: {
          [ATTRIBUTE.CORRELATION_ID]: correlationId,
          [ATTRIBUTE.SOURCE]: `${source}#${order.line}`,
        },
        ...(isFifo(d.mainQueueUrl) ? orderFifoIds(canonical, hash) : {}),
      })
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err
      results.push({
        line: order.line,
        orderId: orderIdOf(order.value),
        outcome: 'REFUSED',
        detail: `not sent: ${reasonsText(err.fields)}`,
      })
    }
  }
  const sentAt = Date.now()
  const failed = await sendMessages(sqsClient(options), d.mainQueueUrl, messages)
  const failedIds = new Map(failed.map((f) => [f.id, f]))
  for (const m of messages) {
    const r = results[m.index]!
    const f = failedIds.get(m.id)
    if (f) Object.assign(r, { outcome: 'FAILED', detail: `not queued: ${f.code} ${f.message}`.trim() })
    else r.sentAt = sentAt
  }
  return results
}

// The s3 door

/** The upload's key: orders/send/<UTC timestamp>-<name>, checked as every command checks an intake key. */
export const uploadKey = (input: Pick<SendInput, 'name' | 'format'>, now = new Date()): string =>
  intakeKey('the upload key', `orders/send/${now.toISOString().replace(/[:.]/g, '-')}-${uploadName(input)}`)

const sendToS3 = async (
  input: SendInput,
  options: SendOptions,
  target: Target,
  warn: (line: string) => void,
): Promise<{ results: SentOrder[]; key: string; versionId?: string; apiLines: Set<number> }> => {
  const d = target.deployment
  const key = uploadKey(input)
  // What the validator will make of each line, to follow it: its id (a line without one gets the id the validator
  // gives it), and its hash where the order is valid (another stored hash is a conflict).
  const rules = options.wait ? await deployedRules(options, d) : undefined
  if (rules?.warning) warn(rules.warning)
  const sentAt = Date.now()
  const put = await s3Client(options)
    .send(
      new PutObjectCommand({
        Bucket: d.bucket,
        Key: key,
        Body: input.bytes,
        ContentType: input.format === 'json' ? 'application/json' : 'application/x-ndjson',
      }),
    )
    .catch((err: unknown) => {
      throw notFound(err, `the intake bucket ${d.bucket} was not found`)
    })
  const apiLines = new Set<number>()
  const results = input.orders.map((order): SentOrder => {
    const api = order.value !== null && typeof order.value === 'object' && detectDialect(order.value) === 'api'
    if (api) apiLines.add(order.line)
    const orderId = api ? orderIdFromS3(d.bucket, key, put.VersionId, order.line) : orderIdOf(order.value)
    let hash: string | undefined
    if (rules)
      try {
        const canonical = parseOrder(order.value, {
          ...rules,
          receivedAt: new Date().toISOString(),
          assignOrderId: () => orderId ?? '',
        })
        hash = orderHash(canonical, rules.defaultCurrency)
      } catch {
        hash = undefined
      }
    return { line: order.line, orderId, outcome: 'UPLOADED', detail: '', hash, sentAt }
  })
  return { results, key, versionId: put.VersionId, apiLines }
}

// --wait

/**
 * What the table says of a sent order, or undefined while it says nothing new: stored (PROCESSED, or DUPLICATE
 * when it was stored before the send, or CONFLICT when it was stored with other content), rejected since the send.
 */
export const judge = (
  sent: SentOrder,
  status: OrderStatus | undefined,
  stored: string | undefined,
): Pick<SentOrder, 'outcome' | 'detail'> | undefined => {
  if (!status) return undefined
  const since = (sent.sentAt ?? 0) - CLOCK_SKEW_MS
  const fresh = status.rejections.filter((r) => Date.parse(r.at) >= since)
  const storedOrder = status.status !== OUTCOME.REJECTED && status.status !== OUTCOME.CONFLICT
  if (!storedOrder) {
    const r = fresh[0]
    if (!r) return undefined
    return { outcome: 'REJECTED', detail: r.reasons.length ? reasonsText(r.reasons) : r.message }
  }
  const conflict = fresh.find((r) => r.status === OUTCOME.CONFLICT)
  if (conflict || (sent.hash && stored && stored !== sent.hash))
    return {
      outcome: 'CONFLICT',
      detail: conflict?.message ?? `order ${status.order_id} is stored with other content; the first one stands`,
    }
  if (status.processed_at && Date.parse(status.processed_at) < since)
    return { outcome: 'DUPLICATE', detail: `already stored at ${status.processed_at}` }
  const details = [
    status.status === OUTCOME.PROCESSED ? '' : `status ${status.status}`,
    status.stock_status ? `stock ${status.stock_status}` : '',
  ].filter(Boolean)
  return { outcome: 'PROCESSED', detail: details.join(', ') }
}

export interface WaitDeps {
  status: (orderId: string) => Promise<OrderStatus | undefined>
  storedHash: (orderId: string) => Promise<string | undefined>
  /** The s3 door: the file's report once the validator wrote it. */
  report?: () => Promise<FileReport | undefined>
  timeoutMs: number
  progress: (line: string, last: boolean) => void
  intervalMs?: number
}

const counts = (orders: SentOrder[]): string => {
  const by = new Map<string, number>()
  for (const o of orders) by.set(o.outcome, (by.get(o.outcome) ?? 0) + 1)
  return [...by].map(([outcome, n]) => `${n} ${outcome}`).join(', ')
}

/** Follows the orders in flight until each settles or the time is up (the rest: PENDING). Changes `orders`. */
export const waitForOutcomes = async (orders: SentOrder[], deps: WaitDeps): Promise<void> => {
  const started = Date.now()
  const limit = pLimit(8)
  let report: FileReport | undefined
  const pending = () => orders.filter((o) => IN_FLIGHT.has(o.outcome))
  for (;;) {
    const open = pending()
    const elapsed = Date.now() - started
    deps.progress(
      `waiting: ${orders.length - open.length} of ${orders.length} settled${open.length < orders.length ? ` (${counts(orders.filter((o) => !IN_FLIGHT.has(o.outcome)))})` : ''}, ${Math.round(elapsed / 1000)} s of ${Math.round(deps.timeoutMs / 1000)} s`,
      open.length === 0,
    )
    if (open.length === 0) return
    if (elapsed >= deps.timeoutMs) {
      for (const o of open)
        Object.assign(o, {
          outcome: 'PENDING',
          detail: `not settled after ${Math.round(deps.timeoutMs / 1000)} s (was ${o.outcome})`,
        })
      return
    }
    await Promise.all(
      open
        .filter((o) => o.orderId)
        .map((o) =>
          limit(async () => {
            const status = await deps.status(o.orderId!)
            const stored = status && o.hash ? await deps.storedHash(o.orderId!) : undefined
            const verdict = judge(o, status, stored)
            if (verdict) Object.assign(o, verdict)
          }),
        ),
    )
    if (deps.report && !report) report = await deps.report()
    if (report) {
      // Lines the validator rejected that the table says nothing of (no usable id): the report's reason.
      const rejects = new Map(report.rejects.map((r) => [r.line, r]))
      for (const o of pending()) {
        const r = rejects.get(o.line)
        if (r) Object.assign(o, { outcome: 'REJECTED', detail: `${r.class}: ${r.reason}` })
      }
    }
    if (pending().length > 0) await sleep(deps.intervalMs ?? 500)
  }
}

// The command

export interface SendReport {
  door: Door
  correlationId: string
  /** Where the orders went: the API's URL, the queue's, or the uploaded object's s3:// URL. */
  to: string
  orders: SentOrder[]
}

/** Sends the input through its door (and waits, with --wait); the caller prints. */
export const sendOrders = async (
  input: SendInput,
  options: SendOptions,
  io: { warn: (line: string) => void; progress: (line: string, last: boolean) => void },
): Promise<SendReport> => {
  if (options.door !== 's3' && input.orders.length > MAX_SEND_ORDERS)
    throw new InputError(
      `${input.name} holds ${input.orders.length} orders, more than the ${MAX_SEND_ORDERS} the ${options.door} door sends one by one: use --door s3`,
    )
  const target = await findTarget(options)
  const d = target.deployment
  const correlationId = `send-${randomUUID()}`
  let orders: SentOrder[]
  let to: string
  let report: WaitDeps['report']
  if (options.door === 'api') {
    orders = await sendToApi(input, options, target, correlationId, io.warn)
    to = `${(options.apiUrl ?? target.output('ApiUrl') ?? '').replace(/\/+$/, '')}/orders`
  } else if (options.door === 'queue') {
    orders = await sendToQueue(input, options, target, correlationId, io.warn)
    to = d.mainQueueUrl
  } else {
    const s3 = await sendToS3(input, options, target, io.warn)
    orders = s3.results
    to = `s3://${d.bucket}/${s3.key}`
    const s3c = s3Client(options)
    report = async () => {
      let found: FileReport
      try {
        const object = await s3c.send(new GetObjectCommand({ Bucket: d.bucket, Key: reportKey(s3.key) }))
        found = JSON.parse(await object.Body!.transformToString()) as FileReport
      } catch {
        return undefined
      }
      // The ids of the lines without one come from the version the validator read (its event's): where that is not
      // the version PutObject answered (an emulator's event may carry none), the report's stands.
      if (found.versionId !== s3.versionId)
        for (const o of orders)
          if (s3.apiLines.has(o.line)) o.orderId = orderIdFromS3(d.bucket, s3.key, found.versionId, o.line)
      return found
    }
  }
  if (options.wait) {
    const dynamo = dynamoClient(options)
    await waitForOutcomes(orders, {
      status: (id) => getOrderStatus(dynamo, d.table, id),
      storedHash: (id) => storedHash(dynamo, d.table, id),
      report,
      timeoutMs: options.timeout * 1000,
      progress: io.progress,
    })
  }
  return { door: options.door, correlationId, to, orders }
}

const seconds = (value: string): number => {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new Error(`--timeout must be seconds, 1 to 3600, got "${value}"`)
  return n
}

const program = withAwsOptions(new Command('send'))
  .description('Send one order or a file of orders to a deployment, through the API, the S3 intake or the main queue.')
  .argument('<file>', 'an order file: .json (one order or an array), .jsonl (one order a line), or - for stdin')
  .addOption(
    new Option('--door <door>', 'api: POST /orders; s3: upload to orders/; queue: straight onto the main queue')
      .choices(DOORS)
      .default('api'),
  )
  .option('--wait', 'follow each order in the table until it settles, and print its outcome')
  .addOption(new Option('--timeout <seconds>', 'with --wait: the longest wait').default(60).argParser(seconds))
  .addOption(
    new Option('--format <format>', 'read the input as json or jsonl (default: its extension, or its content)').choices(
      ['json', 'jsonl'],
    ),
  )
  .option('--api-url <url>', "the API's base URL (default: the stack's ApiUrl output, or the running npm start's)")
  .option('--api-key <key>', "the API key (default: the stack's, read with your access)")
  .option(
    '--no-idempotency-key',
    'api door: POST without an Idempotency-Key (the same API order sent twice is then two orders)',
  )
  .option('--stack-name <name>', 'stack name (default <prefix>-order-pipeline)')
  .addHelpText(
    'after',
    `
Each POST carries an Idempotency-Key from the order's content, so sending a file again gives DUPLICATEs, not
second orders (orders with an order_id are known by it anyway). The queue door skips the API and the validator:
it checks each order as the API does (with the deployed API's currency and maximum amount), refuses the invalid
ones with their field errors, and queues the rest as canonical orders. The s3 door uploads the file as it is to
orders/send/<timestamp>-<name>; the validator reads it (npm run report -- KEY shows its report).

--wait prints one line per order: PROCESSED (stored; with its stock status), DUPLICATE (stored before),
REJECTED or CONFLICT (with the reasons), or PENDING (not settled after --timeout seconds).

Exit code: 1 when an order was rejected, conflicted, refused, could not be sent, or (with --wait) did not settle;
0 otherwise.

Examples:
  npm run send -- schemas/examples/api-create-order.json --wait          # the running local stack (npm start)
  npm run send -- orders.jsonl --door queue --wait --timeout 120
  cat orders.jsonl | npm run send -- - --door s3 --profile prod --prefix shop`,
  )
  .action(async (file: string, options: SendOptions) => {
    const input = await readSendInput(file, { format: options.format })
    const tty = process.stderr.isTTY
    let lastProgress = 0
    const report = await sendOrders(input, options, {
      warn: (line) => console.error(`send: ${line}`),
      progress: (line, last) => {
        if (tty) {
          process.stderr.write(`\r\x1b[2K${line}${last ? '\n' : ''}`)
        } else if (last || Date.now() - lastProgress >= 5000) {
          console.error(line)
          lastProgress = Date.now()
        }
      },
    })
    const bad = report.orders.filter((o) => FAILED_OUTCOMES.has(o.outcome))
    if (options.json) console.log(JSON.stringify(report, null, 2))
    else {
      console.log(
        `${report.orders.length} order${report.orders.length === 1 ? '' : 's'} from ${input.name} → ${report.to}`,
      )
      console.log(
        formatTable(
          report.orders.map((o) => ({ line: o.line, order: o.orderId ?? '', outcome: o.outcome, detail: o.detail })),
          ['line', 'order', 'outcome', 'detail'],
        ),
      )
      if (options.door === 's3' && !options.wait)
        console.log(
          `the file's report, once the validator has read it: npm run report -- ${report.to.split('/').slice(3).join('/')}`,
        )
    }
    if (bad.length > 0) {
      console.error(`send: ${bad.length} of ${report.orders.length} orders did not get through: ${counts(bad)}`)
      process.exitCode = 1
    }
  })

if (import.meta.url === `file://${process.argv[1]}`) await run(program)
export { program }
