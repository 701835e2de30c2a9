/**
 * End to end on the local stack: the real nested templates deployed to moto, the built bundles run by the local
 * runner, orders sent through S3 and HTTP; assertions on DynamoDB, the queues and CloudWatch afterwards.
 */
import anyTest, { type TestFn } from 'ava'
import { gzipSync } from 'node:zlib'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { getOrderStatus, getStock, setStock } from '../../lib/aws/table.ts'
import { seed, seedText } from '../helpers/fixtures.ts'
import { depth, drain, metricSum, type Resources } from '../helpers/moto.ts'
import { deployLocalStack, waitFor, type LocalStack } from '../helpers/local-stack.ts'
import { program as outputs } from '../../scripts/outputs.ts'
import { runCommand } from '../helpers/cli.ts'

const test = anyTest as TestFn<{ stack: LocalStack }>

test.before(async (t) => {
  t.context.stack = await deployLocalStack('e2e')
})
test.after.always(async (t) => t.context.stack?.stop())

const put = async (stack: LocalStack, key: string, body: string) =>
  stack.clients.s3.send(new PutObjectCommand({ Bucket: stack.runner.deployment.bucket, Key: key, Body: body }))

const status = async (stack: LocalStack, id: string) =>
  getOrderStatus(stack.clients.dynamo, stack.runner.deployment.table, id)

/** Where the deployed functions publish (the template's defaults and the test stage). */
const METRICS = { metricsNamespace: 'OrderPipeline', stage: 'test' } as Resources

test.serial(
  'the three seed tests through S3: PROCESSED, REJECTED into the DLQ, DUPLICATE, with the metrics',
  async (t) => {
    const { stack } = t.context
    const d = stack.runner.deployment
    await setStock(stack.clients.dynamo, d.table, 'SKU-1', 10, new Date().toISOString())
    await setStock(stack.clients.dynamo, d.table, 'SKU-2', 10, new Date().toISOString())
    // Act
    await put(stack, 'orders/seed/tp-valid.json', seedText('tp-valid.json'))
    await put(stack, 'orders/seed/tp-invalid.json', seedText('tp-invalid.json'))
    await waitFor('the valid seed', async () => (await status(stack, 'ORD-2026-001'))?.status === 'PROCESSED')
    await put(stack, 'orders/seed/tp-valid-again.json', seedText('tp-valid.json'))
    await waitFor('the duplicate', async () => stack.outcomes.all('ORD-2026-001').includes('DUPLICATE'))
    // Assess
    t.like(await status(stack, 'ORD-2026-001'), { status: 'PROCESSED', stock_status: 'RESERVED' })
    t.is((await getStock(stack.clients.dynamo, d.table, 'SKU-1'))?.available, 9, 'reserved once, not twice')
    const rejected = await waitFor('the rejection record', async () => {
      const s = await status(stack, 'ORD-2026-002')
      return s?.status === 'REJECTED' && s
    })
    t.deepEqual(
      rejected.rejections[0]?.reasons.map((r) => r.path),
      ['/amount', '/items', '/amount'],
    )
    const parked = await drain(stack.clients.sqs, d.mainDlqUrl)
    t.is(parked.length, 1)
    t.like(JSON.parse(parked[0]!.MessageAttributes!.error!.StringValue!), { class: 'ValidationError' })
    t.regex(parked[0]!.MessageAttributes!.source!.StringValue!, /tp-invalid\.json/)
    t.is(await metricSum(stack.clients.cloudWatch, METRICS, 'OrdersProcessed'), 1)
    t.is(await metricSum(stack.clients.cloudWatch, METRICS, 'OrdersRejected'), 1)
    t.is(await metricSum(stack.clients.cloudWatch, METRICS, 'OrdersDuplicate'), 1)
    t.is(await depth(stack.clients.sqs, d.mainQueueUrl), 0)
  },
)

