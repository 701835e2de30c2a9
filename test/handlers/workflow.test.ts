/**
 * The workflow's functions as middy chains: the tasks function against moto (each task counted in its metric once,
 * however often the state machine retries it; errors thrown by the names the state machine matches; no personal
 * data in its log lines, though the customer's message carries it), and the starter with a Step Functions client
 * that fails on purpose (a repeated start is a success, another failure reports its record and stops there).
 */
import anyTest, { type TestFn } from 'ava'
import type { DynamoDBStreamEvent } from 'aws-lambda'
import { StartExecutionCommand } from '@aws-sdk/client-sfn'
import { setStock, storeOrder } from '../../lib/aws/table.ts'
import { createLogger } from '../../lib/runtime/logger.ts'
import type { Order } from '../../lib/orders/order.ts'
import { isApproved } from '../../lib/workflow/payment.ts'
import { buildStarter, buildTasks, type TaskEvent } from '../../handlers/workflow.ts'
import { executionArnOf, executionNameOf } from '../../lib/workflow/execution.ts'
import { fakeContext } from '../helpers/fixtures.ts'
import { createResources, drain, metricSum, useMoto, type Clients, type Moto } from '../helpers/moto.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients }>
useMoto(test)

const NOW = '2026-12-01T10:00:00.000Z'
const EMAIL = 'bia.pii@exemplo.br'
const firstId = (approved: boolean, prefix: string): string => {
  for (let i = 0; ; i++)
    if (isApproved(`${prefix}-${i}`, { successRate: 0.9, timeoutRate: 0 }) === approved) return `${prefix}-${i}`
}

test('the tasks chain counts each payment and notification once, throws by name, and logs no personal data', async (t) => {
  const { clients } = t.context
  const r = await createResources(clients, 'wf-chain')
  const lines: string[] = []
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } })
  const tasks = buildTasks({
    config: {
      ordersTable: r.ordersTable,
      metricsNamespace: r.metricsNamespace,
      stage: r.stage,
      customerTopicArn: r.alertTopicArn,
      maxOrderAmount: 10000,
      paymentSuccessRate: 0.9,
      paymentTimeoutRate: 0,
      maxStockWaits: 3,
    },
    dynamo: clients.dynamo,
    sns: clients.sns,
    cloudWatch: clients.cloudWatch,
    logger,
    now: () => new Date(NOW),
  })
  const run = (event: TaskEvent) => tasks(event, fakeContext() as Parameters<typeof tasks>[1])
  await setStock(clients.dynamo, r.ordersTable, 'SKU-H', 10, NOW)
  const paid = firstId(true, 'H')
  const declined = firstId(false, 'H')
  for (const orderId of [paid, declined]) {
    const order: Order = {
      order_id: orderId,
      customer_id: 'CUST-H',
      created_at: NOW,
      currency: 'EUR',
      amount: 20,
      items: [{ sku: 'SKU-H', qty: 2, unit_price: 10 }],
      customer: { name: 'Bia Souza', email: EMAIL },
    }
    await storeOrder(clients.dynamo, r.ordersTable, order, `h-${orderId}`, { stockTracking: true, now: NOW })
  }
  // Act
  await run({ task: 'checkOrder', orderId: paid, waits: 0 })
  const payment = await run({ task: 'processPayment', orderId: paid })
  await run({ task: 'processPayment', orderId: paid }) // a retry after a lost answer
  await run({ task: 'sendNotification', orderId: paid, outcome: 'PAID' })
  const declinedError = await t.throwsAsync(run({ task: 'processPayment', orderId: declined }))
  await t.throwsAsync(run({ task: 'processPayment', orderId: declined }))
  const released = await run({ task: 'releaseStock', orderId: declined })
  await run({ task: 'sendNotification', orderId: declined, outcome: 'DECLINED' })
  const failed = await run({
    task: 'recordFailure',
    orderId: declined,
    error: { Error: 'States.Timeout', Cause: EMAIL },
  })
  const unknown = await t.throwsAsync(run({ task: 'refund' as TaskEvent['task'], orderId: paid }))
  const noId = await t.throwsAsync(run({ task: 'checkOrder', orderId: '' }))
  // Assess
  t.like(payment, { orderId: paid, charged: true })
  t.is(declinedError?.name, 'PaymentDeclined', 'the name the state machine catches')
  t.like(released, { released: { 'SKU-H': 2 }, already: false })
  t.like(failed, { failed: true, error: 'States.Timeout' })
  t.is(unknown?.name, 'UnknownTask')
  t.is(noId?.name, 'UnknownTask')
  const metric = (name: string) => metricSum(clients.cloudWatch, r, name)
  t.deepEqual(
    [
      await metric('PaymentsSucceeded'),
      await metric('PaymentsFailed'),
      await metric('NotificationsSent'),
      await metric('WorkflowsFailed'),
    ],
    [1, 1, 2, 1],
  )
  const messages = await drain(clients.sqs, r.alertsQueueUrl)
  t.is(messages.length, 2)
  t.true(
    messages.every((m) => m.Body?.includes(EMAIL)),
    'the customer channel carries the e-mail',
  )
  t.true(lines.length > 5)
  t.false(
    lines.some((l) => l.includes('bia.pii') || l.includes('Bia Souza')),
    'no log line does',
  )
  t.true(lines.some((l) => l.includes('"msg":"workflow failed"') && l.includes(declined)))
})

