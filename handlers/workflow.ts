/**
 * The order workflow's functions, one bundle (dist/workflow):
 *
 * - `handler` (<prefix>-order-workflow-tasks): the state machine's tasks. Each state invokes it with
 *   `{ task, orderId, … }` and it runs that task's middy chain around its core (lib/workflow/tasks.ts); an error
 *   is thrown with its name (PaymentDeclined, PaymentTimeout, OrderNotPayable, …), which the state machine's Retry
 *   and Catch match. One function for the five tasks: they share the table, the topic and one role, and the local
 *   stack hosts one process for them.
 * - `starter` (<prefix>-order-workflow-starter): the table's stream (new PROCESSED order records, by its mapping's
 *   filter) → one execution per order, named after the order id. The stream records every stored order, so an
 *   order whose worker crashed right after the write is started all the same; a repeated start is answered
 *   ExecutionAlreadyExists and counts as started. A record that could not be started is reported as a batch item
 *   failure (Lambda retries from it).
 */
import middy from '@middy/core'
import errorLogger from '@middy/error-logger'
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn'
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import type { SNSClient } from '@aws-sdk/client-sns'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda'
import { clientConfig, dynamoClient, snsClient } from '../lib/aws/clients.ts'
import { LOG, METRIC } from '../lib/orders/outcomes.ts'
import { loadConfig, type Config } from '../lib/runtime/config.ts'
import { logger as baseLogger, type Logger } from '../lib/runtime/logger.ts'
import {
  checkOrderTask,
  PaymentDeclined,
  processPaymentTask,
  releaseStockTask,
  sendNotificationTask,
  type TaskDeps,
} from '../lib/workflow/tasks.ts'
import { executionNameOf } from '../lib/workflow/execution.ts'
import { flushMetrics, type MetricsContext } from '../middlewares/metrics.ts'

export const TASKS = ['checkOrder', 'processPayment', 'sendNotification', 'releaseStock', 'recordFailure'] as const
export type TaskName = (typeof TASKS)[number]

export type TaskEvent = { task: TaskName; orderId: string } & Record<string, unknown>

export type WorkflowConfig = Pick<
  Config,
  | 'ordersTable'
  | 'metricsNamespace'
  | 'metricsMode'
  | 'stage'
  | 'customerTopicArn'
  | 'maxOrderAmount'
  | 'paymentSuccessRate'
  | 'paymentTimeoutRate'
  | 'maxStockWaits'
>

export interface WorkflowDeps {
  config: WorkflowConfig
  dynamo: DynamoDBDocumentClient
  sns: SNSClient
  /** Default: built on the first flush, in METRICS_MODE=api only (emf sends no request). */
  cloudWatch?: CloudWatchClient
  logger?: Logger
  now?: () => Date
}

/** An event that names no task this function has, or no order. */
export class UnknownTask extends Error {
  override readonly name = 'UnknownTask'
}

