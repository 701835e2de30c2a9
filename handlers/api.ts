/**
 * The order API (API Gateway REST v1 and HTTP API v2 proxy events):
 * - POST /orders: any of the three dialects → 202 with the order id (queued for the worker), 400 naming every
 *   failed field, 409 when the id is already known (DUPLICATE or CONFLICT), 413 past the size bound.
 * - GET /orders/{id}: status, outcome and reasons, without personal data.
 * - POST /orders/{id}/cancel: a PROCESSED order (not yet in payment) becomes CANCELLED, its reserved stock given
 *   back, once (lib/aws/inventory.ts): 200; 409 with the order's status when it cannot (cancelled already, in
 *   payment, paid); 404 when it is not stored. Counted (OrdersCancelled) and announced on the alerts topic.
 */
import middy from '@middy/core'
import errorLogger from '@middy/error-logger'
import httpCors from '@middy/http-cors'
import httpErrorHandler from '@middy/http-error-handler'
import httpHeaderNormalizer from '@middy/http-header-normalizer'
import httpJsonBodyParser from '@middy/http-json-body-parser'
import httpRouterHandler from '@middy/http-router'
import validator from '@middy/validator'
import { createError } from '@middy/util'
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult, Context } from 'aws-lambda'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import type { SNSClient } from '@aws-sdk/client-sns'
import type { SQSClient } from '@aws-sdk/client-sqs'
import { publishAlerts } from '../lib/aws/alerts.ts'
import { dynamoClient, snsClient, sqsClient } from '../lib/aws/clients.ts'
import { CancelRefusedError, cancelOrder } from '../lib/aws/inventory.ts'
import { loadConfig, type Config } from '../lib/runtime/config.ts'
import { LIMITS } from '../lib/orders/limits.ts'
import { compareStored, LOG, METRIC, OUTCOME } from '../lib/orders/outcomes.ts'
import { TransientError, ValidationError } from '../lib/orders/errors.ts'
import { logger as baseLogger, type Logger } from '../lib/runtime/logger.ts'
import {
  detectDialect,
  newOrderId,
  normalise,
  orderHash,
  orderIdFromIdempotencyKey,
  type Order,
} from '../lib/orders/order.ts'
import { ATTRIBUTE, orderFifoIds, sendMessages } from '../lib/aws/queue.ts'
import { getOrderStatus, storedHash } from '../lib/aws/table.ts'
import { orderEventValidator } from '../lib/orders/validate.ts'
import { httpBodyLimit } from '../middlewares/http-body-limit.ts'
import { httpErrors } from '../middlewares/http-errors.ts'
import { flushMetrics, type MetricsContext } from '../middlewares/metrics.ts'

export type ApiConfig = Pick<
  Config,
  | 'ordersTable'
  | 'mainQueueUrl'
  | 'metricsNamespace'
  | 'metricsMode'
  | 'stage'
  | 'defaultCurrency'
  | 'maxOrderAmount'
  | 'corsOrigins'
> &
  Partial<Pick<Config, 'alertTopicArn'>>

type HttpEvent = (APIGatewayProxyEvent | APIGatewayProxyEventV2) & {
  body: unknown
  headers: Record<string, string | undefined>
}
type ApiContext = MetricsContext

export interface ApiDeps {
  config: ApiConfig
  dynamo: DynamoDBDocumentClient
  sqs: SQSClient
  /** For the cancel's alert (default: built on the first cancel). */
  sns?: SNSClient
  /** Default: built on the first flush, in METRICS_MODE=api only (emf sends no request). */
  cloudWatch?: CloudWatchClient
  logger?: Logger
  now?: () => Date
}

const json = (statusCode: number, body: unknown): APIGatewayProxyResult => ({
  statusCode,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
})

/** The `{id}` of the route's path, or a 400 when it is not an order id as POST /orders takes them. */
const pathOrderId = (event: HttpEvent): string => {
  const id = (event.pathParameters as Record<string, string | undefined> | undefined)?.id ?? ''
  if (!/^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,63}$/.test(id)) throw createError(400, `Not an order id: ${id.slice(0, 80)}`)
  return id
}

const requestIdOf = (event: HttpEvent, context: Context): string =>
  event.requestContext?.requestId ?? context.awsRequestId

export interface AcceptDeps {
  config: ApiConfig
  dynamo: DynamoDBDocumentClient
  sqs: SQSClient
  correlationId: string
}

/**
 * Queues a valid, normalised order, unless its id is already known: then 409 with DUPLICATE (same content) or
 * CONFLICT. Two quick POSTs of one order may both get 202; the worker settles it.
 */
export const acceptOrder = async (
  order: Order,
  deps: AcceptDeps,
): Promise<{ statusCode: 202 | 409; body: Record<string, unknown> }> => {
  const { order_id: orderId } = order
  const hash = orderHash(order, deps.config.defaultCurrency)
  const stored = await storedHash(deps.dynamo, deps.config.ordersTable, orderId)
  if (stored !== undefined) {
    const status = compareStored(stored, hash)
    const message =
      status === OUTCOME.DUPLICATE
        ? `Order ${orderId} was already received`
        : `Order ${orderId} already exists with different content`
    return { statusCode: 409, body: { message, status, orderId } }
  }
  const attributes = { [ATTRIBUTE.CORRELATION_ID]: deps.correlationId, [ATTRIBUTE.SOURCE]: 'api' }
  const failed = await sendMessages(deps.sqs, deps.config.mainQueueUrl, [
    { id: 'order', body: JSON.stringify(order), attributes, ...orderFifoIds(order, hash) },
  ])
  if (failed.length > 0) throw new TransientError(`The order could not be queued: ${failed[0]?.code}`)
  return { statusCode: 202, body: { message: 'Order accepted for processing', orderId } }
}

