/**
 * The order workflow's cores against moto: statuses only move forward, a payment is charged once (the simulated
 * provider's answers decided by the order id), a failed payment's reserved stock comes back once (even when the
 * release runs twice at once), and the tasks chain these as the state machine does, with the customer's message
 * on the notifications topic.
 */
import anyTest, { type TestFn } from 'ava'
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import { getStock, setStock, storeOrder } from '../../../lib/aws/table.ts'
import type { Order } from '../../../lib/orders/order.ts'
import {
  chargeOnce,
  isApproved,
  paymentKey,
  PaymentTimeout,
  timesOut,
  unitHash,
} from '../../../lib/workflow/payment.ts'
import { releaseStock } from '../../../lib/workflow/release.ts'
import { advanceStatus, isAfter, ORDER_STATUS, StatusConflictError } from '../../../lib/workflow/status.ts'
import {
  checkOrderTask,
  OrderNotPayable,
  PaymentDeclined,
  processPaymentTask,
  releaseStockTask,
  sendNotificationTask,
  type TaskDeps,
} from '../../../lib/workflow/tasks.ts'
import { seed } from '../../helpers/fixtures.ts'
import { createResources, drain, useMoto, type Clients, type Moto, type Resources } from '../../helpers/moto.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients }>
useMoto(test)

const NOW = '2026-12-01T10:00:00.000Z'
const PROVIDER = { successRate: 0.9, timeoutRate: 0 }
/** The first order ids the provider approves and declines (its answer is a hash of the id). */
const firstId = (approved: boolean, prefix = 'WF'): string => {
  for (let i = 0; ; i++) if (isApproved(`${prefix}-${i}`, PROVIDER) === approved) return `${prefix}-${i}`
}

const base = seed('tp-valid.json') as unknown as Order
const orderOf = (orderId: string, items = base.items): Order => ({
  ...base,
  order_id: orderId,
  items,
  amount: items.reduce((sum, i) => sum + i.qty * i.unit_price, 0),
})
const store = (clients: Clients, r: Resources, order: Order, stockTracking = false) =>
  storeOrder(clients.dynamo, r.ordersTable, order, `h-${order.order_id}`, { stockTracking, now: NOW })
const statusOf = async (clients: Clients, r: Resources, orderId: string) =>
  (
    await clients.dynamo.send(
      new GetCommand({ TableName: r.ordersTable, Key: { pk: `ORDER#${orderId}`, sk: 'ORDER' } }),
    )
  ).Item

const depsOf = (clients: Clients, r: Resources, overrides: Partial<TaskDeps['config']> = {}): TaskDeps => ({
  dynamo: clients.dynamo,
  sns: clients.sns,
  config: {
    ordersTable: r.ordersTable,
    customerTopicArn: r.alertTopicArn,
    maxOrderAmount: 10000,
    provider: PROVIDER,
    maxStockWaits: 2,
    ...overrides,
  },
  now: () => new Date(NOW),
})

test('the order of statuses: PROCESSED → PAYMENT_PENDING → PAID → NOTIFIED, or PAYMENT_PENDING → PAYMENT_FAILED', (t) => {
  t.true(isAfter('NOTIFIED', 'PROCESSED'))
  t.true(isAfter('PAID', 'PAYMENT_PENDING'))
  t.true(isAfter('PAYMENT_FAILED', 'PROCESSED'))
  t.false(isAfter('PAID', 'PAYMENT_FAILED'))
  t.false(isAfter('PROCESSED', 'PAID'))
  t.false(isAfter('PAID', 'PAID'))
})

