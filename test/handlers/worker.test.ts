import { setTimeout as sleep } from 'node:timers/promises'
import anyTest, { type TestFn } from 'ava'
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda'
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { buildWorker, type WorkerConfig } from '../../handlers/worker.ts'
import { setStock, stockKey, orderKey } from '../../lib/aws/table.ts'
import { awsEvent, fakeContext, seed, sqsEvent, sqsRecord } from '../helpers/fixtures.ts'
import { emulateTokenRules } from '../helpers/dynamo-tokens.ts'
import {
  clientsFor,
  configFor,
  createResources,
  drain,
  metricSum,
  useMoto,
  type Clients,
  type Moto,
  type Resources,
} from '../helpers/moto.ts'
import { normalise, newOrderId } from '../../lib/orders/order.ts'

const test = anyTest as TestFn<{
  moto: Moto
  clients: Clients
  r: Resources
  config: WorkerConfig
  run: (event: SQSEvent) => Promise<SQSBatchResponse>
}>

let prefixes = 0
useMoto(test)

/** Each test gets its own tables and queues (tests in a file run concurrently). */
const setup = async (
  t: { context: { clients: Clients } },
  overrides: Partial<WorkerConfig> = {},
  clients: Partial<Clients> = {},
) => {
  const all = { ...t.context.clients, ...clients }
  const r = await createResources(t.context.clients, `w${++prefixes}`)
  const config: WorkerConfig = { ...configFor(r), ...overrides }
  const worker = buildWorker({ config, dynamo: all.dynamo, sqs: all.sqs, sns: all.sns, cloudWatch: all.cloudWatch })
  const run = async (event: SQSEvent) => worker(event, fakeContext() as never) as Promise<SQSBatchResponse>
  return { r, config, run, clients: all }
}

const stored = async (dynamo: DynamoDBDocumentClient, table: string, key: Record<string, string>) =>
  (await dynamo.send(new GetCommand({ TableName: table, Key: key }))).Item

const stockSeed = async (dynamo: DynamoDBDocumentClient, table: string, levels: Record<string, number>) => {
  for (const [sku, available] of Object.entries(levels))
    await setStock(dynamo, table, sku, available, new Date().toISOString())
}

test('a valid order is PROCESSED once, its stock reserved, and counted', async (t) => {
  // Prepare
  const { r, run, clients } = await setup(t)
  await stockSeed(clients.dynamo, r.ordersTable, { 'SKU-1': 5, 'SKU-2': 5 })
  // Act
  const response = await run(sqsEvent(sqsRecord(seed('tp-valid.json'))))
  // Assess
  t.deepEqual(response, { batchItemFailures: [] })
  const order = await stored(clients.dynamo, r.ordersTable, orderKey('ORD-2026-001'))
  t.is(order?.status, 'PROCESSED')
  t.is(order?.stock_status, 'RESERVED')
  t.is((await stored(clients.dynamo, r.ordersTable, stockKey('SKU-1')))?.available, 4)
  t.is((await stored(clients.dynamo, r.ordersTable, stockKey('SKU-1')))?.reserved, 1)
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersProcessed'), 1)
  t.is((await drain(clients.sqs, r.mainDlqUrl)).length, 0)
})

test('the same order again is a DUPLICATE: nothing written twice, stock untouched', async (t) => {
  const { r, run, clients } = await setup(t)
  await stockSeed(clients.dynamo, r.ordersTable, { 'SKU-1': 5, 'SKU-2': 5 })
  await run(sqsEvent(sqsRecord(seed('tp-valid.json'))))
  const first = await stored(clients.dynamo, r.ordersTable, orderKey('ORD-2026-001'))
  // Act
  const response = await run(sqsEvent(sqsRecord(seed('tp-valid.json'))))
  // Assess
  t.deepEqual(response, { batchItemFailures: [] })
  t.deepEqual(await stored(clients.dynamo, r.ordersTable, orderKey('ORD-2026-001')), first)
  t.is((await stored(clients.dynamo, r.ordersTable, stockKey('SKU-1')))?.available, 4)
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersDuplicate'), 1)
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersProcessed'), 1)
})