/** The API's middy chain (a router of two chains); `handler` below is it with the environment's configuration. */
export const buildApi = (deps: ApiDeps) => {
  const { config } = deps
  const log = deps.logger ?? baseLogger
  const { dynamo, sqs } = deps
  const now = deps.now ?? (() => new Date())

  const postOrder = middy<HttpEvent, APIGatewayProxyResult, Error, ApiContext>()
    .use(httpBodyLimit({ maxBytes: LIMITS.MAX_ORDER_BYTES }))
    .use(httpJsonBodyParser())
    .use(validator({ eventSchema: orderEventValidator(config) }))
    .handler(async (event, context) => {
      const correlationId = event.headers['x-correlation-id'] ?? requestIdOf(event, context)
      const key = event.headers['idempotency-key']
      if (key !== undefined && (key.length === 0 || key.length > 255)) {
        throw new ValidationError([
          { path: 'header:Idempotency-Key', rule: 'maxLength', message: 'Idempotency-Key must be 1 to 255 characters' },
        ])
      }
      const order = normalise(event.body, detectDialect(event.body), {
        defaultCurrency: config.defaultCurrency,
        receivedAt: now().toISOString(),
        assignOrderId: () => (key ? orderIdFromIdempotencyKey(key) : newOrderId()),
      })
      const { statusCode, body } = await acceptOrder(order, { config, dynamo, sqs, correlationId })
      context.metrics.count(
        statusCode === 202 ? METRIC.ACCEPTED : body.status === OUTCOME.DUPLICATE ? METRIC.DUPLICATE : METRIC.REJECTED,
      )
      log.info(
        {
          requestId: requestIdOf(event, context),
          correlationId,
          orderId: order.order_id,
          statusCode,
          status: body.status,
        },
        LOG.ORDER_RECEIVED,
      )
      return json(statusCode, body)
    })

  const getOrder = middy<HttpEvent, APIGatewayProxyResult, Error, ApiContext>().handler(async (event) => {
    const id = pathOrderId(event)
    const status = await getOrderStatus(dynamo, config.ordersTable, id)
    if (!status) throw createError(404, `Order ${id} not found`)
    return json(200, status)
  })

  let sns = deps.sns
  const cancel = middy<HttpEvent, APIGatewayProxyResult, Error, ApiContext>().handler(async (event, context) => {
    const id = pathOrderId(event)
    let result
    try {
      result = await cancelOrder(dynamo, config.ordersTable, id, now().toISOString())
    } catch (err) {
      if (!(err instanceof CancelRefusedError)) throw err
      if (err.status === undefined) throw createError(404, `Order ${id} not found`)
      return json(409, { message: err.message, orderId: id, status: err.status })
    }
    context.metrics.count(METRIC.CANCELLED)
    log.info({ requestId: requestIdOf(event, context), orderId: id, released: result.released }, LOG.ORDER_CANCELLED)
    await publishAlerts(
      (sns ??= snsClient()),
      config.alertTopicArn,
      [
        {
          type: 'ORDER_CANCELLED',
          order_id: id,
          subject: `Order ${id} cancelled`,
          detail: { released: result.released, stage: config.stage },
        },
      ],
      log,
    )
    return json(200, { message: `Order ${id} cancelled`, orderId: id, status: 'CANCELLED', released: result.released })
  })

  return middy<HttpEvent, APIGatewayProxyResult, Error, ApiContext>()
    .use(httpHeaderNormalizer())
    .use(
      httpCors({
        origins: config.corsOrigins,
        headers: 'Content-Type,Idempotency-Key,X-Correlation-Id,X-Api-Key,Authorization',
        methods: 'GET,POST,OPTIONS',
        // A preflight (OPTIONS) is answered here, 204, before the router (which has no OPTIONS routes).
        disableBeforePreflightResponse: false,
      }),
    )
    .use(
      flushMetrics({
        namespace: config.metricsNamespace,
        stage: config.stage,
        mode: config.metricsMode,
        client: deps.cloudWatch,
        logger: log,
      }),
    )
    .use(errorLogger({ logger: (request: { error: unknown }) => log.debug({ err: request.error }, 'request failed') }))
    .use(httpErrorHandler({ logger: false }))
    .use(httpErrors({ logger: log, onRejected: (context) => (context as ApiContext).metrics?.count(METRIC.REJECTED) }))
    .handler(
      httpRouterHandler([
        { method: 'POST', path: '/orders', handler: postOrder },
        { method: 'GET', path: '/orders/{id}', handler: getOrder },
        { method: 'POST', path: '/orders/{id}/cancel', handler: cancel },
      ]) as never,
    )
}

let api: ReturnType<typeof buildApi> | undefined
/** The Lambda entry point (tp-order-api): configuration and clients are decided here, once per cold start. */
export const handler = (event: APIGatewayProxyEvent | APIGatewayProxyEventV2, context: Context) => {
  api ??= buildApi({
    config: loadConfig(['ordersTable', 'mainQueueUrl']),
    dynamo: dynamoClient(),
    sqs: sqsClient(),
  })
  return api(event as HttpEvent, context as ApiContext)
}