/** The tasks' middy chain: metrics flushed once, the outcome logged (ids and statuses only), errors thrown by name. */
export const buildTasks = (deps: WorkflowDeps) => {
  const { config } = deps
  const log = deps.logger ?? baseLogger
  const taskDeps: TaskDeps = {
    dynamo: deps.dynamo,
    sns: deps.sns,
    config: {
      ordersTable: config.ordersTable,
      customerTopicArn: config.customerTopicArn,
      maxOrderAmount: config.maxOrderAmount,
      provider: { successRate: config.paymentSuccessRate, timeoutRate: config.paymentTimeoutRate },
      maxStockWaits: config.maxStockWaits,
    },
    now: deps.now ?? (() => new Date()),
  }
  const run = async (event: TaskEvent, context: MetricsContext): Promise<unknown> => {
    const { orderId } = event
    switch (event.task) {
      case 'checkOrder':
        return checkOrderTask({ orderId, waits: Number(event.waits ?? 0) }, taskDeps)
      case 'processPayment':
        try {
          const paid = await processPaymentTask({ orderId }, taskDeps)
          if (paid.charged) context.metrics.count(METRIC.PAYMENTS_SUCCEEDED)
          return paid
        } catch (err) {
          if (err instanceof PaymentDeclined && (err as PaymentDeclined & { charged?: boolean }).charged)
            context.metrics.count(METRIC.PAYMENTS_FAILED)
          throw err
        }
      case 'sendNotification': {
        const sent = await sendNotificationTask(
          { orderId, outcome: event.outcome === 'DECLINED' ? 'DECLINED' : 'PAID' },
          taskDeps,
        )
        if (sent.sent) context.metrics.count(METRIC.NOTIFICATIONS_SENT)
        return sent
      }
      case 'releaseStock':
        return releaseStockTask({ orderId }, taskDeps)
      case 'recordFailure': {
        context.metrics.count(METRIC.WORKFLOWS_FAILED)
        const error = (event.error ?? {}) as { Error?: string; Cause?: string }
        log.error({ orderId, error: error.Error, step: event.step }, LOG.WORKFLOW_FAILED)
        return { orderId, failed: true, error: error.Error ?? 'unknown' }
      }
      default:
        throw new UnknownTask(`No workflow task ${JSON.stringify((event as { task?: unknown }).task)}`)
    }
  }
  return middy<TaskEvent, unknown, Error, MetricsContext>()
    .use(
      flushMetrics({
        namespace: config.metricsNamespace,
        stage: config.stage,
        mode: config.metricsMode,
        client: deps.cloudWatch,
        logger: log,
      }),
    )
    .use(
      errorLogger({
        logger: (request: { error: unknown; event: TaskEvent }) =>
          log.warn(
            { task: request.event?.task, orderId: request.event?.orderId, errorClass: (request.error as Error)?.name },
            'workflow task failed',
          ),
      }),
    )
    .handler(async (event, context) => {
      if (typeof event?.orderId !== 'string' || event.orderId === '')
        throw new UnknownTask('A workflow task needs an orderId')
      const result = await run(event, context)
      log.info({ task: event.task, orderId: event.orderId }, LOG.WORKFLOW_TASK_DONE)
      return result
    })
}

// ---------------------------------------------------------------------------------------------------------------
// The starter

export interface StarterDeps {
  stateMachineArn: string
  sfn: Pick<SFNClient, 'send'>
  logger?: Logger
}

/** The starter's chain: one StartExecution per new order record, ExecutionAlreadyExists being a success. */
export const buildStarter = (deps: StarterDeps) => {
  const log = deps.logger ?? baseLogger
  return middy<DynamoDBStreamEvent, DynamoDBBatchResponse>().handler(async (event) => {
    const failures: DynamoDBBatchResponse['batchItemFailures'] = []
    for (const record of event.Records ?? []) {
      const orderId = record.dynamodb?.NewImage?.order_id?.S
      if (!orderId) continue
      const name = executionNameOf(orderId)
      try {
        await deps.sfn.send(
          new StartExecutionCommand({
            stateMachineArn: deps.stateMachineArn,
            name,
            input: JSON.stringify({ orderId, waits: 0 }),
          }),
        )
        log.info({ orderId, execution: name }, LOG.WORKFLOW_STARTED)
      } catch (err) {
        if ((err as { name?: string }).name === 'ExecutionAlreadyExists') {
          log.info({ orderId, execution: name }, LOG.WORKFLOW_ALREADY_STARTED)
          continue
        }
        log.warn({ orderId, errorClass: (err as Error).name }, 'workflow not started')
        // Lambda retries the batch from the first failed record: report it and stop here, in stream order.
        failures.push({ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' })
        break
      }
    }
    return { batchItemFailures: failures }
  })
}

// ---------------------------------------------------------------------------------------------------------------
// Entry points: configuration and clients decided once per cold start

let tasks: ReturnType<typeof buildTasks> | undefined
/** <prefix>-order-workflow-tasks. */
export const handler = (event: TaskEvent, context: Context) => {
  tasks ??= buildTasks({
    config: loadConfig(['ordersTable']),
    dynamo: dynamoClient(),
    sns: snsClient(),
  })
  return tasks(event, context as Context & MetricsContext)
}

let starter: ReturnType<typeof buildStarter> | undefined
/** <prefix>-order-workflow-starter. */
export const starterHandler = (event: DynamoDBStreamEvent, context: Context) => {
  starter ??= buildStarter({
    stateMachineArn: loadConfig(['stateMachineArn']).stateMachineArn,
    sfn: new SFNClient(clientConfig()),
  })
  return starter(event, context)
}