test('the invalid seed is REJECTED: parked in the DLQ with its reasons, recorded, counted, not retried', async (t) => {
  const { r, run, clients } = await setup(t)
  // Act
  const response = await run(sqsEvent(sqsRecord(seed('tp-invalid.json'))))
  // Assess
  t.deepEqual(response, { batchItemFailures: [] })
  const [parked, ...others] = await drain(clients.sqs, r.mainDlqUrl)
  t.is(others.length, 0)
  const error = JSON.parse(parked!.MessageAttributes!.error!.StringValue!) as {
    class: string
    fields: { path: string; rule: string }[]
  }
  t.is(error.class, 'ValidationError')
  t.deepEqual(
    error.fields.map((f) => `${f.path} ${f.rule}`),
    ['/amount exclusiveMinimum', '/items minItems', '/amount sum'],
  )
  t.deepEqual(JSON.parse(parked!.Body!), seed('tp-invalid.json'))
  t.is(await stored(clients.dynamo, r.ordersTable, orderKey('ORD-2026-002')), undefined, 'the id is not claimed')
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersRejected'), 1)
})

test('a rejected id sent again corrected is PROCESSED', async (t) => {
  const { r, run, clients } = await setup(t, { stockTracking: false })
  await run(sqsEvent(sqsRecord(seed('tp-invalid.json'))))
  const corrected = { ...seed('tp-invalid.json'), amount: 10, items: [{ sku: 'SKU-9', qty: 2, unit_price: 5 }] }
  // Act
  await run(sqsEvent(sqsRecord(corrected)))
  // Assess
  t.is((await stored(clients.dynamo, r.ordersTable, orderKey('ORD-2026-002')))?.status, 'PROCESSED')
})

test('the same id with other content is a conflict: rejected and recorded beside the first order', async (t) => {
  const { r, run, clients } = await setup(t, { stockTracking: false })
  await run(sqsEvent(sqsRecord(seed('tp-valid.json'))))
  const changed = { ...seed('tp-valid.json'), amount: 99.99, items: [{ sku: 'SKU-1', qty: 1, unit_price: 99.99 }] }
  // Act
  const response = await run(sqsEvent(sqsRecord(changed)))
  // Assess
  t.deepEqual(response, { batchItemFailures: [] })
  const [parked] = await drain(clients.sqs, r.mainDlqUrl)
  t.is(JSON.parse(parked!.MessageAttributes!.error!.StringValue!).class, 'ConflictError')
  t.is(
    (await stored(clients.dynamo, r.ordersTable, orderKey('ORD-2026-001')))?.order.amount,
    149.99,
    'the first order stands',
  )
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersRejected'), 1)
})

test('a conflict is announced on the alerts topic, like the validator announces its rejects', async (t) => {
  // Prepare
  const { r, run, clients } = await setup(t, { stockTracking: false })
  await run(sqsEvent(sqsRecord(seed('tp-valid.json'))))
  const changed = { ...seed('tp-valid.json'), amount: 99.99, items: [{ sku: 'SKU-1', qty: 1, unit_price: 99.99 }] }
  // Act
  await run(sqsEvent(sqsRecord(changed)))
  // Assess
  const alerts = (await drain(clients.sqs, r.alertsQueueUrl)).map((m) => JSON.parse(m.Body!) as Record<string, unknown>)
  t.is(alerts.length, 1)
  t.like(alerts[0], { type: 'REJECTED', order_id: 'ORD-2026-001', error_class: 'ConflictError' })
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersConflict'), 1)
})

