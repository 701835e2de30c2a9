import anyTest, { type TestFn } from 'ava'
import { program, parseLevel } from '../../scripts/stock.ts'
import { clientsFor, createResources, startMoto, type Clients, type Moto, type Resources } from '../helpers/moto.ts'
import { getStock, storeOrder } from '../../lib/aws/table.ts'
import { runCommand } from '../helpers/cli.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients; r: Resources }>

test.before(async (t) => {
  t.context.moto = await startMoto()
  t.context.clients = clientsFor(t.context.moto.endpoint)
  t.context.r = await createResources(t.context.clients, 'stock')
})
test.after.always((t) => t.context.moto?.stop())

const stock = async (t: { context: { moto: Moto; r: Resources } }, ...args: string[]): Promise<string> =>
  runCommand(program, [...args, '--endpoint', t.context.moto.endpoint, '--table', t.context.r.ordersTable])

test.serial('set writes the available counts and prints them', async (t) => {
  const out = await stock(t, 'set', 'SKU-1=10', 'SKU-2=0')
  t.regex(out, /^sku\s+available\s+reserved\s+updated_at\nSKU-1\s+10\s+0 .*\nSKU-2\s+0\s+0 /)
  t.is((await getStock(t.context.clients.dynamo, t.context.r.ordersTable, 'SKU-1'))?.available, 10)
})

test.serial('show lists every SKU as JSON, and names a SKU without a record', async (t) => {
  await stock(t, 'set', 'SKU-3=7')
  const all = JSON.parse(await stock(t, 'show', '--json')) as { sku: string; available: number }[]
  t.true(all.some((l) => l.sku === 'SKU-3' && l.available === 7))
  t.regex(await stock(t, 'show', 'SKU-NONE'), /SKU-NONE\s+0\s+0\s+\(no record: no stock\)/)
})

test('a level that is not SKU=COUNT is refused with the expected form', (t) => {
  t.throws(() => parseLevel('SKU-1=-3'), { message: /expected SKU=COUNT/ })
  t.deepEqual(parseLevel('SKU-1=12'), ['SKU-1', 12])
})

test.serial('add puts stock on top and reserves the orders waiting for it, oldest first, saying so', async (t) => {
  const { dynamo } = t.context.clients
  const table = t.context.r.ordersTable
  for (const [i, id] of ['W-1', 'W-2'].entries())
    await storeOrder(
      dynamo,
      table,
      {
        order_id: id,
        customer_id: 'C-1',
        created_at: '2026-01-07T10:00:00Z',
        currency: 'EUR',
        amount: 10,
        items: [{ sku: 'SKU-WAIT', qty: 1, unit_price: 10 }],
      },
      `h-${id}`,
      { stockTracking: true, now: `2026-01-07T11:00:0${i}Z` },
    )
  const out = await stock(t, 'add', 'SKU-WAIT=1')
  t.regex(out, /SKU-WAIT: reserved for 1 waiting order\(s\), 1 now RESERVED; 1 still waiting/)
  t.regex(out, /SKU-WAIT\s+0\s+1 /)
  const again = await stock(t, 'add', 'SKU-WAIT=3')
  t.regex(again, /SKU-WAIT: reserved for 1 waiting order\(s\), 1 now RESERVED\n/)
  t.like(await getStock(dynamo, table, 'SKU-WAIT'), { available: 2, reserved: 2 })
})
