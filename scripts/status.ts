/**
 * npm run status: the stack and its outputs, queue and DLQ depths with the age of the oldest message, orders by
 * outcome, and the last hour of the outcome metrics.
 */
import { Command, Option } from 'commander'
import { readStack } from './stack/deployment.ts'
import { join } from 'node:path'
import { outcomeMetrics, queueStatus } from './ops/observe.ts'
import { countOrders } from './ops/orders.ts'
import { run, withAwsOptions, type AwsOptions } from './cli.ts'
import { dynamoClient, sqsClient, cloudWatchClient, cloudFormationClient, isLocalEndpoint } from '../lib/aws/clients.ts'
import { formatTable } from './format.ts'
import { pathOption } from './ops/paths.ts'

const program = withAwsOptions(new Command('status'))
  .description('Show the stack, its queues and DLQs, orders by outcome and the last hour of metrics.')
  .option('--stack-name <name>', 'stack name (default <prefix>-order-pipeline)')
  .addOption(
    new Option(
      '--log-dir <dir>',
      "the local runner's log folder: with a local --endpoint, counts the functions logged as EMF while CloudWatch was down are added (default .build/local/logs)",
    ).argParser(pathOption('--log-dir')),
  )
  .action(async (options: AwsOptions & { stackName?: string; logDir?: string }) => {
    const cfn = cloudFormationClient(options)
    const cw = cloudWatchClient(options)
    const sqs = sqsClient(options)
    const { stackName, stack, parameter, deployment: d } = await readStack(cfn, options)
    const [namespace, stage] = [parameter('MetricsNamespace', 'OrderPipeline'), parameter('Stage', 'dev')]

    const queues = await Promise.all([
      queueStatus(sqs, cw, 'ingest', d.ingestQueueUrl, false),
      queueStatus(sqs, cw, 'ingest DLQ', d.ingestDlqUrl, true),
      queueStatus(sqs, cw, 'main', d.mainQueueUrl, false),
      queueStatus(sqs, cw, 'main DLQ', d.mainDlqUrl, true),
    ])
    const outcomes = await countOrders(dynamoClient(options), d.table)
    // Locally nothing turns the functions' EMF lines into metrics: read them from the runner's logs.
    const logDir = options.logDir ?? (isLocalEndpoint(options.endpoint) ? join('.build', 'local', 'logs') : undefined)
    const metrics = await outcomeMetrics(cw, namespace, stage, logDir)
    const result = {
      stack: {
        name: stackName,
        status: stack?.StackStatus,
        updated: (stack?.LastUpdatedTime ?? stack?.CreationTime)?.toISOString(),
        stage,
        outputs: Object.fromEntries((stack?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue])),
      },
      deployment: d,
      queues,
      orders: outcomes,
      metrics,
    }
    if (options.json) {
      console.log(JSON.stringify(result, null, 2))
      return
    }
    console.log(`stack ${stackName}: ${stack?.StackStatus} (updated ${result.stack.updated}, stage ${stage})`)
    const outputs = Object.entries(result.stack.outputs)
    if (outputs.length > 0)
      console.log(
        formatTable(
          outputs.map(([output, value]) => ({ output, value })),
          ['output', 'value'],
        ),
      )
    else console.log(`table ${d.table}, bucket ${d.bucket} (no stack Outputs here: npm run outputs lists every name)`)
    console.log(`\n${formatTable(queues, ['queue', 'waiting', 'in flight', 'oldest message'])}`)
    console.log(
      `\norders in ${d.table} (a PENDING_STOCK order is also PROCESSED)\n${formatTable(
        Object.entries(outcomes).map(([status, count]) => ({ status, count })),
        ['status', 'count'],
      )}`,
    )
    console.log(`\nmetrics (${namespace}, Stage ${stage})\n${formatTable(metrics, ['metric', 'last hour'])}`)
  })

if (import.meta.url === `file://${process.argv[1]}`) await run(program)
export { program }