test('a duplicate within the 10-minute token window is a DUPLICATE, counted once, nothing retried (DynamoDB token rules)', async (t) => {
  // Prepare: a DynamoDB client of its own that applies DynamoDB's ClientRequestToken rules in front of moto
  const dynamo = clientsFor(t.context.moto.endpoint).dynamo
  const tokens = emulateTokenRules(dynamo)
  const { r, run, clients } = await setup(t, {}, { dynamo })
  await stockSeed(clients.dynamo, r.ordersTable, { 'SKU-1': 5, 'SKU-2': 5 })
  const first = await run(sqsEvent(sqsRecord(seed('tp-valid.json'))))
  // Act: the same order delivered again a moment later (a re-delivered S3 event, a client retry, a replay)
  const again = await run(sqsEvent(sqsRecord(seed('tp-valid.json'))))
  // Assess
  t.deepEqual([first, again], [{ batchItemFailures: [] }, { batchItemFailures: [] }])
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersProcessed'), 1)
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersDuplicate'), 1)
  t.is(tokens.replayed, 0, 'no call was answered from an earlier token')
  t.is(new Set(tokens.tokens).size, tokens.tokens.length, 'every transaction has a token of its own')
  t.is((await stored(clients.dynamo, r.ordersTable, stockKey('SKU-1')))?.available, 4, 'stock taken once')
  t.is((await drain(clients.sqs, r.mainDlqUrl)).length, 0)
})

test('the same order in two dialects is a DUPLICATE', async (t) => {
  const { r, run, clients } = await setup(t, { stockTracking: false })
  const ctx = { defaultCurrency: 'EUR', receivedAt: new Date().toISOString(), assignOrderId: newOrderId }
  const canonical = normalise(seed('tp-valid.json'), 'canonical', ctx)
  const rich = normalise(
    {
      order_id: 'ORD-2026-001',
      customer_id: 'CUST-1001',
      order_date: '2026-01-07T10:00:00Z',
      items: [
        { product_id: 'SKU-1', quantity: 1, unit_price: 99.99 },
        { product_id: 'SKU-2', quantity: 1, unit_price: 50 },
      ],
      payment: { amount: 149.99 },
    },
    'rich',
    ctx,
  )
  // Act
  await run(sqsEvent(sqsRecord(canonical)))
  await run(sqsEvent(sqsRecord(rich)))
  // Assess
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersProcessed'), 1)
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersDuplicate'), 1)
})

test('the mixed fixture batch: one PROCESSED, its copy DUPLICATE, the invalid and the non-JSON parked', async (t) => {
  const { r, run, clients } = await setup(t)
  await stockSeed(clients.dynamo, r.ordersTable, { 'SKU-1': 5, 'SKU-2': 5 })
  // Act
  const response = await run(awsEvent<SQSEvent>('sqs-main-orders.json'))
  // Assess
  t.deepEqual(response, { batchItemFailures: [] })
  const parked = await drain(clients.sqs, r.mainDlqUrl)
  t.deepEqual(parked.map((m) => JSON.parse(m.MessageAttributes!.error!.StringValue!).class).sort(), [
    'MalformedOrderError',
    'ValidationError',
  ])
  t.is(
    (await stored(clients.dynamo, r.ordersTable, stockKey('SKU-1')))?.available,
    4,
    'the copy in the same batch reserved nothing',
  )
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersProcessed'), 1)
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersDuplicate'), 1)
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersRejected'), 2)
})

test('an item short of stock is marked pending, the order flagged pending-stock and an alert sent', async (t) => {
  const { r, run, clients } = await setup(t)
  await stockSeed(clients.dynamo, r.ordersTable, { 'PRD-1001': 3, 'PRD-2002': 1 })
  const rich = normalise(seed('lab-rich-order.json'), 'rich', {
    defaultCurrency: 'EUR',
    receivedAt: new Date().toISOString(),
    assignOrderId: newOrderId,
  })
  // Act
  const response = await run(sqsEvent(sqsRecord(rich)))
  // Assess
  t.deepEqual(response, { batchItemFailures: [] })
  const order = await stored(clients.dynamo, r.ordersTable, orderKey('ORD-20231001-0001'))
  t.is(order?.stock_status, 'PENDING_STOCK')
  t.deepEqual(
    order?.order.items.map((i: { sku: string; stock: string }) => `${i.sku} ${i.stock}`),
    ['PRD-1001 RESERVED', 'PRD-2002 PENDING'],
  )
  t.is((await stored(clients.dynamo, r.ordersTable, stockKey('PRD-1001')))?.available, 2)
  t.is((await stored(clients.dynamo, r.ordersTable, stockKey('PRD-2002')))?.available, 1, 'a short SKU is not touched')
  const [alert] = await drain(clients.sqs, r.alertsQueueUrl)
  t.like(JSON.parse(alert!.Body!), { type: 'PENDING_STOCK', order_id: 'ORD-20231001-0001', skus: ['PRD-2002'] })
  t.false(alert!.Body!.includes('mariana'), 'no personal data in alerts')
})