test('a status moves forward once, a repeated move changes nothing, and no move goes back or across', async (t) => {
  const { clients } = t.context
  const r = await createResources(clients, 'wf-status')
  await store(clients, r, orderOf('ST-1'))
  // Act
  const first = await advanceStatus(clients.dynamo, r.ordersTable, 'ST-1', 'PAYMENT_PENDING')
  const again = await advanceStatus(clients.dynamo, r.ordersTable, 'ST-1', 'PAYMENT_PENDING')
  const paid = await advanceStatus(clients.dynamo, r.ordersTable, 'ST-1', 'PAID', { payment_id: 'pay_1' })
  const late = await advanceStatus(clients.dynamo, r.ordersTable, 'ST-1', 'PAYMENT_PENDING')
  const across = await t.throwsAsync(advanceStatus(clients.dynamo, r.ordersTable, 'ST-1', 'PAYMENT_FAILED'), {
    instanceOf: StatusConflictError,
  })
  const missing = await t.throwsAsync(advanceStatus(clients.dynamo, r.ordersTable, 'ST-404', 'PAYMENT_PENDING'), {
    instanceOf: StatusConflictError,
  })
  // Assess
  t.deepEqual(
    [first, again, paid, late],
    [
      { status: 'PAYMENT_PENDING', moved: true },
      { status: 'PAYMENT_PENDING', moved: false },
      { status: 'PAID', moved: true },
      { status: 'PAID', moved: false },
    ],
  )
  t.regex(across?.message ?? '', /Order ST-1 is PAID: it cannot become PAYMENT_FAILED/)
  t.regex(missing?.message ?? '', /Order ST-404 is not stored/)
  t.like(await statusOf(clients, r, 'ST-1'), { status: 'PAID', payment_id: 'pay_1', hash: 'h-ST-1' })
})

test("the provider's answers are decided by the order id: about 90 % approved, timeouts by id and attempt", (t) => {
  const ids = Array.from({ length: 2000 }, (_, i) => `ORD-${i}`)
  const approved = ids.filter((id) => isApproved(id, PROVIDER)).length / ids.length
  t.true(approved > 0.87 && approved < 0.93, `${approved}`)
  t.is(isApproved('ORD-7', PROVIDER), isApproved('ORD-7', PROVIDER))
  t.true(isApproved('ORD-7', { successRate: 1, timeoutRate: 0 }))
  t.false(isApproved('ORD-7', { successRate: 0, timeoutRate: 0 }))
  const settings = { successRate: 1, timeoutRate: 0.5 }
  const timeouts = ids.filter((id) => timesOut(id, 1, settings)).length / ids.length
  t.true(timeouts > 0.45 && timeouts < 0.55, `${timeouts}`)
  t.true(
    ids.some((id) => timesOut(id, 1, settings) && !timesOut(id, 2, settings)),
    'a retry can get through',
  )
  t.true(unitHash('a') >= 0 && unitHash('a') < 1)
})

test('a payment is charged once: a second call answers the recorded outcome and only counts the attempt', async (t) => {
  const { clients } = t.context
  const r = await createResources(clients, 'wf-pay')
  const approvedId = firstId(true)
  const declinedId = firstId(false)
  const input = (orderId: string) => ({ orderId, amountCents: 5000, currency: 'EUR', now: NOW })
  // Act
  const first = await chargeOnce(clients.dynamo, r.ordersTable, input(approvedId), PROVIDER)
  const second = await chargeOnce(clients.dynamo, r.ordersTable, input(approvedId), PROVIDER)
  const declined = await chargeOnce(clients.dynamo, r.ordersTable, input(declinedId), PROVIDER)
  const declinedAgain = await chargeOnce(clients.dynamo, r.ordersTable, input(declinedId), {
    successRate: 1,
    timeoutRate: 0,
  })
  // Assess
  t.like(first, { status: 'APPROVED', attempts: 1, charged: true })
  t.like(second, { status: 'APPROVED', attempts: 2, charged: false })
  t.is(first.status === 'APPROVED' && second.status === 'APPROVED' && first.paymentId === second.paymentId, true)
  t.like(declined, { status: 'DECLINED', charged: true })
  t.like(declinedAgain, { status: 'DECLINED', charged: false }, 'the recorded outcome, whatever the provider says now')
  const { Item } = await clients.dynamo.send(new GetCommand({ TableName: r.ordersTable, Key: paymentKey(approvedId) }))
  t.like(Item, { outcome: 'APPROVED', attempts: 2, amount_cents: 5000, currency: 'EUR', type: 'payment' })
})

