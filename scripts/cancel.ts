/**
 * npm run cancel -- ORDER_ID... [--prefix tp] [--endpoint URL]
 * Cancels PROCESSED orders (not yet in payment): each becomes CANCELLED with its reserved stock given back, once
 * (lib/aws/inventory.ts), is counted (OrdersCancelled, in the deployment's namespace and stage) and announced on the
 * alerts topic, as POST /orders/{id}/cancel does. An order cancelled already, in payment or paid is refused with its
 * status; the exit code is 1 when any was refused.
 */
import { Command, Option } from 'commander'
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation'
import { publishAlerts } from '../lib/aws/alerts.ts'
import { cloudFormationClient, cloudWatchClient, dynamoClient, snsClient } from '../lib/aws/clients.ts'
import { CancelRefusedError, cancelOrder, type CancelResult } from '../lib/aws/inventory.ts'
import { MetricsBuffer, publishMetrics } from '../lib/aws/metrics.ts'
import { LOG, METRIC } from '../lib/orders/outcomes.ts'
import { logger } from '../lib/runtime/logger.ts'
import { run, tableName, withAwsOptions, type AwsOptions } from './cli.ts'
import { formatTable } from './format.ts'
import { eachOf, orderId as checkedOrderId } from './ops/paths.ts'
import { readStack, StackNotFoundError } from './stack/deployment.ts'

interface CancelOptions extends AwsOptions {
  stackName?: string
}

/**
 * The alerts topic, namespace and stage of the deployment (its stack), where the cancels are told; undefined when
 * the stack does not exist (the table alone is enough to cancel: nothing is then counted or announced, as said
 * below). Any other failure (credentials, an unreachable endpoint) stops the command.
 */
const deploymentOf = async (cfn: CloudFormationClient, options: CancelOptions) => {
  try {
    const { deployment, parameter } = await readStack(cfn, options)
    return {
      alertTopicArn: deployment.alertTopicArn,
      namespace: parameter('MetricsNamespace', 'OrderPipeline'),
      stage: parameter('Stage', 'dev'),
    }
  } catch (err) {
    if (err instanceof StackNotFoundError) return undefined
    throw err
  }
}

const program = withAwsOptions(
  new Command('cancel')
    .description(
      'Cancel PROCESSED orders (not yet in payment): CANCELLED, their reserved stock given back once, counted and announced.',
    )
    .argument('<order-id...>', 'the orders to cancel', eachOf(checkedOrderId, 'order-id'))
    .addOption(new Option('--stack-name <name>', 'the deployment stack (default <prefix>-order-pipeline)'))
    .showHelpAfterError()
    .addHelpText(
      'after',
      `
A paid order is not cancelled (no refund step): it is refused with its status, as is one in payment or cancelled
already. Exit code 1 when any order was refused or not found.`,
    ),
).action(async (ids: string[], options: CancelOptions) => {
  const dynamo = dynamoClient(options)
  const where = await deploymentOf(cloudFormationClient(options), options)
  const metrics = new MetricsBuffer()
  const rows: Record<string, unknown>[] = []
  const done: CancelResult[] = []
  let refused = 0
  for (const id of ids) {
    try {
      const result = await cancelOrder(dynamo, tableName(options), id, new Date().toISOString())
      done.push(result)
      metrics.count(METRIC.CANCELLED)
      const released = Object.entries(result.released).map(([sku, qty]) => `${sku} +${qty}`)
      rows.push({ order_id: id, status: 'CANCELLED', 'stock back': released.join(', ') || '(none reserved)' })
    } catch (err) {
      if (!(err instanceof CancelRefusedError)) throw err
      refused++
      rows.push({ order_id: id, status: err.status ?? 'not stored', 'stock back': err.message })
    }
  }
  if (where) {
    const log = logger.child({ command: 'cancel' })
    await publishAlerts(
      snsClient(options),
      where.alertTopicArn,
      done.map((r) => ({
        type: 'ORDER_CANCELLED' as const,
        order_id: r.orderId,
        subject: `Order ${r.orderId} cancelled`,
        detail: { released: r.released, stage: where.stage },
      })),
      log,
    )
    await publishMetrics(metrics, {
      client: cloudWatchClient(options),
      namespace: where.namespace,
      stage: where.stage,
      logger: log,
    })
    for (const r of done) log.debug({ orderId: r.orderId, released: r.released }, LOG.ORDER_CANCELLED)
  } else if (done.length > 0) {
    console.error('the deployment stack was not found: the cancels are not counted in CloudWatch nor announced')
  }
  if (options.json) console.log(JSON.stringify(rows, null, 2))
  else console.log(formatTable(rows, ['order_id', 'status', 'stock back']))
  if (refused > 0) process.exitCode = 1
})

if (import.meta.url === `file://${process.argv[1]}`) await run(program)
export { program }
