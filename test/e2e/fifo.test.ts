/**
 * End to end with QueueType fifo: the same templates and bundles, the main queue and its DLQ as FIFO queues on the
 * local stack (moto's FIFO queues, with AWS's 5-minute deduplication: scripts/local/moto_server.py). A customer's
 * orders are stored in the order they came, an order sent twice within 5 minutes is queued once, rejects are
 * parked in the FIFO DLQ, and the API's orders flow as well.
 */
import anyTest, { type TestFn } from 'ava'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { getOrderStatus } from '../../lib/aws/table.ts'
import { LOG } from '../../lib/orders/outcomes.ts'
import { seedText } from '../helpers/fixtures.ts'
import { drain, metricSum, type Resources } from '../helpers/moto.ts'
import { deployLocalStack, waitFor, type LocalStack } from '../helpers/local-stack.ts'

const test = anyTest as TestFn<{ stack: LocalStack }>

const METRICS = { metricsNamespace: 'OrderPipeline', stage: 'test' } as Resources

test.before(async (t) => {
  // With the metrics as EMF lines too (MetricsMode emf): the runner puts them on the emulator.
  t.context.stack = await deployLocalStack('fifo', { QueueType: 'fifo', StockTracking: 'off', MetricsMode: 'emf' })
})
test.after.always(async (t) => t.context.stack?.stop())

const order = (id: string, customer: string, minute: number) => ({
  order_id: id,
  customer_id: customer,
  created_at: `2026-01-07T10:${String(minute).padStart(2, '0')}:00Z`,
  currency: 'EUR',
  amount: 10,
  items: [{ sku: 'SKU-1', qty: 1, unit_price: 10 }],
})

/** The order ids the worker settled, in the order it logged them. */
const settled = (stack: LocalStack, prefix: string): string[] =>
  stack.logs.flatMap((line) => {
    const entry = JSON.parse(line) as { msg?: string; orderId?: string }
    return entry.msg === LOG.ORDER_SETTLED && entry.orderId?.startsWith(prefix) ? [entry.orderId] : []
  })

test.serial(
  "a customer's orders in file order, a repeated order queued once, a reject in the FIFO DLQ, the API's order",
  async (t) => {
    const { stack } = t.context
    const d = stack.runner.deployment
    t.regex(d.mainQueueUrl, /\/fifo-orders-main\.fifo$/)
    t.regex(d.mainDlqUrl, /\/fifo-orders-main-dlq\.fifo$/)
    // Two customers' orders interleaved, one of them twice, and a line that is no order.
    const lines = [
      order('FIFO-A1', 'C-A', 1),
      order('FIFO-B1', 'C-B', 2),
      order('FIFO-A2', 'C-A', 3),
      order('FIFO-A1', 'C-A', 1),
      { order_id: 'FIFO-BAD', customer_id: 'C-A' },
      order('FIFO-A3', 'C-A', 4),
      order('FIFO-B2', 'C-B', 5),
    ].map((o) => JSON.stringify(o))
    await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: d.bucket, Key: 'orders/fifo/mixed.jsonl', Body: lines.join('\n') }),
    )
    const posted = await fetch(`${stack.runner.apiUrl}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: seedText('api-create-order.json'),
    })
    t.is(posted.status, 202)
    const { orderId } = (await posted.json()) as { orderId: string }
    for (const id of ['FIFO-A1', 'FIFO-A2', 'FIFO-A3', 'FIFO-B1', 'FIFO-B2', orderId])
      await waitFor(`${id} processed`, async () => {
        const s = await getOrderStatus(stack.clients.dynamo, d.table, id)
        return s?.status === 'PROCESSED'
      })
    // Assess: each customer's orders in the file's order; FIFO-A1 once, not a second time as a DUPLICATE.
    t.deepEqual(settled(stack, 'FIFO-A'), ['FIFO-A1', 'FIFO-A2', 'FIFO-A3'], stack.failedBatches.join('\n'))
    t.deepEqual(settled(stack, 'FIFO-B'), ['FIFO-B1', 'FIFO-B2'])
    t.deepEqual(stack.outcomes.all('FIFO-A1'), ['PROCESSED'], 'the repeated line was dropped by the queue')
    const parked = await waitFor('the reject in the DLQ', async () => {
      const messages = await drain(stack.clients.sqs, d.mainDlqUrl)
      return messages.length > 0 && messages
    })
    t.is(parked.length, 1)
    t.like(JSON.parse(parked[0]!.MessageAttributes!.error!.StringValue!), { class: 'ValidationError' })
    t.truthy(parked[0]!.Attributes?.MessageGroupId, 'parked into a group of the FIFO DLQ')
    t.deepEqual(stack.failedBatches, [])
    // MetricsMode emf: the same metrics, from the functions' EMF lines.
    await stack.runner.metricsSettled()
    t.is(await metricSum(stack.clients.cloudWatch, METRICS, 'OrdersProcessed'), 6)
    t.is(await metricSum(stack.clients.cloudWatch, METRICS, 'OrdersRejected'), 1)
  },
)