test('a timed-out attempt records nothing but the attempt; the next attempt can be approved', async (t) => {
  const { clients } = t.context
  const r = await createResources(clients, 'wf-timeout')
  const settings = { successRate: 1, timeoutRate: 0.5 }
  let orderId = ''
  for (let i = 0; !orderId; i++)
    if (timesOut(`TO-${i}`, 1, settings) && !timesOut(`TO-${i}`, 2, settings)) orderId = `TO-${i}`
  const input = { orderId, amountCents: 100, currency: 'EUR', now: NOW }
  // Act
  const error = await t.throwsAsync(chargeOnce(clients.dynamo, r.ordersTable, input, settings), {
    instanceOf: PaymentTimeout,
  })
  const retried = await chargeOnce(clients.dynamo, r.ordersTable, input, settings)
  // Assess
  t.is(error?.name, 'PaymentTimeout')
  t.like(retried, { status: 'APPROVED', attempts: 2, charged: true })
})

test("a failed payment's reserved stock comes back once, even from two releases at once", async (t) => {
  const { clients } = t.context
  const r = await createResources(clients, 'wf-release')
  await setStock(clients.dynamo, r.ordersTable, 'SKU-A', 5, NOW)
  await setStock(clients.dynamo, r.ordersTable, 'SKU-B', 1, NOW)
  const order = orderOf('REL-1', [
    { sku: 'SKU-A', qty: 2, unit_price: 10 },
    { sku: 'SKU-A', qty: 1, unit_price: 10 },
    { sku: 'SKU-B', qty: 3, unit_price: 5 },
  ])
  await store(clients, r, order, true) // SKU-B is short: pending, not reserved
  t.deepEqual(await getStock(clients.dynamo, r.ordersTable, 'SKU-A'), {
    sku: 'SKU-A',
    available: 2,
    reserved: 3,
    updated_at: NOW,
  })
  await t.throwsAsync(releaseStock(clients.dynamo, r.ordersTable, 'REL-1', NOW), { instanceOf: StatusConflictError })
  await advanceStatus(clients.dynamo, r.ordersTable, 'REL-1', 'PAYMENT_PENDING')
  await advanceStatus(clients.dynamo, r.ordersTable, 'REL-1', 'PAYMENT_FAILED')
  // Act
  const results = await Promise.all([
    releaseStock(clients.dynamo, r.ordersTable, 'REL-1', NOW),
    releaseStock(clients.dynamo, r.ordersTable, 'REL-1', NOW),
  ])
  const later = await releaseStock(clients.dynamo, r.ordersTable, 'REL-1', NOW)
  // Assess
  t.deepEqual(results.map((x) => x.already).sort(), [false, true])
  t.deepEqual(results.find((x) => !x.already)?.released, { 'SKU-A': 3 })
  t.deepEqual(later, { released: {}, already: true })
  t.like(await getStock(clients.dynamo, r.ordersTable, 'SKU-A'), { available: 5, reserved: 0 })
  t.like(await getStock(clients.dynamo, r.ordersTable, 'SKU-B'), { available: 1, reserved: 0 })
  const record = await statusOf(clients, r, 'REL-1')
  t.like(record, { status: 'PAYMENT_FAILED', stock_status: 'RELEASED', stock_released_at: NOW })
  t.deepEqual(
    (record?.order as { items: { stock: string }[] }).items.map((i) => i.stock),
    ['RELEASED', 'RELEASED', 'PENDING'],
  )
})

