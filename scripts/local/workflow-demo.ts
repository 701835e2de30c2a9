/**
 * The demo's workflow step: every order the demo stored runs through the order workflow (the state machine,
 * started from the table's stream by the starter), and each must end where its payment puts it: the approved ones
 * NOTIFIED with a payment id, the declined one PAYMENT_FAILED with its stock given back, the one waiting for stock
 * still waiting (its execution running, nothing charged). Reports each order's status and execution, and the
 * workflow's metrics.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn'
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { clientConfig, cloudWatchClient, dynamoClient } from '../../lib/aws/clients.ts'
import { orderKey } from '../../lib/aws/table.ts'
import { METRIC } from '../../lib/orders/outcomes.ts'
import { executionArnOf } from '../../lib/workflow/execution.ts'
import { formatTable } from '../format.ts'
import { outcomeMetrics } from '../ops/observe.ts'
import type { Deployment } from '../stack/deployment.ts'

/** Where an order's workflow must end. */
export type WorkflowExpectation = 'NOTIFIED' | 'PAYMENT_FAILED' | 'WAITING_FOR_STOCK'

export interface WorkflowDemoOptions {
  deployment: Deployment & { stateMachineArn: string }
  endpoint: string
  region: string
  stage: string
  metricsNamespace: string
  logDir?: string
  /** Order id → where its workflow must end. */
  orders: Record<string, WorkflowExpectation>
  timeoutSeconds?: number
  print?: (text: string) => void
}

interface Seen {
  status: string
  execution: string
  detail: string
  actual: WorkflowExpectation | undefined
}

export const WORKFLOW_METRICS = [
  METRIC.PAYMENTS_SUCCEEDED,
  METRIC.PAYMENTS_FAILED,
  METRIC.NOTIFICATIONS_SENT,
  METRIC.WORKFLOWS_FAILED,
] as const

/** Runs the step; true when every order's workflow ended where it must. */
export const runWorkflowDemo = async (options: WorkflowDemoOptions): Promise<boolean> => {
  const { deployment: d } = options
  const print = options.print ?? ((text: string) => console.log(text))
  const dynamo = dynamoClient(options)
  const sfn = new SFNClient(clientConfig(options))
  const deadline = Date.now() + (options.timeoutSeconds ?? 90) * 1000

  const look = async (orderId: string): Promise<Seen> => {
    const { Item } = await dynamo.send(new GetCommand({ TableName: d.table, Key: orderKey(orderId) }))
    const execution = await sfn
      .send(new DescribeExecutionCommand({ executionArn: executionArnOf(d.stateMachineArn, orderId) }))
      .then((e) => e.status ?? 'UNKNOWN')
      .catch(() => 'NOT STARTED')
    const status = String(Item?.status ?? 'not stored')
    const actual: WorkflowExpectation | undefined =
      status === 'NOTIFIED' && execution === 'SUCCEEDED'
        ? 'NOTIFIED'
        : status === 'PAYMENT_FAILED' && Item?.stock_released_at && execution === 'SUCCEEDED'
          ? 'PAYMENT_FAILED'
          : status === 'PROCESSED' && Item?.stock_status === 'PENDING_STOCK' && execution === 'RUNNING'
            ? 'WAITING_FOR_STOCK'
            : undefined
    const detail =
      status === 'NOTIFIED' || status === 'PAID'
        ? `payment ${String(Item?.payment_id)}`
        : status === 'PAYMENT_FAILED'
          ? `stock ${String(Item?.stock_status)}; ${(Item?.order as { items?: { sku: string; qty: number; stock: string }[] })?.items?.map((i) => `${i.sku} ×${i.qty} ${i.stock}`).join(', ') ?? ''}`
          : `stock ${String(Item?.stock_status ?? '?')}`
    return { status, execution, detail, actual }
  }

  print('\nthe order workflow: each stored order through payment and notification')
  const seen = new Map<string, Seen>()
  for (;;) {
    for (const orderId of Object.keys(options.orders)) seen.set(orderId, await look(orderId))
    const settled = Object.entries(options.orders).every(([id, expected]) => seen.get(id)?.actual === expected)
    if (settled || Date.now() > deadline) break
    await sleep(500)
  }
  const rows = Object.entries(options.orders).map(([orderId, expected]) => {
    const s = seen.get(orderId)!
    return {
      order: orderId.length > 40 ? `…${orderId.slice(-38)}` : orderId,
      expected,
      status: s.status,
      execution: s.execution,
      ok: s.actual === expected ? 'yes' : 'NO',
      detail: s.detail,
    }
  })
  print(formatTable(rows, ['order', 'expected', 'status', 'execution', 'ok', 'detail']))

  const metrics = await outcomeMetrics(
    cloudWatchClient(options),
    options.metricsNamespace,
    options.stage,
    options.logDir,
    WORKFLOW_METRICS,
  )
  print(`\nworkflow metrics (namespace ${options.metricsNamespace}, Stage ${options.stage})`)
  print(formatTable(metrics, ['metric', 'last hour']))

  const ok = rows.every((r) => r.ok === 'yes')
  print(
    `\n${ok ? 'every workflow ended where it must' : `${rows.filter((r) => r.ok !== 'yes').length} workflows did NOT end where they must`}`,
  )
  return ok
}
