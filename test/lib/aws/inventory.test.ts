/**
 * lib/aws/inventory.ts on the moto server: restocks reserve the waiting orders oldest first, exactly once under
 * concurrent restocks; cancels give the reserved stock back once, and remove the order's waits.
 */
import anyTest, { type TestFn } from 'ava'
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb'
import { addStock, allocatePending, CancelRefusedError, cancelOrder } from '../../../lib/aws/inventory.ts'
import { getStock, orderKey, setStock, stockKey, storeOrder } from '../../../lib/aws/table.ts'
import type { Order } from '../../../lib/orders/order.ts'
import { createResources, useMoto, type Clients, type Moto } from '../../helpers/moto.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients }>
useMoto(test)

let prefixes = 0
const table = async (t: { context: { clients: Clients } }) =>
  (await createResources(t.context.clients, `inv${++prefixes}`)).ordersTable

const order = (id: string, items: [string, number][], minute = 0): Order => ({
  order_id: id,
  customer_id: 'C-1',
  created_at: `2026-01-07T10:${String(minute).padStart(2, '0')}:00Z`,
  currency: 'EUR',
  amount: items.reduce((sum, [, qty]) => sum + qty * 10, 0),
  items: items.map(([sku, qty]) => ({ sku, qty, unit_price: 10 })),
})

/** Stores orders one after the other (processed_at a second apart: oldest first). */
const store = async (t: { context: { clients: Clients } }, name: string, orders: Order[]) => {
  let second = 0
  for (const o of orders)
    await storeOrder(t.context.clients.dynamo, name, o, `hash-${o.order_id}`, {
      stockTracking: true,
      now: `2026-01-07T11:00:${String(second++).padStart(2, '0')}Z`,
    })
}

const record = async (t: { context: { clients: Clients } }, name: string, id: string) =>
  (await t.context.clients.dynamo.send(new GetCommand({ TableName: name, Key: orderKey(id), ConsistentRead: true })))
    .Item!

const pendingOf = async (t: { context: { clients: Clients } }, name: string, sku: string) =>
  (
    await t.context.clients.dynamo.send(
      new QueryCommand({
        TableName: name,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
        ExpressionAttributeValues: { ':pk': stockKey(sku).pk, ':p': 'PENDING#' },
      }),
    )
  ).Items ?? []

test('an order short of stock waits in a pending-item record per SKU; a restock reserves the oldest first', async (t) => {
  const name = await table(t)
  await setStock(t.context.clients.dynamo, name, 'SKU-X', 0, '2026-01-07T09:00:00Z')
  await store(t, name, [order('O-1', [['SKU-X', 1]]), order('O-2', [['SKU-X', 1]]), order('O-3', [['SKU-X', 1]])])
  t.deepEqual(
    (await pendingOf(t, name, 'SKU-X')).map((p) => p.order_id),
    ['O-1', 'O-2', 'O-3'],
    'oldest first, without a scan',
  )
  t.like(await record(t, name, 'O-1'), { stock_status: 'PENDING_STOCK', pending_count: 1 })
  // Act
  const allocation = await addStock(t.context.clients.dynamo, name, 'SKU-X', 2, '2026-01-07T12:00:00Z')
  // Assess
  t.deepEqual(allocation, { reserved: ['O-1', 'O-2'], completed: ['O-1', 'O-2'], available: 0, waiting: 1 })
  for (const id of ['O-1', 'O-2']) {
    const r = await record(t, name, id)
    t.is(r.stock_status, 'RESERVED', `${id}`)
    t.is(r.pending_count, undefined, `${id}`)
    t.is((r.order as Order & { items: { stock: string }[] }).items[0]!.stock, 'RESERVED', `${id}`)
  }
  t.is((await record(t, name, 'O-3')).stock_status, 'PENDING_STOCK')
  t.like(await getStock(t.context.clients.dynamo, name, 'SKU-X'), { available: 0, reserved: 2 })
  t.deepEqual(
    (await pendingOf(t, name, 'SKU-X')).map((p) => p.order_id),
    ['O-3'],
  )
})

test('an order waiting for two SKUs becomes RESERVED with the restock of the second, not the first', async (t) => {
  const name = await table(t)
  await store(t, name, [
    order('O-AB', [
      ['SKU-A', 2],
      ['SKU-B', 1],
    ]),
  ])
  t.like(await record(t, name, 'O-AB'), { stock_status: 'PENDING_STOCK', pending_count: 2 })
  const first = await addStock(t.context.clients.dynamo, name, 'SKU-A', 5, '2026-01-07T12:00:00Z')
  t.deepEqual([first.reserved, first.completed, first.available], [['O-AB'], [], 3])
  t.like(await record(t, name, 'O-AB'), { stock_status: 'PENDING_STOCK', pending_count: 1 })
  const second = await addStock(t.context.clients.dynamo, name, 'SKU-B', 1, '2026-01-07T12:01:00Z')
  t.deepEqual(second.completed, ['O-AB'])
  t.like(await record(t, name, 'O-AB'), { stock_status: 'RESERVED' })
  t.is((await record(t, name, 'O-AB')).pending_count, undefined)
  // Restocking again reserves nothing twice.
  const again = await allocatePending(t.context.clients.dynamo, name, 'SKU-A', '2026-01-07T12:02:00Z')
  t.deepEqual([again.reserved, again.available], [[], 3])
})

