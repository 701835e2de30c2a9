import test from 'ava'
import {
  basketSize,
  customerSegment,
  daysToDelivery,
  deliveryPriority,
  enrich,
  sourceFile,
  type StoredOrder,
} from '../../../lib/lake/enrich.ts'
import { ITEM_COLUMNS, ORDER_COLUMNS, partitionPath } from '../../../lib/lake/enriched.ts'

// ---------- the rules, as tables ----------

const PRIORITY: [method: string, amountCents: number, days: number | undefined, expected: string][] = [
  ['express', 5_000, 1, 'urgent'],
  ['next_day', 5_000, 0, 'urgent'],
  ['same-day', 5_000, 1, 'urgent'],
  ['express', 5_000, 3, 'high'],
  ['express', 5_000, undefined, 'high'],
  ['standard', 5_000, 2, 'high'],
  ['standard', 100_000, 5, 'high'],
  ['standard', 99_999, 5, 'normal'],
  ['standard', 5_000, undefined, 'normal'],
  ['standard', 5_000, 7, 'normal'],
  ['standard', 5_000, 8, 'low'],
  ['pickup', 5_000, 4, 'low'],
  ['economy', 5_000, undefined, 'low'],
  ['pickup', 5_000, 1, 'high'],
  ['none', 150_000, undefined, 'high'],
]
for (const [method, amount, days, expected] of PRIORITY) {
  test(`delivery priority: ${method}, ${amount} cents, due in ${days ?? 'no'} days → ${expected}`, (t) => {
    t.is<string, string>(deliveryPriority(method, amount, days), expected)
  })
}

const BASKET: [units: number, skus: number, amountCents: number, expected: string][] = [
  [1, 1, 1_000, 'small'],
  [2, 2, 9_999, 'small'],
  [2, 1, 10_000, 'medium'],
  [3, 1, 1_000, 'medium'],
  [9, 4, 99_999, 'medium'],
  [10, 1, 1_000, 'large'],
  [5, 5, 1_000, 'large'],
  [1, 1, 100_000, 'large'],
]
for (const [units, skus, amount, expected] of BASKET) {
  test(`basket size: ${units} units, ${skus} SKUs, ${amount} cents → ${expected}`, (t) => {
    t.is<string, string>(basketSize(units, skus, amount), expected)
  })
}

const SEGMENT: [orders: number, spentCents: number, amountCents: number, expected: string][] = [
  [0, 0, 5_000, 'new'],
  [1, 5_000, 5_000, 'returning'],
  [2, 10_000, 5_000, 'returning'],
  [3, 15_000, 5_000, 'loyal'],
  [12, 60_000, 5_000, 'loyal'],
  [0, 0, 200_000, 'vip'],
  [0, 0, 199_999, 'new'],
  [5, 495_000, 5_000, 'vip'],
  [5, 494_999, 5_000, 'loyal'],
]
for (const [orders, spent, amount, expected] of SEGMENT) {
  test(`customer segment: ${orders} orders before, ${spent} cents spent, this one ${amount} → ${expected}`, (t) => {
    t.is<string, string>(customerSegment({ orders, spentCents: spent }, amount), expected)
  })
}

test('days to delivery count calendar days from the creation date; no date, none', (t) => {
  t.is(daysToDelivery('2026-12-01T23:59:00Z', '2026-12-02'), 1)
  t.is(daysToDelivery('2026-12-01T00:00:00Z', '2026-12-01'), 0)
  t.is(daysToDelivery('2026-12-01T10:00:00Z', undefined), undefined)
  t.is(daysToDelivery('2026-12-01T10:00:00Z', 'soon'), undefined)
})

test('the source file is the S3 object without its version and line; an API order has none', (t) => {
  t.is(sourceFile('s3://b/raw/year=2026/a.jsonl?versionId=v1#12'), 's3://b/raw/year=2026/a.jsonl')
  t.is(sourceFile('s3://b/orders/a.json#1'), 's3://b/orders/a.json')
  t.is(sourceFile('api'), null)
  t.is(sourceFile(undefined), null)
})

