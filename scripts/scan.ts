/**
 * npm run scan: the orders table, filtered by status (no personal data printed).
 */
import { Command, Option } from 'commander'
import { paginateScan } from '@aws-sdk/lib-dynamodb'
import { documentClient, formatTable, run, tableName, withAwsOptions, type AwsOptions } from './cli.ts'

export const STATUSES = ['PROCESSED', 'PENDING_STOCK', 'REJECTED', 'CONFLICT'] as const
type Status = (typeof STATUSES)[number]

export interface OrderRow {
  order_id: string
  status: string
  stock: string
  amount: string
  at: string
  reason: string
}

/** One row per order record, rejection and conflict. */
export const toRow = (item: Record<string, unknown>): OrderRow | undefined => {
  const sk = String(item.sk ?? '')
  if (!String(item.pk ?? '').startsWith('ORDER#')) return undefined
  if (sk === 'ORDER') {
    const order = item.order as { amount?: number; currency?: string } | undefined
    return {
      order_id: String(item.order_id),
      status: 'PROCESSED',
      stock: String(item.stock_status ?? ''),
      amount: order?.amount !== undefined ? `${order.amount.toFixed(2)} ${order.currency ?? ''}` : '',
      at: String(item.processed_at ?? ''),
      reason: '',
    }
  }
  return {
    order_id: String(item.order_id),
    status: String(item.status),
    stock: '',
    amount: '',
    at: String(item.rejected_at ?? ''),
    reason: String(item.message ?? '').slice(0, 100),
  }
}

export const matches = (row: OrderRow, status?: Status): boolean =>
  status === undefined || (status === 'PENDING_STOCK' ? row.stock === 'PENDING_STOCK' : row.status === status)

const program = withAwsOptions(new Command('scan'))
  .description('List the orders table: orders, rejections and conflicts, newest first, filtered by status.')
  .addOption(new Option('--status <status>', 'only this status').choices([...STATUSES]))
  .addOption(new Option('--limit <n>', 'at most n rows').default(50).argParser(Number))
  .addHelpText('after', '\nA scan reads the whole table: meant for operations, not for the hot path.')
  .action(async (options: AwsOptions & { status?: Status; limit: number }) => {
    const client = documentClient(options)
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
