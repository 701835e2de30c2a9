/** The local DynamoDB stream event source: filters as Lambda's event filtering does, reads moto's stream in order. */
import anyTest, { type TestFn } from 'ava'
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams'
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb'
import { PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb'
import type { DynamoDBStreamEvent } from 'aws-lambda'
import { storeOrder } from '../../lib/aws/table.ts'
import { matchesPattern, pollStream } from '../../scripts/local/stream-poller.ts'
import { seed } from '../helpers/fixtures.ts'
import { clientsFor, createResources, freePort, useMoto, type Clients, type Moto } from '../helpers/moto.ts'
import { startMotoServer } from '../../scripts/local/moto.ts'
import type { Order } from '../../lib/orders/order.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients }>
useMoto(test)

/** The exporter's filter (lake.yaml): new PROCESSED order records. */
const ORDERS = {
  eventName: ['INSERT'],
  dynamodb: { NewImage: { pk: { S: [{ prefix: 'ORDER#' }] }, status: { S: ['PROCESSED'] } } },
}

test('a pattern matches literal values and prefixes, field by field', (t) => {
  const record = (eventName: string, pk: string, status: string) => ({
    eventName,
    dynamodb: { NewImage: { pk: { S: pk }, status: { S: status } } },
  })
  t.true(matchesPattern(record('INSERT', 'ORDER#1', 'PROCESSED'), ORDERS))
  t.false(matchesPattern(record('MODIFY', 'ORDER#1', 'PROCESSED'), ORDERS))
  t.false(matchesPattern(record('INSERT', 'STOCK#A', 'PROCESSED'), ORDERS))
  t.false(matchesPattern(record('INSERT', 'ORDER#1', 'REJECTED'), ORDERS))
  t.false(matchesPattern({ eventName: 'INSERT' }, ORDERS), 'a field the record lacks does not match')
})

test("moto's stream is read from its start, filtered, in order; a failed batch is given again", async (t) => {
  const { clients, moto } = t.context
  const r = await createResources(clients, 'stream')
  const { Table } = await clients.dynamo.send(new DescribeTableCommand({ TableName: r.ordersTable }))
  const streamArn = Table!.LatestStreamArn!
  const base = seed('tp-valid.json') as unknown as Order
  for (const id of ['S-1', 'S-2']) {
    await storeOrder(clients.dynamo, r.ordersTable, { ...base, order_id: id }, `h-${id}`, {
      stockTracking: false,
      now: '2026-12-01T10:00:00.000Z',
    })
  }
  await clients.dynamo.send(new PutCommand({ TableName: r.ordersTable, Item: { pk: 'STOCK#X', sk: 'STOCK', n: 1 } }))
  const batches: string[][] = []
  let calls = 0
  const abort = new AbortController()
  const polling = pollStream(
    {
      streams: new DynamoDBStreamsClient({
        endpoint: moto.endpoint,
        region: 'eu-west-3',
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      }),
      streamArn,
      region: 'eu-west-3',
      batchSize: 100,
      patterns: [JSON.stringify(ORDERS)],
      invoke: async (event: DynamoDBStreamEvent) => {
        calls++
        if (calls === 1) throw new Error('the first delivery fails')
        batches.push(event.Records.map((rec) => rec.dynamodb!.NewImage!.order_id!.S!))
        if (batches.length === 1) {
          // A record written after the first delivery comes in a batch of its own.
          await storeOrder(clients.dynamo, r.ordersTable, { ...base, order_id: 'S-3' }, 'h-S-3', {
            stockTracking: false,
            now: '2026-12-01T10:01:00.000Z',
          })
        } else abort.abort()
        return {}
      },
    },
    abort.signal,
  )
  await Promise.race([polling, new Promise((resolve) => setTimeout(resolve, 15_000))])
  abort.abort()
  await polling
  t.is(calls, 3, 'delivered again after the failure, then the later record')
  t.deepEqual(batches, [['S-1', 'S-2'], ['S-3']], 'the order inserts only, in stream order, each once')
})

test('on moto_server as installed, records written after a failed transaction are read too (it replaces the shard)', async (t) => {
  // moto 5.2.1 puts a copy of the table, stream shard included, in its place when a transaction fails; the local
  // stack's own emulator does not (scripts/local/moto_server.py), one a user started does.
  const installed = await startMotoServer(await freePort(), undefined, true)
  t.teardown(() => installed.child?.kill())
  const moto = installed
  const clients = clientsFor(installed.endpoint)
  const r = await createResources(clients, 'stream-tx')
  const { Table } = await clients.dynamo.send(new DescribeTableCommand({ TableName: r.ordersTable }))
  const base = seed('tp-valid.json') as unknown as Order
  const store = (id: string) =>
    storeOrder(clients.dynamo, r.ordersTable, { ...base, order_id: id }, `h-${id}`, {
      stockTracking: false,
      now: '2026-12-01T10:00:00.000Z',
    })
  await store('T-1')
  const seen: string[] = []
  const abort = new AbortController()
  const polling = pollStream(
    {
      streams: new DynamoDBStreamsClient({
        endpoint: moto.endpoint,
        region: 'eu-west-3',
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      }),
      streamArn: Table!.LatestStreamArn!,
      region: 'eu-west-3',
      batchSize: 100,
      patterns: [JSON.stringify(ORDERS)],
      invoke: async (event: DynamoDBStreamEvent) => {
        seen.push(...event.Records.map((rec) => rec.dynamodb!.NewImage!.order_id!.S!))
        if (seen.length === 1) {
          // After the poller holds an iterator: a transaction that fails, then another order.
          await t.throwsAsync(
            clients.dynamo.send(
              new TransactWriteCommand({
                TransactItems: [
                  {
                    ConditionCheck: {
                      TableName: r.ordersTable,
                      Key: { pk: 'STOCK#NONE', sk: 'STOCK' },
                      ConditionExpression: 'attribute_exists(pk)',
                    },
                  },
                ],
              }),
            ),
            { name: 'TransactionCanceledException' },
          )
          await store('T-2')
        } else abort.abort()
        return {}
      },
    },
    abort.signal,
  )
  await Promise.race([polling, new Promise((resolve) => setTimeout(resolve, 15_000))])
  abort.abort()
  await polling
  t.deepEqual(seen, ['T-1', 'T-2'])
})