test('lines with the same SKU are summed before reserving', async (t) => {
  const { r, run, clients } = await setup(t)
  await stockSeed(clients.dynamo, r.ordersTable, { 'SKU-1': 3 })
  const order = {
    ...seed('tp-valid.json'),
    order_id: 'ORD-SUM',
    amount: 40,
    items: [
      { sku: 'SKU-1', qty: 2, unit_price: 10 },
      { sku: 'SKU-1', qty: 2, unit_price: 10 },
    ],
  }
  await run(sqsEvent(sqsRecord(order)))
  t.is(
    (await stored(clients.dynamo, r.ordersTable, orderKey('ORD-SUM')))?.stock_status,
    'PENDING_STOCK',
    '4 wanted, 3 available',
  )
  t.is((await stored(clients.dynamo, r.ordersTable, stockKey('SKU-1')))?.available, 3)
})

test('stock tracking off: one conditional write, no stock record read or written', async (t) => {
  const { r, run, clients } = await setup(t, { stockTracking: false })
  await run(sqsEvent(sqsRecord(seed('tp-valid.json'))))
  t.is((await stored(clients.dynamo, r.ordersTable, orderKey('ORD-2026-001')))?.stock_status, 'UNTRACKED')
  t.is(await stored(clients.dynamo, r.ordersTable, stockKey('SKU-1')), undefined)
})

test('a transient failure on one record fails only that record', async (t) => {
  const { dynamo } = t.context.clients
  const flaky = Object.create(dynamo) as DynamoDBDocumentClient
  flaky.send = (async (command: {
    input: { TransactItems?: { Put?: { Item?: { order_id?: string } } }[]; Item?: { order_id?: string } }
  }) => {
    const id = command.input.Item?.order_id ?? command.input.TransactItems?.[0]?.Put?.Item?.order_id
    if (id === 'ORD-FLAKY') throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })
    return dynamo.send(command as never)
  }) as never
  const { r, run, clients } = await setup(t, { stockTracking: false }, { dynamo: flaky })
  const flakyRecord = sqsRecord({ ...seed('tp-valid.json'), order_id: 'ORD-FLAKY' })
  // Act
  const response = await run(sqsEvent(sqsRecord(seed('tp-valid.json')), flakyRecord))
  // Assess
  t.deepEqual(response, { batchItemFailures: [{ itemIdentifier: flakyRecord.messageId }] })
  t.is((await stored(clients.dynamo, r.ordersTable, orderKey('ORD-2026-001')))?.status, 'PROCESSED')
  t.is((await drain(clients.sqs, r.mainDlqUrl)).length, 0, 'transient failures are not parked')
})