test.serial('the rich order in a JSON array and the API orders over HTTP are PROCESSED', async (t) => {
  const { stack } = t.context
  const d = stack.runner.deployment
  await setStock(stack.clients.dynamo, d.table, 'PRD-1001', 5, new Date().toISOString())
  await setStock(stack.clients.dynamo, d.table, 'PRD-2002', 5, new Date().toISOString())
  // Act
  await put(stack, 'orders/rich/batch.json', JSON.stringify([seed('lab-rich-order.json')]))
  const posted = await fetch(`${stack.runner.apiUrl}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': 'e2e-1' },
    body: seedText('api-create-order.json'),
  })
  const accepted = (await posted.json()) as { orderId: string }
  const missing = await fetch(`${stack.runner.apiUrl}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: seedText('api-missing-email.json'),
  })
  // Assess
  t.is(posted.status, 202)
  t.is(missing.status, 400)
  t.is(((await missing.json()) as { message: string }).message, 'Missing required field: customerEmail')
  await waitFor('the rich order', async () => (await status(stack, 'ORD-20231001-0001'))?.status === 'PROCESSED')
  await waitFor('the API order', async () => (await status(stack, accepted.orderId))?.status === 'PROCESSED')
  t.is((await getStock(stack.clients.dynamo, d.table, 'PRD-2002'))?.available, 3)
  const got = await fetch(`${stack.runner.apiUrl}/orders/${accepted.orderId}`)
  t.like(
    await got.json(),
    { order_id: accepted.orderId, status: 'PROCESSED', stock_status: 'PENDING_STOCK' },
    'no stock record for p123: pending',
  )
})

test.serial('a JSONL file with valid, invalid and duplicate lines', async (t) => {
  const { stack } = t.context
  const d = stack.runner.deployment
  const lines = [
    JSON.stringify({ ...seed('tp-valid.json'), order_id: 'ORD-L1' }),
    JSON.stringify({ ...seed('tp-valid.json'), order_id: 'ORD-L2', amount: 1 }),
    JSON.stringify({ ...seed('tp-valid.json'), order_id: 'ORD-L1' }),
    'not json',
  ]
  // Act
  await put(stack, 'orders/lines/mixed.jsonl', lines.join('\r\n'))
  await waitFor('both copies of ORD-L1', async () => stack.outcomes.all('ORD-L1').length === 2)
  // Assess
  t.deepEqual(stack.outcomes.all('ORD-L1').sort(), ['DUPLICATE', 'PROCESSED'])
  t.is((await status(stack, 'ORD-L2'))?.status, 'REJECTED')
  const parked = await waitFor('two rejects in the DLQ', async () => {
    const m = await drain(stack.clients.sqs, d.mainDlqUrl)
    return m.length > 0 && m
  })
  t.deepEqual(parked.map((m) => m.MessageAttributes!.source!.StringValue!.split('#')[1]).sort(), ['2', '4'])
})

test.serial('a gzipped JSONL file under raw/year=…/month=…/day=… flows through the same pipeline', async (t) => {
  // Prepare: the data lake's layout, a second intake prefix (IntakePrefixes default orders/,raw/)
  const { stack } = t.context
  const body = gzipSync([JSON.stringify({ ...seed('tp-valid.json'), order_id: 'ORD-RAW-1' })].join('\n'))
  // Act
  await stack.clients.s3.send(
    new PutObjectCommand({
      Bucket: stack.runner.deployment.bucket,
      Key: 'raw/year=2026/month=01/day=07/orders.jsonl.gz',
      Body: body,
    }),
  )
  // Assess
  await waitFor('ORD-RAW-1 to settle', async () => stack.outcomes.all('ORD-RAW-1').length > 0)
  t.deepEqual(stack.outcomes.all('ORD-RAW-1'), ['PROCESSED'])
  t.is((await status(stack, 'ORD-RAW-1'))?.status, 'PROCESSED')
})

test.serial("npm run outputs finds the deployment's names where moto shows no stack Outputs", async (t) => {
  const { stack } = t.context
  const printed = await runCommand(outputs, ['--endpoint', stack.moto.endpoint, '--prefix', 'e2e', '--json'])
  t.like(JSON.parse(printed), {
    stackName: 'e2e-order-pipeline',
    table: 'e2e-orders',
    bucket: 'e2e-orders-intake-123456789012-eu-west-3',
    functions: { api: 'e2e-order-api', validator: 'e2e-order-validator', worker: 'e2e-order-worker' },
  })
})
