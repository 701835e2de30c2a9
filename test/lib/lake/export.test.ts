/**
 * The export against moto and DuckDB: orders stored by the worker's own write (storeOrder), their records as the
 * stream carries them, exported to moto's S3 as Parquet, read back by DuckDB: the rows are the stored orders.
 */
import anyTest, { type TestFn } from 'ava'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import { DuckDBInstance } from '@duckdb/node-api'
import type { DynamoDBRecord } from 'aws-lambda'
import { orderKey, storeOrder } from '../../../lib/aws/table.ts'
import { exportRecords, newOrders } from '../../../lib/lake/export.ts'
import type { Order } from '../../../lib/orders/order.ts'
import { tempDir } from '../../helpers/fixtures.ts'
import { createResources, useMoto, type Clients, type Moto } from '../../helpers/moto.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients }>
useMoto(test)

const order = (id: string, customer: string, amount: number, sku = 'SKU-A'): Order => ({
  order_id: id,
  customer_id: customer,
  created_at: '2026-12-01T09:00:00.000Z',
  currency: 'EUR',
  amount,
  items: [{ sku, qty: 1, unit_price: amount }],
  customer: { email: `${customer.toLowerCase()}@example.com` },
  shipping: { method: 'standard', expected_delivery_date: '2026-12-05' },
  intake: { received_at: '2026-12-01T09:00:01.000Z', dialect: 'canonical' },
})

/** A stream record as Lambda delivers it: the item's new image, marshalled. */
const streamRecord = (item: Record<string, unknown>, sequence: number, eventName = 'INSERT'): DynamoDBRecord =>
  ({
    eventName,
    eventSource: 'aws:dynamodb',
    dynamodb: {
      Keys: marshall({ pk: item.pk, sk: item.sk }),
      NewImage: marshall(item, { removeUndefinedValues: true }),
      SequenceNumber: String(sequence),
      StreamViewType: 'NEW_IMAGE',
    },
  }) as unknown as DynamoDBRecord

test('stored orders are exported once each as Parquet rows, with the customer history the table held', async (t) => {
  const { clients } = t.context
  const r = await createResources(clients, 'exp')
  // Prepare: C-1 orders three times over two days, C-2 once; one order is stored twice (a duplicate).
  const stores: [Order, string][] = [
    [order('O-1', 'C-1', 30), '2026-12-01T10:00:00.000Z'],
    [order('O-2', 'C-2', 2500, 'SKU-B'), '2026-12-01T10:05:00.000Z'],
    [order('O-3', 'C-1', 40), '2026-12-01T11:00:00.000Z'],
    [order('O-4', 'C-1', 50), '2026-12-02T08:00:00.000Z'],
  ]
  for (const [o, now] of stores) {
    await storeOrder(clients.dynamo, r.ordersTable, o, `hash-${o.order_id}`, { stockTracking: false, now })
  }
  const items = await Promise.all(
    stores.map(async ([o]) => {
      const { Item } = await clients.dynamo.send(
        new GetCommand({ TableName: r.ordersTable, Key: orderKey(o.order_id) }),
      )
      return Item!
    }),
  )
  const records = [
    ...items.map((item, i) => streamRecord(item, 100 + i)),
    streamRecord(items[0]!, 200), // the same insert delivered again in the batch
    streamRecord({ pk: 'STOCK#SKU-A', sk: 'STOCK', available: 3 }, 201),
    streamRecord(items[1]!, 202, 'MODIFY'),
  ]
  t.is(newOrders(records).length, 4, 'the order inserts, once each; stock and updates are not orders')
  // Act
  const summary = await exportRecords(records, {
    dynamo: clients.dynamo,
    s3: clients.objects,
    config: { ordersTable: r.ordersTable, lakeBucket: r.bucket },
    categoryOf: (sku) => (sku === 'SKU-A' ? 'books' : 'audio'),
    now: () => new Date('2026-12-02T09:00:00.000Z'),
  })
  // Assess: one file per table and day
  t.deepEqual(
    summary.files.map((f) => [f.key, f.rows]),
    [
      ['processed/orders/year=2026/month=12/day=01/part-000000000000000000100.parquet', 3],
      ['processed/items/year=2026/month=12/day=01/part-000000000000000000100.parquet', 3],
      ['processed/orders/year=2026/month=12/day=02/part-000000000000000000103.parquet', 1],
      ['processed/items/year=2026/month=12/day=02/part-000000000000000000103.parquet', 1],
    ],
  )
  // Read back with DuckDB, from a copy of the bucket's processed/ (DuckDB cannot read s3:// here).
  const dir = tempDir(t, 'lake-')
  const listed = await clients.s3.send(new ListObjectsV2Command({ Bucket: r.bucket, Prefix: 'processed/' }))
  for (const { Key } of listed.Contents ?? []) {
    const object = await clients.s3.send(new GetObjectCommand({ Bucket: r.bucket, Key: Key! }))
    const file = join(dir, Key!)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, await object.Body!.transformToByteArray())
  }
  const db = await (await DuckDBInstance.create(':memory:')).connect()
  const rows = (
    await db.runAndReadAll(
      `SELECT order_id, customer_id, amount_cents, customer_order_number, customer_spent_cents, customer_segment,
              basket_size, delivery_priority, source, day
       FROM read_parquet('${dir}/processed/orders/**/*.parquet', hive_partitioning = true) ORDER BY order_id`,
    )
  ).getRowObjectsJson()
  t.deepEqual(rows, [
    {
      order_id: 'O-1',
      customer_id: 'C-1',
      amount_cents: '3000',
      customer_order_number: 1,
      customer_spent_cents: '0',
      customer_segment: 'new',
      basket_size: 'small',
      delivery_priority: 'normal',
      source: 'api',
      day: '01',
    },
    {
      order_id: 'O-2',
      customer_id: 'C-2',
      amount_cents: '250000',
      customer_order_number: 1,
      customer_spent_cents: '0',
      customer_segment: 'vip',
      basket_size: 'large',
      delivery_priority: 'high',
      source: 'api',
      day: '01',
    },
    {
      order_id: 'O-3',
      customer_id: 'C-1',
      amount_cents: '4000',
      customer_order_number: 2,
      customer_spent_cents: '3000',
      customer_segment: 'returning',
      basket_size: 'small',
      delivery_priority: 'normal',
      source: 'api',
      day: '01',
    },
    {
      order_id: 'O-4',
      customer_id: 'C-1',
      amount_cents: '5000',
      customer_order_number: 3,
      customer_spent_cents: '7000',
      customer_segment: 'returning',
      basket_size: 'small',
      delivery_priority: 'normal',
      source: 'api',
      day: '02',
    },
  ])
  const categories = (
    await db.runAndReadAll(
      `SELECT category, sum(line_cents)::INTEGER AS cents
       FROM read_parquet('${dir}/processed/items/**/*.parquet', hive_partitioning = true) GROUP BY category ORDER BY category`,
    )
  ).getRowObjectsJson()
  t.deepEqual(categories, [
    { category: 'audio', cents: 250000 },
    { category: 'books', cents: 12000 },
  ])
})