test("FIFO: after a record of a group fails transiently, the group's later records are reported failed untried; other groups are stored", async (t) => {
  const { dynamo } = t.context.clients
  const tried: string[] = []
  const flaky = Object.create(dynamo) as DynamoDBDocumentClient
  flaky.send = (async (command: { input: { Item?: { order_id?: string } } }) => {
    const id = command.input.Item?.order_id
    if (id) tried.push(id)
    if (id === 'ORD-A2') throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })
    return dynamo.send(command as never)
  }) as never
  const { r, run, clients } = await setup(t, { stockTracking: false }, { dynamo: flaky })
  const inGroup = (orderId: string, group: string) => {
    const rec = sqsRecord({ ...seed('tp-valid.json'), order_id: orderId })
    return { ...rec, attributes: { ...rec.attributes, MessageGroupId: group } }
  }
  const records = [inGroup('ORD-A1', 'A'), inGroup('ORD-B1', 'B'), inGroup('ORD-A2', 'A'), inGroup('ORD-A3', 'A')]
  // Act
  const response = await run(sqsEvent(...records))
  // Assess
  t.deepEqual(response, {
    batchItemFailures: [{ itemIdentifier: records[2]!.messageId }, { itemIdentifier: records[3]!.messageId }],
  })
  t.false(tried.includes('ORD-A3'), 'ORD-A3 would have overtaken ORD-A2')
  for (const id of ['ORD-A1', 'ORD-B1'])
    t.is((await stored(clients.dynamo, r.ordersTable, orderKey(id)))?.status, 'PROCESSED', `${id}`)
  t.is(await stored(clients.dynamo, r.ordersTable, orderKey('ORD-A3')), undefined)
  t.is((await drain(clients.sqs, r.mainDlqUrl)).length, 0, 'held records are retried, not parked')
})

test('an all-failing batch and a thrown non-Error value report every record', async (t) => {
  const { dynamo } = t.context.clients
  const broken = Object.create(dynamo) as DynamoDBDocumentClient
  broken.send = (async () => {
    throw 'socket hang up'
  }) as never // eslint-disable-line @typescript-eslint/only-throw-error
  const { run } = await setup(t, { stockTracking: false }, { dynamo: broken })
  const records = [sqsRecord(seed('tp-valid.json')), sqsRecord({ ...seed('tp-valid.json'), order_id: 'ORD-2' })]
  const response = await run(sqsEvent(...records))
  t.deepEqual(response, { batchItemFailures: records.map((rec) => ({ itemIdentifier: rec.messageId })) })
})

test('a CloudWatch failure is logged and loses no order', async (t) => {
  const { cloudWatch } = t.context.clients
  const down = Object.create(cloudWatch) as typeof cloudWatch
  let calls = 0
  down.send = (async () => {
    calls++
    throw new Error('CloudWatch unavailable')
  }) as never
  const { r, run, clients } = await setup(t, { stockTracking: false }, { cloudWatch: down })
  const response = await run(
    sqsEvent(sqsRecord(seed('tp-valid.json')), sqsRecord({ ...seed('tp-valid.json'), order_id: 'ORD-B' })),
  )
  t.deepEqual(response, { batchItemFailures: [] })
  t.is(calls, 1, 'one PutMetricData per invocation')
  t.is((await stored(clients.dynamo, r.ordersTable, orderKey('ORD-B')))?.status, 'PROCESSED')
})

test('the worker processes at most WORKER_CONCURRENCY records of a batch at once', async (t) => {
  const inFlight = async (workerConcurrency: number | undefined) => {
    const { dynamo } = t.context.clients
    let now = 0
    let most = 0
    const counting = Object.create(dynamo) as DynamoDBDocumentClient
    counting.send = (async (command: never) => {
      most = Math.max(most, ++now)
      try {
        await sleep(20)
        return await dynamo.send(command)
      } finally {
        now--
      }
    }) as never
    const { r, run, clients } = await setup(t, { stockTracking: false, workerConcurrency }, { dynamo: counting })
    const ids = ['ORD-C1', 'ORD-C2', 'ORD-C3', 'ORD-C4', 'ORD-C5']
    t.deepEqual(await run(sqsEvent(...ids.map((id) => sqsRecord({ ...seed('tp-valid.json'), order_id: id })))), {
      batchItemFailures: [],
    })
    for (const id of ids) t.is((await stored(clients.dynamo, r.ordersTable, orderKey(id)))?.status, 'PROCESSED')
    return most
  }
  t.is(await inFlight(undefined), 5, 'by default the whole batch at once')
  t.is(await inFlight(2), 2)
  t.is(await inFlight(1), 1)
})
