/**
 * lib/aws/erase.ts on the moto server: a customer's order records lose their personal data, found through the
 * by_customer index, and keep what the business keeps; a second run changes nothing; other customers are untouched.
 */
import anyTest, { type TestFn } from 'ava'
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { customerOrderIds, eraseCustomer, personalPathsOf } from '../../../lib/aws/erase.ts'
import { orderKey, storeOrder } from '../../../lib/aws/table.ts'
import type { Order } from '../../../lib/orders/order.ts'
import { createResources, useMoto, type Clients, type Moto } from '../../helpers/moto.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients }>
useMoto(test)

const order = (id: string, customer: string): Order => ({
  order_id: id,
  customer_id: customer,
  created_at: '2026-01-07T10:00:00Z',
  currency: 'EUR',
  amount: 20,
  items: [{ sku: 'SKU-1', qty: 2, unit_price: 10 }],
  customer: {
    name: 'Ana Souza',
    email: 'ana@example.com',
    phone: '+55 11 99999-0000',
    cpf: '123.456.789-09',
    address: { street: 'Rua A 1', city: 'São Paulo', country: 'BR' } as never,
  },
  shipping: { method: 'express', cost: 5, address: { street: 'Rua A 1', city: 'São Paulo', country: 'BR' } as never },
  notes: 'ring twice, ask for Ana',
})

test("erase removes the customer's personal data from each of their order records, keeps the rest, and is idempotent", async (t) => {
  const { dynamo } = t.context.clients
  const table = (await createResources(t.context.clients, 'erase1')).ordersTable
  let second = 0
  for (const o of [order('E-1', 'C-ANA'), order('E-2', 'C-ANA'), order('E-3', 'C-BOB')])
    await storeOrder(dynamo, table, o, `hash-${o.order_id}`, {
      stockTracking: false,
      now: `2026-01-07T11:00:0${second++}Z`,
    })
  t.deepEqual(await customerOrderIds(dynamo, table, 'C-ANA'), ['E-1', 'E-2'], 'by the index')
  // A dry run changes nothing.
  const dry = await eraseCustomer(dynamo, table, 'C-ANA', { now: '2026-01-08T00:00:00Z', dryRun: true })
  t.deepEqual(
    dry.map((r) => r.removed),
    [
      ['customer', 'shipping.address', 'notes'],
      ['customer', 'shipping.address', 'notes'],
    ],
  )
  const get = async (id: string) =>
    (await dynamo.send(new GetCommand({ TableName: table, Key: orderKey(id), ConsistentRead: true }))).Item!
  t.truthy((await get('E-1')).order.customer, 'untouched by the dry run')
  // Act
  const progress: number[] = []
  const erased = await eraseCustomer(dynamo, table, 'C-ANA', {
    now: '2026-01-08T00:00:00Z',
    onRecord: (_r, done) => progress.push(done),
  })
  // Assess
  t.deepEqual(progress, [1, 2])
  t.deepEqual(
    erased.map((r) => [r.orderId, r.removed.length]),
    [
      ['E-1', 3],
      ['E-2', 3],
    ],
  )
  const kept = await get('E-1')
  t.is(kept.order.customer, undefined)
  t.is(kept.order.notes, undefined)
  t.deepEqual(kept.order.shipping, { method: 'express', cost: 5 })
  t.like(kept, { order_id: 'E-1', customer_id: 'C-ANA', hash: 'hash-E-1', status: 'PROCESSED', amount_cents: 2000 })
  t.deepEqual(kept.order.items, [{ sku: 'SKU-1', qty: 2, unit_price: 10, stock: 'UNTRACKED' }])
  t.is(kept.erased_at, '2026-01-08T00:00:00Z')
  for (const field of ['Ana', 'ana@example.com', '99999', '123.456.789', 'Rua A'])
    t.false(JSON.stringify(kept).includes(field), `${field} is gone`)
  // Again: nothing left to remove.
  const again = await eraseCustomer(dynamo, table, 'C-ANA', { now: '2026-01-09T00:00:00Z' })
  t.deepEqual(
    again.map((r) => r.removed),
    [[], []],
  )
  t.is((await get('E-1')).erased_at, '2026-01-08T00:00:00Z', 'the first erasure is the one recorded')
  // Another customer's record keeps its data.
  t.is((await get('E-3')).order.customer.email, 'ana@example.com')
})

test('the personal paths of an order: only those it holds', (t) => {
  t.deepEqual(personalPathsOf(order('X', 'C')), ['customer', 'shipping.address', 'notes'])
  t.deepEqual(
    personalPathsOf({ ...order('X', 'C'), customer: undefined, notes: undefined, shipping: { method: 'm' } }),
    [],
  )
  t.deepEqual(personalPathsOf(undefined), [])
})
