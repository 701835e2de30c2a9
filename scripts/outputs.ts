/**
 * npm run outputs: the names and URLs of a deployment (table, bucket, queues, topic, functions, API), read from the
 * stack's resources, nested stacks included. Works against AWS and against the local stack, where moto shows no
 * root Outputs.
 */
import { Command } from 'commander'
import { describeDeployment, listResources } from './stack/deployment.ts'
import { run, withDeploymentOptions, type AwsOptions } from './cli.ts'
import { cloudFormationClient } from '../lib/aws/clients.ts'
import { formatTable } from './format.ts'
import { stackNameOf } from './stack/deployment.ts'

interface Options extends AwsOptions {
  stackName?: string
  /** The running local stack's API (cli.ts sets it when the local stack is used). */
  apiUrl?: string
}

const program = withDeploymentOptions(new Command('outputs'))
  .description('Print the names and URLs of a deployed order pipeline.')
  .option('--stack-name <name>', 'stack name (default <prefix>-order-pipeline)')
  .option('--api-url <url>', "the API's URL to print (default: the running npm start's, or the API's AWS URL)")
  .option('--json', 'print JSON')
  .action(async (options: Options) => {
    const local = options.endpoint !== undefined && options.endpoint !== ''
    const cfn = cloudFormationClient(options)
    const stackName = options.stackName ?? stackNameOf(options.prefix)
    const d = describeDeployment(await listResources(cfn, stackName), options.prefix, options.region)
    const apiUrl =
      d.restApiId &&
      (options.apiUrl ??
        (local
          ? 'served by npm start (default http://localhost:3000)'
          : `https://${d.restApiId}.execute-api.${options.region}.amazonaws.com/<stage>`))
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
