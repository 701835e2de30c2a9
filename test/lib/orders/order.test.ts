import test from 'ava'
import {
  customerIdFromEmail,
  DIALECT_MAPPINGS,
  DIALECTS,
  detectDialect,
  newOrderId,
  orderHash,
  orderIdFromIdempotencyKey,
  orderIdFromS3,
  type Dialect,
  type Order,
} from '../../../lib/orders/order.ts'
import { parseOrder } from '../../../lib/orders/validate.ts'
import { seed, seedText } from '../../helpers/fixtures.ts'

type Json = Record<string, unknown>

const ctx = (receivedAt = '2026-01-07T10:15:00.000Z', orderId = 'API-1') => ({
  defaultCurrency: 'EUR',
  maxOrderAmount: 10000,
  receivedAt,
  assignOrderId: () => orderId,
})
const parse = (input: unknown, receivedAt?: string, orderId?: string): Order =>
  parseOrder(input, ctx(receivedAt, orderId))
const hash = (order: Order): string => orderHash(order, 'EUR')
/** The canonical order as the worker gets it from the queue, without the intake block. */
const canonicalForm = (order: Order): Json => {
  const { intake: _intake, ...rest } = JSON.parse(JSON.stringify(order)) as Order
  return rest as unknown as Json
}
const tpValid = (patch: Json = {}): Order => parse({ ...seed('tp-valid.json'), ...patch })

// ---------------------------------------------------------------------------------------------------------------
// detectDialect
// ---------------------------------------------------------------------------------------------------------------

const speaks = test.macro({
  exec: (t, input: unknown, expected: Dialect) => t.is(detectDialect(input), expected),
  title: (provided = '', _input, expected: Dialect) => `detectDialect reads ${provided} as ${expected}`,
})

test('tp-valid.json', speaks, seed('tp-valid.json'), 'canonical')
test('tp-invalid.json', speaks, seed('tp-invalid.json'), 'canonical')
test('lab-rich-order.json', speaks, seed('lab-rich-order.json'), 'rich')
test('api-create-order.json', speaks, seed('api-create-order.json'), 'api')
test('api-missing-email.json (customerName alone is enough)', speaks, seed('api-missing-email.json'), 'api')
test('form-order.json (an unknown shape)', speaks, seed('form-order.json'), 'canonical')
test(
  'a canonical order with a customer block',
  speaks,
  { ...seed('tp-valid.json'), customer: { name: 'Ana', email: 'ana@example.com' } },
  'canonical',
)
test(
  'a canonical order with a payment block',
  speaks,
  { ...seed('tp-valid.json'), payment: { method: 'CARD' } },
  'canonical',
)
test('an empty object', speaks, {}, 'canonical')
test('an array', speaks, [seed('api-create-order.json')], 'canonical')
test('null', speaks, null, 'canonical')
test('a string', speaks, 'order', 'canonical')
test('an object with order_date only', speaks, { order_date: '2026-01-07T10:00:00Z' }, 'rich')
test('items with product_id only', speaks, { items: [{ product_id: 'P' }] }, 'rich')
test('payment.amount without amount', speaks, { payment: { amount: 10 } }, 'rich')
test('payment.amount beside amount', speaks, { amount: 10, payment: { amount: 10 } }, 'canonical')
test('items with productId only', speaks, { items: [{ productId: 'p' }] }, 'api')
test('shippingAddress only', speaks, { shippingAddress: {} }, 'api')
test('paymentMethod only', speaks, { paymentMethod: 'CARD' }, 'api')
test(
  'API keys beside rich keys (API wins)',
  speaks,
  { ...seed('lab-rich-order.json'), customerEmail: 'a@example.com' },
  'api',
)

test('DIALECT_MAPPINGS maps each of DIALECTS once, canonical last (it takes any body)', (t) => {
  const tried = DIALECT_MAPPINGS.map((m) => m.dialect)
  t.deepEqual([...tried].sort(), [...DIALECTS].sort())
  t.is(tried.at(-1), 'canonical')
})

// ---------------------------------------------------------------------------------------------------------------
// orderHash
// ---------------------------------------------------------------------------------------------------------------

test('orderHash is 64 hex digits and stable across calls', (t) => {
  // Prepare
  const order = tpValid()
  // Act
  const first = hash(order)
  // Assess
  t.regex(first, /^[0-9a-f]{64}$/)
  t.is(hash(structuredClone(order)), first)
})

