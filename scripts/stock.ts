/**
 * npm run stock -- show [SKU...] | set SKU=COUNT... | add SKU=COUNT...
 * Shows, sets and adds to stock levels in the orders table (stock records STOCK#<sku>). After `set` and `add`, the
 * orders waiting for the SKU are reserved, oldest first, until its stock runs out (lib/aws/inventory.ts).
 */
import { Command } from 'commander'
import { addStock, allocatePending, type Allocation } from '../lib/aws/inventory.ts'
import { getStock, listStock, setStock, type StockLevel } from '../lib/aws/table.ts'
import { run, tableName, withAwsOptions, type AwsOptions } from './cli.ts'
import { dynamoClient } from '../lib/aws/clients.ts'
import { formatTable } from './format.ts'
import { eachOf, sku as checkedSku } from './ops/paths.ts'
import { parseLevel } from './ops/stock.ts'

export { parseLevel }

const print = (levels: StockLevel[], options: AwsOptions): void => {
  if (options.json) console.log(JSON.stringify(levels, null, 2))
  else if (levels.length === 0) console.log('no stock records')
  else
    console.log(
      formatTable(levels as unknown as Record<string, unknown>[], ['sku', 'available', 'reserved', 'updated_at']),
    )
}

const program = new Command('stock')
  .description(
    'Show, set and add to stock levels of the order pipeline (available counts per SKU); set and add reserve the waiting orders.',
  )
  .showHelpAfterError()

withAwsOptions(program.command('show'))
  .description('print stock levels: every SKU, or the ones named')
  .argument('[sku...]', 'SKUs to show', eachOf(checkedSku, 'sku'))
  .action(async (skus: string[], options: AwsOptions) => {
    const client = dynamoClient(options)
    const levels =
      skus.length > 0
        ? (await Promise.all(skus.map(async (sku) => getStock(client, tableName(options), sku)))).map(
            (l, i) => l ?? { sku: skus[i]!, available: 0, reserved: 0, updated_at: '(no record: no stock)' },
          )
        : await listStock(client, tableName(options))
    print(levels, options)
  })

/** What a restock did for the orders waiting for each SKU, one line each (stderr when --json prints the levels). */
const tell = (sku: string, allocation: Allocation, options: AwsOptions): void => {
  if (allocation.reserved.length === 0 && allocation.waiting === 0) return
  const line =
    `${sku}: reserved for ${allocation.reserved.length} waiting order(s)` +
    (allocation.completed.length > 0 ? `, ${allocation.completed.length} now RESERVED` : '') +
    (allocation.waiting > 0 ? `; ${allocation.waiting} still waiting` : '')
  if (options.json) console.error(line)
  else console.log(line)
}

withAwsOptions(program.command('set'))
  .description('set available counts (reserved counts are kept), then reserve the orders waiting for them')
  .argument('<level...>', 'SKU=COUNT pairs, e.g. SKU-1=10 SKU-2=0')
  .action(async (args: string[], options: AwsOptions) => {
    const levels = args.map(parseLevel)
    const client = dynamoClient(options)
    const now = new Date().toISOString()
    for (const [sku, available] of levels) {
      await setStock(client, tableName(options), sku, available, now)
      tell(sku, await allocatePending(client, tableName(options), sku, now), options)
    }
    print(await Promise.all(levels.map(async ([sku]) => (await getStock(client, tableName(options), sku))!)), options)
  })

withAwsOptions(program.command('add'))
  .description(
    'add to available counts (stock arrived), then reserve the orders waiting for it, oldest first, until it runs out',
  )
  .argument('<level...>', 'SKU=COUNT pairs, e.g. SKU-1=5')
  .action(async (args: string[], options: AwsOptions) => {
    const levels = args.map(parseLevel)
    const client = dynamoClient(options)
    const now = new Date().toISOString()
    for (const [sku, qty] of levels) tell(sku, await addStock(client, tableName(options), sku, qty, now), options)
    print(await Promise.all(levels.map(async ([sku]) => (await getStock(client, tableName(options), sku))!)), options)
  })

if (import.meta.url === `file://${process.argv[1]}`) await run(program)
export { program }