test('the tasks: checked, paid once, notified; a declined one fails its payment, gives its stock back, is told', async (t) => {
  const { clients } = t.context
  const r = await createResources(clients, 'wf-tasks')
  const deps = depsOf(clients, r)
  await setStock(clients.dynamo, r.ordersTable, 'SKU-1', 10, NOW)
  const paidId = firstId(true, 'TASK')
  const declinedId = firstId(false, 'TASK')
  const items = [{ sku: 'SKU-1', qty: 2, unit_price: 12.5 }]
  const customer = { name: 'Ana Lima', email: 'ana@example.com' }
  await store(clients, r, { ...orderOf(paidId, items), customer }, true)
  await store(clients, r, { ...orderOf(declinedId, items), customer }, true)
  // Act: the paid path
  const check = await checkOrderTask({ orderId: paidId, waits: 0 }, deps)
  const payment = await processPaymentTask({ orderId: paidId }, deps)
  const paymentAgain = await processPaymentTask({ orderId: paidId }, deps)
  const notified = await sendNotificationTask({ orderId: paidId, outcome: 'PAID' }, deps)
  const notifiedAgain = await sendNotificationTask({ orderId: paidId, outcome: 'PAID' }, deps)
  // Act: the declined path
  const declined = await t.throwsAsync(processPaymentTask({ orderId: declinedId }, deps), {
    instanceOf: PaymentDeclined,
  })
  const released = await releaseStockTask({ orderId: declinedId }, deps)
  const told = await sendNotificationTask({ orderId: declinedId, outcome: 'DECLINED' }, deps)
  // Assess
  t.like(check, { status: 'PROCESSED', stockStatus: 'RESERVED', amountCents: 2500, waitForStock: false, giveUp: false })
  t.like(payment, { charged: true, attempts: 1 })
  t.like(paymentAgain, { charged: false, paymentId: payment.paymentId })
  t.deepEqual([notified.sent, notified.status, notifiedAgain.sent], [true, 'NOTIFIED', false])
  t.like(await statusOf(clients, r, paidId), { status: 'NOTIFIED', payment_id: payment.paymentId, paid_at: NOW })
  t.is(declined?.name, 'PaymentDeclined')
  t.deepEqual(released.released, { 'SKU-1': 2 })
  t.like(told, { sent: true, status: 'PAYMENT_FAILED' })
  t.like(await statusOf(clients, r, declinedId), { status: 'PAYMENT_FAILED', stock_status: 'RELEASED' })
  t.like(await getStock(clients.dynamo, r.ordersTable, 'SKU-1'), { available: 8, reserved: 2 })
  const messages = (await drain(clients.sqs, r.alertsQueueUrl)).map(
    (m) => JSON.parse(m.Body!) as Record<string, unknown>,
  )
  t.deepEqual(
    messages.map((m) => [m.type, m.order_id, m.status]),
    [
      ['ORDER_PAID', paidId, 'PAID'],
      ['PAYMENT_DECLINED', declinedId, 'PAYMENT_FAILED'],
    ],
  )
  t.like(messages[0], { amount: 25, currency: base.currency, payment_id: payment.paymentId, customer })
})

test('an order waiting for stock is counted a wait each check, and given up after maxStockWaits', async (t) => {
  const { clients } = t.context
  const r = await createResources(clients, 'wf-wait')
  const deps = depsOf(clients, r, { maxStockWaits: 2 })
  await store(clients, r, orderOf('WAIT-1', [{ sku: 'NONE', qty: 1, unit_price: 10 }]), true)
  // Act
  const checks = [
    await checkOrderTask({ orderId: 'WAIT-1', waits: 0 }, deps),
    await checkOrderTask({ orderId: 'WAIT-1', waits: 1 }, deps),
    await checkOrderTask({ orderId: 'WAIT-1', waits: 2 }, deps),
  ]
  // Assess
  t.deepEqual(
    checks.map((c) => [c.stockStatus, c.waits, c.waitForStock, c.giveUp]),
    [
      ['PENDING_STOCK', 1, true, false],
      ['PENDING_STOCK', 2, true, false],
      ['PENDING_STOCK', 3, false, true],
    ],
  )
})

test('an order that is gone, or whose stored content fails its checks, is not payable', async (t) => {
  const { clients } = t.context
  const r = await createResources(clients, 'wf-bad')
  const deps = depsOf(clients, r)
  await clients.dynamo.send(
    new PutCommand({
      TableName: r.ordersTable,
      Item: {
        pk: 'ORDER#BAD-1',
        sk: 'ORDER',
        status: ORDER_STATUS.PROCESSED,
        order: { ...orderOf('BAD-1'), amount: -1 },
      },
    }),
  )
  // Act
  const gone = await t.throwsAsync(checkOrderTask({ orderId: 'NOPE' }, deps), { instanceOf: OrderNotPayable })
  const bad = await t.throwsAsync(checkOrderTask({ orderId: 'BAD-1' }, deps), { instanceOf: OrderNotPayable })
  // Assess
  t.regex(gone?.message ?? '', /Order NOPE is not stored/)
  t.regex(bad?.message ?? '', /Order BAD-1 fails its checks: .*amount/)
})
