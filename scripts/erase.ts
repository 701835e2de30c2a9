/**
 * npm run erase -- --customer ID | --email ADDRESS [--dry-run]
 * Removes a customer's personal data from every order record of theirs (lib/aws/erase.ts): found through the
 * by_customer index, idempotent, each record printed with what was removed.
 */
import { Command, Option } from 'commander'
import { eraseCustomer, type ErasedRecord } from '../lib/aws/erase.ts'
import { dynamoClient } from '../lib/aws/clients.ts'
import { customerIdFromEmail } from '../lib/orders/order.ts'
import { run, tableName, withAwsOptions, type AwsOptions } from './cli.ts'
import { formatTable } from './format.ts'
import { customerId as checkedCustomer, emailAddress } from './ops/paths.ts'

interface EraseOptions extends AwsOptions {
  customer?: string
  email?: string
  dryRun?: boolean
}

const program = withAwsOptions(
  new Command('erase')
    .description(
      "Remove a customer's personal data (names, e-mail, phone, CPF, addresses, notes) from their order records, " +
        'keeping ids, amounts, SKUs, statuses and times. Idempotent; --dry-run shows what would be removed.',
    )
    .addOption(
      new Option('--customer <id>', 'the customer id the orders carry').argParser((v) =>
        checkedCustomer('--customer', v),
      ),
    )
    .addOption(
      new Option(
        '--email <address>',
        'the e-mail of a customer whose id was derived from it (orders of a dialect with an e-mail only)',
      ).argParser((v) => emailAddress('--email', v)),
    )
    .option('--dry-run', 'read and print what would be removed, change nothing')
    .showHelpAfterError()
    .addHelpText(
      'after',
      `
Finds the records through the table's by_customer index (no scan). --email finds the orders whose customer id
was derived from that address (CUST-<hash>); an order that carried a customer id of its own is found by --customer.
What this does not reach (see the README, "Personal data"): the order files as uploaded under orders/ and raw/ of
the intake bucket, and parked messages in the DLQs until they expire.`,
    ),
).action(async (options: EraseOptions) => {
  if (!options.customer === !options.email) throw new Error('give one of --customer <id> or --email <address>')
  const customer = options.customer ?? customerIdFromEmail(options.email!)
  const client = dynamoClient(options)
  const records = await eraseCustomer(client, tableName(options), customer, {
    now: new Date().toISOString(),
    dryRun: options.dryRun,
    onRecord: (_record, done, total) => {
      if (!options.json && process.stderr.isTTY) process.stderr.write(`\r${done}/${total} order records`)
    },
  })
  if (!options.json && process.stderr.isTTY && records.length > 0) process.stderr.write('\n')
  const changed = records.filter((r) => r.removed.length > 0)
  if (options.json) {
    console.log(JSON.stringify({ customer, dryRun: Boolean(options.dryRun), records }, null, 2))
    return
  }
  if (records.length === 0) {
    console.log(`no order records of customer ${customer}`)
    return
  }
  const rows = records.map((r: ErasedRecord) => ({
    order_id: r.orderId,
    [options.dryRun ? 'would remove' : 'removed']: r.removed.join(', ') || '(nothing left)',
  }))
  console.log(formatTable(rows, ['order_id', options.dryRun ? 'would remove' : 'removed']))
  console.log(
    `${options.dryRun ? 'would erase' : 'erased'} ${changed.length} of ${records.length} order records of customer ${customer}`,
  )
})

if (import.meta.url === `file://${process.argv[1]}`) await run(program)
export { program }