test('the same order in rich and in canonical form hashes the same', (t) => {
  // Prepare
  const fromRich = parse(seed('lab-rich-order.json'), '2026-01-07T10:15:00.000Z', 'unused')
  // Act
  const fromCanonical = parse(canonicalForm(fromRich), '2026-02-01T00:00:00.000Z')
  // Assess
  t.is(fromCanonical.intake?.dialect, 'canonical')
  t.is(hash(fromCanonical), hash(fromRich))
})

test('key order does not change the hash, at any depth', (t) => {
  // Prepare
  const order = parse(seed('lab-rich-order.json'))
  const reverseKeys = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(reverseKeys)
      : typeof value === 'object' && value !== null
        ? Object.fromEntries(
            Object.entries(value)
              .reverse()
              .map(([k, v]) => [k, reverseKeys(v)]),
          )
        : value
  const reversed = reverseKeys(order) as Order
  t.notDeepEqual(Object.keys(reversed), Object.keys(order))
  // Act / Assess
  t.is(hash(reversed), hash(order))
})

test('item order does not change the hash', (t) => {
  // Prepare
  const order = parse(seed('lab-rich-order.json'))
  // Act
  const swapped: Order = { ...order, items: [...order.items].reverse() }
  // Assess
  t.is(hash(swapped), hash(order))
})

test('149.99 written as 149.990 hashes the same', (t) => {
  // Prepare
  const text = seedText('tp-valid.json')
  const padded = text
    .replace('"amount": 149.99', '"amount": 149.990')
    .replace('"unit_price": 50.00', '"unit_price": 50')
  t.not(padded, text)
  // Act / Assess
  t.is(hash(parse(JSON.parse(padded))), hash(parse(JSON.parse(text))))
})

const changesHash = test.macro({
  exec(t, edit: (order: Order) => Order) {
    // Prepare
    const order = parse(seed('lab-rich-order.json'))
    // Act
    const edited = edit(structuredClone(order))
    // Assess
    t.notDeepEqual(edited, order)
    t.not(hash(edited), hash(order))
  },
  title: (provided = '') => `orderHash changes when ${provided}`,
})
const firstItem = (order: Order, patch: Partial<Order['items'][number]>): Order => ({
  ...order,
  items: order.items.map((item, i) => (i === 0 ? { ...item, ...patch } : item)),
})
test('a quantity changes', changesHash, (o) => firstItem(o, { qty: 2 }))
test('a sku changes', changesHash, (o) => firstItem(o, { sku: 'PRD-1002' }))
test('a unit price changes by one cent', changesHash, (o) => firstItem(o, { unit_price: 2500.01 }))
test('an item description changes', changesHash, (o) => firstItem(o, { description: 'Smartphone ABC' }))
test('the amount changes', changesHash, (o) => ({ ...o, amount: 2800.01 }))
test('the customer e-mail changes', changesHash, (o) => ({
  ...o,
  customer: { ...o.customer, email: 'other@example.com' },
}))
test('the customer block goes', changesHash, ({ customer: _c, ...o }) => o)
test('the customer id changes', changesHash, (o) => ({ ...o, customer_id: 'CUST-2' }))
test('the shipping cost changes', changesHash, (o) => ({ ...o, shipping: { ...o.shipping, cost: 50.01 } }))
test('the notes change', changesHash, (o) => ({ ...o, notes: 'Deixar na portaria.' }))
test('an explicit created_at changes', changesHash, (o) => ({ ...o, created_at: '2023-10-01T10:31:00Z' }))
test('an item is added', changesHash, (o) => ({
  ...o,
  items: [...o.items, { sku: 'PRD-3003', qty: 1, unit_price: 1 }],
}))

test('server-assigned values do not change the hash: intake block, order id, an assigned created_at', (t) => {
  // Prepare: the same API order received twice, at different times, with different ids
  const first = parse(seed('api-create-order.json'), '2026-01-07T10:15:00.000Z', 'API-first')
  const second = parse(seed('api-create-order.json'), '2026-01-08T09:00:00.000Z', 'API-second')
  t.not(first.order_id, second.order_id)
  t.not(first.created_at, second.created_at)
  // Act / Assess
  t.is(hash(first), hash(second))
  t.is(
    hash({ ...first, intake: { received_at: '2030-01-01T00:00:00Z', dialect: 'api', assigned: ['created_at'] } }),
    hash(first),
  )
})

test('an order id alone does not change the hash of a canonical order', (t) => {
  // Act / Assess
  t.is(hash(tpValid({ order_id: 'ORD-2026-999' })), hash(tpValid()))
})