test('concurrent restocks reserve each waiting order exactly once, and no unit twice', async (t) => {
  const name = await table(t)
  const orders = Array.from({ length: 6 }, (_, i) => order(`O-${i}`, [['SKU-HOT', 1]]))
  await store(t, name, orders)
  // Act: 10 restocks of one unit each, at once.
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      addStock(t.context.clients.dynamo, name, 'SKU-HOT', 1, `2026-01-07T12:00:${String(i).padStart(2, '0')}Z`),
    ),
  )
  // Assess
  const reserved = results.flatMap((r) => r.reserved).sort()
  t.deepEqual(reserved, orders.map((o) => o.order_id).sort(), 'each order once')
  t.like(await getStock(t.context.clients.dynamo, name, 'SKU-HOT'), { available: 4, reserved: 6 })
  for (const o of orders) t.is((await record(t, name, o.order_id)).stock_status, 'RESERVED', o.order_id)
  t.deepEqual(await pendingOf(t, name, 'SKU-HOT'), [])
})

test('a cancel gives the reserved stock back once and ends the waits; a second cancel is refused with the status', async (t) => {
  const name = await table(t)
  await setStock(t.context.clients.dynamo, name, 'SKU-R', 5, '2026-01-07T09:00:00Z')
  await store(t, name, [
    order('O-C', [
      ['SKU-R', 2],
      ['SKU-P', 1],
    ]),
  ])
  t.like(await getStock(t.context.clients.dynamo, name, 'SKU-R'), { available: 3, reserved: 2 })
  // Act
  const result = await cancelOrder(t.context.clients.dynamo, name, 'O-C', '2026-01-07T12:00:00Z')
  // Assess
  t.deepEqual(result, { orderId: 'O-C', released: { 'SKU-R': 2 }, unwaited: ['SKU-P'] })
  t.like(await record(t, name, 'O-C'), { status: 'CANCELLED', stock_status: 'RELEASED' })
  t.like(await getStock(t.context.clients.dynamo, name, 'SKU-R'), { available: 5, reserved: 0 })
  t.deepEqual(await pendingOf(t, name, 'SKU-P'), [], 'no longer waits')
  const again = await t.throwsAsync(cancelOrder(t.context.clients.dynamo, name, 'O-C', '2026-01-07T12:01:00Z'), {
    instanceOf: CancelRefusedError,
  })
  t.is(again?.status, 'CANCELLED')
  t.like(await getStock(t.context.clients.dynamo, name, 'SKU-R'), { available: 5, reserved: 0 }, 'not twice')
  // A restock of the SKU it waited for reserves nothing for it.
  const restock = await addStock(t.context.clients.dynamo, name, 'SKU-P', 1, '2026-01-07T12:02:00Z')
  t.deepEqual(restock.reserved, [])
  // Not stored, or in payment: refused.
  const missing = await t.throwsAsync(cancelOrder(t.context.clients.dynamo, name, 'O-NONE', '2026-01-07T12:03:00Z'))
  t.is((missing as CancelRefusedError).status, undefined)
})

test('cancels racing each other release the stock once', async (t) => {
  const name = await table(t)
  await setStock(t.context.clients.dynamo, name, 'SKU-R', 5, '2026-01-07T09:00:00Z')
  await store(t, name, [order('O-RACE', [['SKU-R', 3]])])
  const outcomes = await Promise.allSettled(
    Array.from({ length: 5 }, () => cancelOrder(t.context.clients.dynamo, name, 'O-RACE', '2026-01-07T12:00:00Z')),
  )
  t.is(outcomes.filter((o) => o.status === 'fulfilled').length, 1)
  t.true(
    outcomes.every((o) => o.status === 'fulfilled' || o.reason instanceof CancelRefusedError),
    'the others are refused',
  )
  t.like(await getStock(t.context.clients.dynamo, name, 'SKU-R'), { available: 5, reserved: 0 })
})

test('ORDER_RETENTION_DAYS: the order record expires that many days after it is stored; 0 keeps it', async (t) => {
  const name = await table(t)
  const now = '2026-01-07T11:00:00Z'
  await storeOrder(t.context.clients.dynamo, name, order('O-TTL', [['SKU-T', 1]]), 'h', {
    stockTracking: false,
    now,
    retentionDays: 30,
  })
  await storeOrder(t.context.clients.dynamo, name, order('O-KEPT', [['SKU-T', 1]]), 'h', { stockTracking: false, now })
  t.is((await record(t, name, 'O-TTL')).expires_at, Date.parse(now) / 1000 + 30 * 86400)
  t.is((await record(t, name, 'O-KEPT')).expires_at, undefined)
})

test('a cancel racing a restock of one of its SKUs gives back exactly what ends up reserved', async (t) => {
  const name = await table(t)
  for (let round = 0; round < 3; round++) {
    const id = `O-MIX-${round}`
    await store(t, name, [
      order(id, [
        ['SKU-M', 1],
        ['SKU-N', 1],
      ]),
    ])
    await Promise.allSettled([
      addStock(t.context.clients.dynamo, name, 'SKU-M', 1, '2026-01-07T12:00:00Z'),
      cancelOrder(t.context.clients.dynamo, name, id, '2026-01-07T12:00:00Z'),
    ])
    t.is((await record(t, name, id)).status, 'CANCELLED', `${id}`)
  }
  // Every unit added is available again: none is left reserved for a cancelled order.
  t.like(await getStock(t.context.clients.dynamo, name, 'SKU-M'), { available: 3, reserved: 0 })
  t.deepEqual(await pendingOf(t, name, 'SKU-M'), [])
  t.deepEqual(await pendingOf(t, name, 'SKU-N'), [])
})
