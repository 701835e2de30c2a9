/**
 * The order workflow on the local stack: the real templates on moto (scripts/local/moto_server.py runs the state
 * machine and sends its Lambda tasks to the local runner), orders in through an S3 file. A paid order ends
 * NOTIFIED, a declined one PAYMENT_FAILED with its stock back, one whose first payment attempt times out is retried
 * and paid once; an order written to the table with nothing after it (a worker that crashed right after the write)
 * is started from the stream all the same; a repeated start runs nothing twice, and a repeated compensation gives
 * nothing back twice.
 */
import anyTest, { type TestFn } from 'ava'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn'
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { getStock, orderKey, setStock, storeOrder } from '../../lib/aws/table.ts'
import { isApproved, paymentKey, timesOut } from '../../lib/workflow/payment.ts'
import { LOG } from '../../lib/orders/outcomes.ts'
import type { Order } from '../../lib/orders/order.ts'
import { deployLocalStack, waitFor, type LocalStack } from '../helpers/local-stack.ts'

const test = anyTest as TestFn<{ stack: LocalStack }>

const PROVIDER = { successRate: 0.9, timeoutRate: 0.5 }
const find = (prefix: string, ok: (id: string) => boolean): string => {
  for (let i = 0; ; i++) if (ok(`${prefix}-${i}`)) return `${prefix}-${i}`
}
const PAID = find('WF-PAID', (id) => isApproved(id, PROVIDER) && !timesOut(id, 1, PROVIDER))
const DECLINED = find('WF-DECL', (id) => !isApproved(id, PROVIDER) && !timesOut(id, 1, PROVIDER))
const RETRIED = find(
  'WF-RETRY',
  (id) => isApproved(id, PROVIDER) && timesOut(id, 1, PROVIDER) && !timesOut(id, 2, PROVIDER),
)
const CRASHED = find('WF-CRASH', (id) => isApproved(id, PROVIDER) && !timesOut(id, 1, PROVIDER))

const order = (orderId: string, qty: number): Order => ({
  order_id: orderId,
  customer_id: 'CUST-WF',
  created_at: '2026-12-01T09:00:00Z',
  currency: 'EUR',
  amount: qty * 10,
  items: [{ sku: 'SKU-WF', qty, unit_price: 10 }],
})

test.before(async (t) => {
  t.context.stack = await deployLocalStack('wfe2e', {
    OrderWorkflow: 'on',
    PaymentTimeoutRate: '0.5',
    WorkflowRetrySeconds: 1,
  })
})
test.after.always(async (t) => t.context.stack?.stop())

test('paid, declined with its stock back, retried after a timeout, and started from the stream after a crash', async (t) => {
  t.timeout(180_000)
  const { stack } = t.context
  const { clients, runner } = stack
  const d = runner.deployment
  const now = new Date().toISOString()
  await setStock(clients.dynamo, d.table, 'SKU-WF', 20, now)
  const statusOf = async (orderId: string) =>
    (await clients.dynamo.send(new GetCommand({ TableName: d.table, Key: orderKey(orderId), ConsistentRead: true })))
      .Item
  // Act: three orders through an S3 file; one written as the worker writes it, with nothing after the write.
  await clients.s3.send(
    new PutObjectCommand({
      Bucket: d.bucket,
      Key: 'orders/wf/orders.jsonl',
      Body: [order(PAID, 2), order(DECLINED, 3), order(RETRIED, 1)].map((o) => JSON.stringify(o)).join('\n'),
    }),
  )
  await storeOrder(clients.dynamo, d.table, order(CRASHED, 4), 'h-crashed', { stockTracking: true, now })
  const settled = await waitFor(
    'the four workflows',
    async () => {
      const records = await Promise.all([PAID, DECLINED, RETRIED, CRASHED].map(statusOf))
      const done = records.every(
        (r) => r?.status === 'NOTIFIED' || (r?.status === 'PAYMENT_FAILED' && r.stock_released_at),
      )
      return done ? records : undefined
    },
    150,
  )
  // Assess
  t.deepEqual(
    settled.map((r) => [r?.order_id, r?.status]),
    [
      [PAID, 'NOTIFIED'],
      [DECLINED, 'PAYMENT_FAILED'],
      [RETRIED, 'NOTIFIED'],
      [CRASHED, 'NOTIFIED'],
    ],
  )
  t.like(settled[1], { stock_status: 'RELEASED' })
  const payment = async (orderId: string) =>
    (await clients.dynamo.send(new GetCommand({ TableName: d.table, Key: paymentKey(orderId) }))).Item
  t.like(await payment(PAID), { outcome: 'APPROVED', attempts: 1 })
  t.like(await payment(RETRIED), { outcome: 'APPROVED', attempts: 2 }, 'the timed-out attempt, then the paid one')
  t.like(await payment(DECLINED), { outcome: 'DECLINED', attempts: 1 })
  // GET /orders/{id} shows where the workflow is, with the payment's id and no personal data.
  const got = (await (await fetch(`${runner.apiUrl}/orders/${PAID}`)).json()) as Record<string, unknown>
  t.like(got, { order_id: PAID, status: 'NOTIFIED', stock_status: 'RESERVED' })
  t.regex(String(got.payment_id), /^pay_[0-9a-f]{24}$/)
  t.false('customer' in got || JSON.stringify(got).includes('CUST-WF'))
  const failed = (await (await fetch(`${runner.apiUrl}/orders/${DECLINED}`)).json()) as Record<string, unknown>
  t.like(failed, { status: 'PAYMENT_FAILED', stock_status: 'RELEASED' })
  // 20 - 2 (paid) - 1 (retried) - 4 (crashed); the declined order's 3 came back.
  t.like(await getStock(clients.dynamo, d.table, 'SKU-WF'), { available: 13, reserved: 7 })

  // Act: the starter given the paid order's record again, and the compensation run again.
  const starter = d.functions.workflowStarter!
  const tasks = d.functions.workflowTasks!
  const again = await runner.invoke(starter, {
    Records: [{ eventName: 'INSERT', dynamodb: { SequenceNumber: '1', NewImage: { order_id: { S: PAID } } } }],
  })
  const release = await runner.invoke(tasks, { task: 'releaseStock', orderId: DECLINED })
  // Assess: nothing ran twice.
  t.deepEqual(again, { batchItemFailures: [] })
  t.true(stack.logs.some((l) => l.includes(LOG.WORKFLOW_ALREADY_STARTED) && l.includes(PAID)))
  t.like(release, { already: true, released: {} })
  t.like(await getStock(clients.dynamo, d.table, 'SKU-WF'), { available: 13, reserved: 7 })
  t.like(await payment(PAID), { attempts: 1 })
  const sfn = new SFNClient({
    endpoint: stack.moto.endpoint,
    region: 'eu-west-3',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  })
  const { executions = [] } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: d.stateMachineArn! }))
  t.deepEqual(executions.map((e) => e.name).sort(), [PAID, DECLINED, RETRIED, CRASHED].sort())
  t.true(executions.every((e) => e.status === 'SUCCEEDED'))
})
