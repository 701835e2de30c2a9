/**
 * npm run outputs: the names and URLs of a deployment (table, bucket, queues, topic, functions, API), read from the
 * stack's resources, nested stacks included. Works against AWS and against the local stack, where moto shows no
 * root Outputs.
 */
import { Command, Option } from 'commander'
import { describeDeployment, listResources } from './stack/deployment.ts'
import { run } from './cli.ts'
import { cloudFormationClient } from '../lib/aws/clients.ts'
import { formatTable } from './format.ts'
import { stackNameOf } from './stack/deployment.ts'

interface Options {
  prefix: string
  stackName?: string
  region: string
  endpoint?: string
  json?: boolean
}

const program = new Command('outputs')
  .description('Print the names and URLs of a deployed order pipeline.')
  .addOption(new Option('--prefix <prefix>', 'name prefix of the deployment').env('NAME_PREFIX').default('tp'))
  .option('--stack-name <name>', 'stack name (default <prefix>-order-pipeline)')
  .addOption(new Option('--region <region>', 'AWS region').env('AWS_REGION').default('eu-west-3'))
  .addOption(
    new Option('--endpoint <url>', 'AWS endpoint, e.g. the local stack http://localhost:5000').env('AWS_ENDPOINT_URL'),
  )
  .option('--json', 'print JSON')
  .action(async (options: Options) => {
    const local = options.endpoint !== undefined
    const cfn = cloudFormationClient(options)
    const stackName = options.stackName ?? stackNameOf(options.prefix)
    const d = describeDeployment(await listResources(cfn, stackName), options.prefix, options.region)
    const apiUrl =
      d.restApiId &&
      (local
        ? 'served by npm start (default http://localhost:3000)'
        : `https://${d.restApiId}.execute-api.${options.region}.amazonaws.com/<stage>`)
    const rows = {
      stack: stackName,
      table: d.table,
      bucket: d.bucket,
      'main queue': d.mainQueueUrl,
      'main DLQ': d.mainDlqUrl,
      'ingest queue': d.ingestQueueUrl,
      'ingest DLQ': d.ingestDlqUrl,
      'alert topic': d.alertTopicArn ?? '',
      api: apiUrl ?? '',
      functions: Object.values(d.functions).join(', '),
    }
    if (options.json) console.log(JSON.stringify({ ...d, stackName, apiUrl }, null, 2))
    else
      console.log(
        formatTable(
          Object.entries(rows).map(([name, value]) => ({ name, value })),
          ['name', 'value'],
        ),
      )
  })

if (import.meta.url === `file://${process.argv[1]}`) await run(program)
export { program }