const record = (orderId: string | undefined, sequence: string) => ({
  eventName: 'INSERT' as const,
  dynamodb: {
    SequenceNumber: sequence,
    NewImage: orderId === undefined ? {} : { order_id: { S: orderId } },
  },
})

test('the starter starts one execution per order, takes a repeated start as done, and reports the first failure', async (t) => {
  const started: { name?: string; input?: string }[] = []
  const sfn = {
    send: async (command: StartExecutionCommand) => {
      const { name, input } = command.input
      started.push({ name, input })
      if (name === 'O-2') throw Object.assign(new Error('exists'), { name: 'ExecutionAlreadyExists' })
      if (name === 'O-3') throw Object.assign(new Error('slow down'), { name: 'ThrottlingException' })
      return {}
    },
  }
  const lines: string[] = []
  const starter = buildStarter({
    stateMachineArn: 'arn:aws:states:eu-west-3:123456789012:stateMachine:tp-order-workflow',
    sfn: sfn as never,
    logger: createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } }),
  })
  const event = {
    Records: [
      record('O-1', '10'),
      record(undefined, '11'),
      record('O-2', '12'),
      record('O-3', '13'),
      record('O-4', '14'),
    ],
  } as unknown as DynamoDBStreamEvent
  // Act
  const response = await starter(event, fakeContext())
  // Assess
  t.deepEqual(response, { batchItemFailures: [{ itemIdentifier: '13' }] }, 'Lambda retries from O-3')
  t.deepEqual(
    started.map((s) => s.name),
    ['O-1', 'O-2', 'O-3'],
    'nothing after the failure',
  )
  t.deepEqual(JSON.parse(started[0]!.input!), { orderId: 'O-1', waits: 0 })
  t.true(lines.some((l) => l.includes('"msg":"workflow already started"') && l.includes('O-2')))
})

test('an execution is named after its order id, or a hash of it where Step Functions would refuse the id', (t) => {
  t.is(executionNameOf('ORD-2026-001'), 'ORD-2026-001')
  t.is(executionNameOf('S3-8f05ae8f0759a37364811e135fbe426c'), 'S3-8f05ae8f0759a37364811e135fbe426c')
  const odd = executionNameOf('order 1/2:é')
  t.regex(odd, /^order-[0-9a-f]{40}$/)
  t.is(executionNameOf('order 1/2:é'), odd, 'the same id, the same name')
  t.not(executionNameOf('order 1/2:è'), odd)
  t.regex(executionNameOf('A'.repeat(81)), /^order-[0-9a-f]{40}$/)
  t.is(
    executionArnOf('arn:aws:states:eu-west-3:123456789012:stateMachine:tp-order-workflow', 'ORD-1'),
    'arn:aws:states:eu-west-3:123456789012:execution:tp-order-workflow:ORD-1',
  )
})
