/** npm run cancel and npm run erase against the moto server: what they print, change and refuse. */
import anyTest, { type TestFn } from 'ava'
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { program as cancel } from '../../scripts/cancel.ts'
import { program as erase } from '../../scripts/erase.ts'
import { getStock, orderKey, setStock, storeOrder } from '../../lib/aws/table.ts'
import { customerIdFromEmail, type Order } from '../../lib/orders/order.ts'
import { clientsFor, createResources, startMoto, type Clients, type Moto, type Resources } from '../helpers/moto.ts'
import { runCommand } from '../helpers/cli.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients; r: Resources }>

test.before(async (t) => {
  t.context.moto = await startMoto()
  t.context.clients = clientsFor(t.context.moto.endpoint)
  t.context.r = await createResources(t.context.clients, 'cxl')
})
test.after.always((t) => t.context.moto?.stop())

const order = (id: string, customer: string, email?: string): Order => ({
  order_id: id,
  customer_id: customer,
  created_at: '2026-01-07T10:00:00Z',
  currency: 'EUR',
  amount: 30,
  items: [{ sku: 'SKU-C', qty: 3, unit_price: 10 }],
  ...(email ? { customer: { name: 'Ana', email } } : {}),
})

const where = (t: { context: { moto: Moto; r: Resources } }) => [
  '--endpoint',
  t.context.moto.endpoint,
  '--table',
  t.context.r.ordersTable,
  '--prefix',
  'cxl-none',
]

test.serial(
  'cancel gives the stock back and prints it; a second cancel is refused with the status, exit code 1',
  async (t) => {
    const { dynamo } = t.context.clients
    const table = t.context.r.ordersTable
    await setStock(dynamo, table, 'SKU-C', 5, '2026-01-07T09:00:00Z')
    await storeOrder(dynamo, table, order('CX-1', 'C-1'), 'h', { stockTracking: true, now: '2026-01-07T11:00:00Z' })
    const out = await runCommand(cancel, ['CX-1', ...where(t)])
    t.regex(out, /CX-1\s+CANCELLED\s+SKU-C \+3/)
    t.like(await getStock(dynamo, table, 'SKU-C'), { available: 5, reserved: 0 })
    process.exitCode = undefined
    const again = await runCommand(cancel, ['CX-1', 'CX-NONE', ...where(t)])
    t.regex(again, /CX-1\s+CANCELLED\s+Order CX-1 is cancelled already/)
    t.regex(again, /CX-NONE\s+not stored/)
    t.is(process.exitCode as number | undefined, 1)
    process.exitCode = undefined
    t.like(await getStock(dynamo, table, 'SKU-C'), { available: 5, reserved: 0 }, 'not given back twice')
  },
)

test.serial(
  'erase --email finds the customer whose id the e-mail gave, --dry-run first, and says what it removed',
  async (t) => {
    const { dynamo } = t.context.clients
    const table = t.context.r.ordersTable
    const email = 'ana@example.com'
    await storeOrder(dynamo, table, order('ER-1', customerIdFromEmail(email), email), 'h', {
      stockTracking: false,
      now: '2026-01-07T11:00:00Z',
    })
    const dry = await runCommand(erase, ['--email', email, '--dry-run', ...where(t)])
    t.regex(dry, /ER-1\s+customer/)
    t.regex(dry, /would erase 1 of 1 order records/)
    const done = await runCommand(erase, ['--email', email, ...where(t)])
    t.regex(done, /erased 1 of 1 order records/)
    const { Item } = await dynamo.send(
      new GetCommand({ TableName: table, Key: orderKey('ER-1'), ConsistentRead: true }),
    )
    t.is(Item?.order.customer, undefined)
    t.regex(await runCommand(erase, ['--email', email, ...where(t)]), /ER-1\s+\(nothing left\)/)
    await t.throwsAsync(runCommand(erase, where(t)), { message: /give one of --customer <id> or --email <address>/ })
    await t.throwsAsync(runCommand(erase, ['--email', 'not an address', ...where(t)]), { message: /--email must be/ })
  },
)
