/**
 * npm run scan: the orders table, filtered by status (no personal data printed).
 */
import { Command, Option } from 'commander'
import { paginateScan } from '@aws-sdk/lib-dynamodb'
import { dynamoClient } from '../lib/aws/clients.ts'
import { matches, STATUSES, toRow, type OrderRow, type Status } from './ops/orders.ts'
import { formatTable } from './format.ts'
import { run, tableName, withAwsOptions, type AwsOptions } from './cli.ts'

const program = withAwsOptions(new Command('scan'))
  .description('List the orders table: orders, rejections and conflicts, newest first, filtered by status.')
  .addOption(new Option('--status <status>', 'only this status').choices([...STATUSES]))
  .addOption(new Option('--limit <n>', 'at most n rows').default(50).argParser(Number))
  .addHelpText('after', '\nA scan reads the whole table: meant for operations, not for the hot path.')
  .action(async (options: AwsOptions & { status?: Status; limit: number }) => {
    const client = dynamoClient(options)
    const rows: OrderRow[] = []
    for await (const page of paginateScan(
      { client },
      {
        TableName: tableName(options),
        FilterExpression: 'begins_with(pk, :order)',
        ExpressionAttributeValues: { ':order': 'ORDER#' },
      },
    )) {
      for (const item of page.Items ?? []) {
        const row = toRow(item)
        if (row && matches(row, options.status)) rows.push(row)
      }
    }
    const shown = rows.sort((a, b) => b.at.localeCompare(a.at)).slice(0, options.limit)
    if (options.json) console.log(JSON.stringify(shown, null, 2))
    else
      console.log(
        shown.length === 0
          ? 'no orders'
          : `${formatTable(shown as unknown as Record<string, unknown>[], ['order_id', 'status', 'stock', 'amount', 'at', 'reason'])}\n${shown.length} of ${rows.length}`,
      )
  })

if (import.meta.url === `file://${process.argv[1]}`) await run(program)
export { program }