// ---------- one order ----------

const stored: StoredOrder = {
  processed_at: '2026-12-01T10:00:05.000Z',
  stock_status: 'PENDING_STOCK',
  source: 's3://tp-intake/raw/year=2026/month=12/day=01/orders.jsonl?versionId=v9#4',
  order: {
    order_id: 'ORD-1',
    customer_id: 'CUST-7',
    created_at: '2026-12-01T09:58:00.000Z',
    currency: 'EUR',
    amount: 129.9,
    items: [
      { sku: 'SKU-A', qty: 2, unit_price: 19.95, stock: 'RESERVED' },
      { sku: 'SKU-B', qty: 1, unit_price: 80, stock: 'PENDING' },
      { sku: 'SKU-A', qty: 1, unit_price: 10, stock: 'RESERVED' },
    ],
    customer: { name: 'Ana Example', email: 'ana@example.com', phone: '+351 900 000 000' },
    shipping: { method: 'Express', cost: 5, expected_delivery_date: '2026-12-02' },
    intake: { received_at: '2026-12-01T09:59:00.000Z', dialect: 'rich' },
  },
}

test('an order becomes one row with the rules applied, and one row per line', (t) => {
  const categories: Record<string, string> = { 'SKU-A': 'books', 'SKU-B': 'audio' }
  const { order, items } = enrich(stored, {
    categoryOf: (sku) => categories[sku] ?? 'unknown',
    history: { orders: 3, spentCents: 20_000 },
    exportedAt: '2026-12-01T10:01:00.000Z',
  })
  t.like(order, {
    order_id: 'ORD-1',
    customer_id: 'CUST-7',
    amount_cents: 12_990,
    shipping_cents: 500,
    lines: 3,
    units: 4,
    distinct_skus: 2,
    categories: 'audio,books',
    main_category: 'audio', // 80.00 of audio against 49.90 of books
    basket_size: 'medium',
    shipping_method: 'express',
    expected_delivery_date: '2026-12-02',
    delivery_priority: 'urgent',
    customer_order_number: 4,
    customer_spent_cents: 20_000,
    customer_segment: 'loyal',
    stock_status: 'PENDING_STOCK',
    pending_items: 1,
    dialect: 'rich',
    source: 's3',
    source_file: 's3://tp-intake/raw/year=2026/month=12/day=01/orders.jsonl',
    received_at: '2026-12-01T09:59:00.000Z',
  })
  t.deepEqual(
    items.map((i) => [i.line, i.sku, i.category, i.quantity, i.unit_price_cents, i.line_cents, i.stock]),
    [
      [1, 'SKU-A', 'books', 2, 1995, 3990, 'RESERVED'],
      [2, 'SKU-B', 'audio', 1, 8000, 8000, 'PENDING'],
      [3, 'SKU-A', 'books', 1, 1000, 1000, 'RESERVED'],
    ],
  )
  // The rows have exactly the tables' columns, and no personal data.
  t.deepEqual(Object.keys(order).sort(), ORDER_COLUMNS.map((c) => c.name).sort())
  t.deepEqual(Object.keys(items[0]!).sort(), ITEM_COLUMNS.map((c) => c.name).sort())
  const text = JSON.stringify({ order, items })
  for (const pii of ['Ana', 'ana@example.com', '900 000']) t.false(text.includes(pii), `${pii} is not exported`)
})

test('rows are partitioned by the day the order was processed', (t) => {
  t.is(partitionPath('orders', '2026-01-07T23:59:59.999Z'), 'processed/orders/year=2026/month=01/day=07/')
  t.is(partitionPath('items', '2026-12-31T00:00:00.000Z'), 'processed/items/year=2026/month=12/day=31/')
})