test('an explicit currency equal to the default hashes like a defaulted one', (t) => {
  // Prepare
  const { currency: _currency, ...withoutCurrency } = seed('tp-valid.json')
  const defaulted = parse(withoutCurrency)
  const explicit = tpValid({ currency: 'EUR' })
  t.deepEqual(defaulted.intake?.assigned, ['currency'])
  t.deepEqual(explicit.intake?.assigned, [])
  // Act / Assess
  t.is(hash(defaulted), hash(explicit))
})

test('a different explicit currency changes the hash', (t) => {
  // Act / Assess
  t.not(hash(tpValid({ currency: 'USD' })), hash(tpValid({ currency: 'EUR' })))
  t.not(hash(tpValid({ currency: 'USD' })), hash(tpValid({ currency: 'GBP' })))
})

test('the default currency is the one passed: EUR is content when the default is USD', (t) => {
  // Prepare
  const eur = tpValid({ currency: 'EUR' })
  const usd = tpValid({ currency: 'USD' })
  // Act / Assess
  t.is(orderHash(usd, 'USD'), orderHash(eur, 'EUR'))
  t.not(orderHash(eur, 'USD'), orderHash(eur, 'EUR'))
})

// ---------------------------------------------------------------------------------------------------------------
// Ids
// ---------------------------------------------------------------------------------------------------------------

test('orderIdFromIdempotencyKey is deterministic, distinct per key, and a valid order id', (t) => {
  // Act
  const a = orderIdFromIdempotencyKey('7f2c-retry-me')
  const again = orderIdFromIdempotencyKey('7f2c-retry-me')
  const b = orderIdFromIdempotencyKey('7f2c-retry-me ')
  // Assess
  t.is(a, again)
  t.not(a, b)
  t.regex(a, /^API-[0-9a-f]{32}$/)
  t.not(orderIdFromIdempotencyKey(''), orderIdFromIdempotencyKey('0'))
})

test('orderIdFromS3 is deterministic per bucket, key, version and line', (t) => {
  // Act
  const id = orderIdFromS3('orders-bucket', 'orders/2026/01/batch.jsonl', 'v1', 3)
  // Assess
  t.is(orderIdFromS3('orders-bucket', 'orders/2026/01/batch.jsonl', 'v1', 3), id)
  t.regex(id, /^S3-[0-9a-f]{32}$/)
  t.is(orderIdFromS3('b', 'k', undefined, 1), orderIdFromS3('b', 'k', undefined, 1))
})

const s3IdDiffers = test.macro({
  exec(t, other: Parameters<typeof orderIdFromS3>) {
    t.not(orderIdFromS3(...other), orderIdFromS3('orders-bucket', 'orders/batch.jsonl', 'v1', 3))
  },
  title: (provided = '') => `orderIdFromS3 differs when ${provided} differs`,
})
test('the bucket', s3IdDiffers, ['orders-bucket-2', 'orders/batch.jsonl', 'v1', 3])
test('the key', s3IdDiffers, ['orders-bucket', 'orders/batch2.jsonl', 'v1', 3])
test('the version', s3IdDiffers, ['orders-bucket', 'orders/batch.jsonl', 'v2', 3])
test('the presence of a version', s3IdDiffers, ['orders-bucket', 'orders/batch.jsonl', undefined, 3])
test('the line', s3IdDiffers, ['orders-bucket', 'orders/batch.jsonl', 'v1', 4])
test('the split between bucket and key', s3IdDiffers, ['orders-bucket/orders', 'batch.jsonl', 'v1', 3])

test('customerIdFromEmail trims and lower-cases the address, and hides it', (t) => {
  // Act
  const id = customerIdFromEmail('john.doe@example.com')
  // Assess
  t.regex(id, /^CUST-[0-9a-f]{20}$/)
  t.is(customerIdFromEmail('  John.Doe@EXAMPLE.com\n'), id)
  t.not(customerIdFromEmail('jane.doe@example.com'), id)
  t.false(id.includes('john'))
})

test('newOrderId is a fresh API id each time', (t) => {
  // Act
  const ids = Array.from({ length: 1000 }, () => newOrderId())
  // Assess
  t.is(new Set(ids).size, 1000)
  for (const id of ids.slice(0, 10))
    t.regex(id, /^API-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
})

test('assigned ids pass the order id rules', (t) => {
  // Act / Assess
  for (const id of [newOrderId(), orderIdFromIdempotencyKey('k'), orderIdFromS3('b', 'k', 'v', 1)]) {
    const order = parse({ ...seed('tp-valid.json'), order_id: id })
    t.is(order.order_id, id)
  }
})
