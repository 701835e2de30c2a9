/**
 * npm run status: the stack and its outputs, queue and DLQ depths with the age of the oldest message, orders by
 * outcome, and the last hour of the outcome metrics.
 */
import { Command } from 'commander'
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation'
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch'
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { paginateScan } from '@aws-sdk/lib-dynamodb'
import { describeDeployment, listResources } from './local/stack.ts'
import { describeMessage, receiveAll } from './ops/dlq.ts'
import { toRow } from './scan.ts'
import { clientConfig, documentClient, formatAge, formatTable, run, sqsClient, withAwsOptions, type AwsOptions } from './cli.ts'

const sumLastHour = async (cw: CloudWatchClient, namespace: string, metric: string, dimensions: { Name: string, Value: string }[], statistic: 'Sum' | 'Maximum' = 'Sum') => {
  const { Datapoints = [] } = await cw.send(new GetMetricStatisticsCommand({
    Namespace: namespace, MetricName: metric, Dimensions: dimensions, Statistics: [statistic], Period: 3600,
    StartTime: new Date(Date.now() - 3_600_000), EndTime: new Date(Date.now() + 60_000),
  }))
  if (Datapoints.length === 0) return undefined
  return statistic === 'Sum' ? Datapoints.reduce((a, p) => a + (p.Sum ?? 0), 0) : Math.max(...Datapoints.map((p) => p.Maximum ?? 0))
}

/** Depth and the age of the oldest message: from CloudWatch, else (DLQs only: peeking never harms them) from the messages. */
const queueStatus = async (sqs: SQSClient, cw: CloudWatchClient, name: string, url: string, dlq: boolean) => {
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))
  const waiting = Number(Attributes.ApproximateNumberOfMessages ?? 0)
  let oldest = await sumLastHour(cw, 'AWS/SQS', 'ApproximateAgeOfOldestMessage', [{ Name: 'QueueName', Value: url.split('/').pop()! }], 'Maximum')
  if (oldest === undefined && dlq && waiting > 0) {
    const peeked = (await receiveAll(sqs, url, 0, 100)).map(describeMessage)
    oldest = Math.max(...peeked.map((m) => (Date.now() - m.parkedAt.getTime()) / 1000))
  }
  return { queue: name, waiting, 'in flight': Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0), 'oldest message': oldest === undefined ? (waiting === 0 ? '-' : 'n/a') : formatAge(oldest * 1000) }
}

const program = withAwsOptions(new Command('status'))
  .description('Show the stack, its queues and DLQs, orders by outcome and the last hour of metrics.')
  .option('--stack-name <name>', 'stack name (default <prefix>-order-pipeline)')
  .action(async (options: AwsOptions & { stackName?: string }) => {
    const config = clientConfig(options)
    const cfn = new CloudFormationClient(config)
    const cw = new CloudWatchClient(config)
    const sqs = sqsClient(options)
    const stackName = options.stackName ?? `${options.prefix}-order-pipeline`
    const { Stacks = [] } = await cfn.send(new DescribeStacksCommand({ StackName: stackName })).catch(() => {
      throw new Error(`stack ${stackName} not found (is it deployed, and are --prefix, --region and --endpoint right?)`)
    })
    const stack = Stacks[0]!
    const parameter = (key: string, fallback: string) => stack.Parameters?.find((p) => p.ParameterKey === key)?.ParameterValue ?? fallback
    const d = describeDeployment(await listResources(cfn, stackName), options.prefix, options.region)
    const [namespace, stage] = [parameter('MetricsNamespace', 'OrderPipeline'), parameter('Stage', 'dev')]

    const queues = await Promise.all([
      queueStatus(sqs, cw, 'ingest', d.ingestQueueUrl, false), queueStatus(sqs, cw, 'ingest DLQ', d.ingestDlqUrl, true),
      queueStatus(sqs, cw, 'main', d.mainQueueUrl, false), queueStatus(sqs, cw, 'main DLQ', d.mainDlqUrl, true),
    ])
    const outcomes: Record<string, number> = { PROCESSED: 0, PENDING_STOCK: 0, REJECTED: 0, CONFLICT: 0 }
    for await (const page of paginateScan({ client: documentClient(options) }, { TableName: d.table, ProjectionExpression: 'pk, sk, order_id, #s, stock_status', ExpressionAttributeNames: { '#s': 'status' } })) {
      for (const item of page.Items ?? []) {
        const row = toRow(item)
        if (!row) continue
        outcomes[row.status] = (outcomes[row.status] ?? 0) + 1
        if (row.stock === 'PENDING_STOCK') outcomes.PENDING_STOCK! += 1
      }
    }
    const metrics = await Promise.all(['OrdersAccepted', 'OrdersProcessed', 'OrdersRejected', 'OrdersDuplicate', 'OrdersPendingStock']
      .map(async (metric) => ({ metric, 'last hour': (await sumLastHour(cw, namespace, metric, [{ Name: 'Stage', Value: stage }])) ?? 0 })))
    const result = {
      stack: { name: stackName, status: stack.StackStatus, updated: (stack.LastUpdatedTime ?? stack.CreationTime)?.toISOString(), stage, outputs: Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue])) },
      deployment: d, queues, orders: outcomes, metrics,
    }
    if (options.json) {
      console.log(JSON.stringify(result, null, 2))
      return
    }
    console.log(`stack ${stackName}: ${stack.StackStatus} (updated ${result.stack.updated}, stage ${stage})`)
    const outputs = Object.entries(result.stack.outputs)
    if (outputs.length > 0) console.log(formatTable(outputs.map(([output, value]) => ({ output, value })), ['output', 'value']))
    else console.log(`table ${d.table}, bucket ${d.bucket} (no stack Outputs here: npm run outputs lists every name)`)
    console.log(`\n${formatTable(queues, ['queue', 'waiting', 'in flight', 'oldest message'])}`)
    console.log(`\norders in ${d.table} (a PENDING_STOCK order is also PROCESSED)\n${formatTable(Object.entries(outcomes).map(([status, count]) => ({ status, count })), ['status', 'count'])}`)
    console.log(`\nmetrics (${namespace}, Stage ${stage})\n${formatTable(metrics, ['metric', 'last hour'])}`)
  })

if (import.meta.url === `file://${process.argv[1]}`) await run(program)
export { program }
