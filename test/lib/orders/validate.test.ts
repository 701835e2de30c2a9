import test, { type ExecutionContext } from 'ava'
import validator from '@middy/validator'
import { ValidationError, type FieldError } from '../../../lib/orders/errors.ts'
import { customerIdFromEmail, DIALECTS, orderIdFromIdempotencyKey, type Order } from '../../../lib/orders/order.ts'
import { checkCanonical, checkOrder, fieldName, orderEventValidator, parseOrder } from '../../../lib/orders/validate.ts'
import { seed } from '../../helpers/fixtures.ts'

type Json = Record<string, unknown>

const RECEIVED_AT = '2026-01-07T10:15:00.000Z'
const ctx = (overrides: Partial<Parameters<typeof parseOrder>[1]> = {}): Parameters<typeof parseOrder>[1] => ({
  defaultCurrency: 'EUR',
  maxOrderAmount: 10000,
  receivedAt: RECEIVED_AT,
  assignOrderId: () => orderIdFromIdempotencyKey('key-1'),
  ...overrides,
})

/** The field errors of a refused order (fails the test when the order is accepted). */
const refusal = (
  t: ExecutionContext,
  input: unknown,
  overrides: Partial<Parameters<typeof parseOrder>[1]> = {},
): FieldError[] => t.throws(() => parseOrder(input, ctx(overrides)), { instanceOf: ValidationError })?.fields ?? []

const pathsAndRules = (fields: FieldError[]) => fields.map(({ path, rule }) => ({ path, rule }))

// Builders: the seed of each dialect with a patch, the order, item or total adjusted as asked.
const canonical = (patch: Json = {}): Json => ({ ...seed('tp-valid.json'), ...patch })
const rich = (patch: Json = {}): Json => ({ ...seed('lab-rich-order.json'), ...patch })
const api = (patch: Json = {}): Json => ({ ...seed('api-create-order.json'), ...patch })

/** One line; amount set to what it should be unless the patch makes that impossible. */
const canonicalLine = (item: Json, amount: unknown = 149.99): Json =>
  canonical({ items: [{ sku: 'SKU-1', qty: 1, unit_price: 149.99, ...item }], amount })
const richLine = (item: Json, amount: unknown = 2800): Json =>
  rich({
    items: [{ product_id: 'PRD-1001', quantity: 1, unit_price: 2800, ...item }],
    payment: { method: 'Pix', amount },
  })
const apiLine = (item: Json): Json => api({ items: [{ productId: 'p123', quantity: 1, price: 99.99, ...item }] })

const manyItems = (n: number, item: (i: number) => Json): Json[] => Array.from({ length: n }, (_, i) => item(i))

// ---------------------------------------------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------------------------------------------

test('the canonical seed parses to itself, with the intake block added', (t) => {
  // Act
  const order = parseOrder(seed('tp-valid.json'), ctx())
  // Assess
  t.deepEqual(order, {
    order_id: 'ORD-2026-001',
    customer_id: 'CUST-1001',
    created_at: '2026-01-07T10:00:00Z',
    currency: 'EUR',
    amount: 149.99,
    items: [
      { sku: 'SKU-1', qty: 1, unit_price: 99.99 },
      { sku: 'SKU-2', qty: 1, unit_price: 50 },
    ],
    intake: { received_at: RECEIVED_AT, dialect: 'canonical', assigned: [] },
  })
})

test('a canonical order without currency gets the configured default, marked as assigned', (t) => {
  // Prepare
  const { currency: _currency, ...withoutCurrency } = seed('tp-valid.json')
  // Act
  const order = parseOrder(withoutCurrency, ctx({ defaultCurrency: 'USD' }))
  // Assess
  t.is(order.currency, 'USD')
  t.deepEqual(order.intake?.assigned, ['currency'])
})

test('the rich seed parses to the canonical order, field by field', (t) => {
  // Act
  const order = parseOrder(seed('lab-rich-order.json'), ctx())
  // Assess
  const address = {
    street: 'Avenida das Américas',
    number: '5000',
    complement: 'Bloco 2, Apt 301',
    neighborhood: 'Barra da Tijuca',
    city: 'Rio de Janeiro',
    state: 'RJ',
    zip_code: '22640-102',
  }
  t.deepEqual(order, {
    order_id: 'ORD-20231001-0001',
    customer_id: customerIdFromEmail('mariana.alves@example.com'),
    created_at: '2023-10-01T10:30:00Z',
    currency: 'EUR',
    amount: 2800,
    items: [
      { sku: 'PRD-1001', qty: 1, unit_price: 2500, description: 'Smartphone XYZ' },
      { sku: 'PRD-2002', qty: 2, unit_price: 150, description: 'Fone de Ouvido Bluetooth' },
    ],
    company: { name: 'Tech Solutions Ltda', cnpj: '12.345.678/0001-99' },
    customer: {
      first_name: 'Mariana',
      last_name: 'Alves',
      cpf: '123.456.789-00',
      email: 'mariana.alves@example.com',
      phone: '+55 21 91234-5678',
      address,
    },
    payment: { method: 'Cartão de Crédito', transaction_id: 'TXN-9876543210' },
    shipping: { method: 'Express', cost: 50, address, expected_delivery_date: '2023-10-03' },
    order_status: 'Pendente',
    notes: 'Entregar no período da tarde.',
    intake: { received_at: RECEIVED_AT, dialect: 'rich', assigned: ['customer_id', 'currency'] },
  })
  t.regex(order.customer_id, /^CUST-[0-9a-f]{20}$/)
})

test('a rich order keeps its own customer_id and currency, and then assigns neither', (t) => {
  // Act
  const order = parseOrder(rich({ customer_id: 'CUST-42', currency: 'BRL' }), ctx())
  // Assess
  t.is(order.customer_id, 'CUST-42')
  t.is(order.currency, 'BRL')
  t.deepEqual(order.intake?.assigned, [])
})

test('a rich order without currency gets the configured default', (t) => {
  // Act
  const order = parseOrder(seed('lab-rich-order.json'), ctx({ defaultCurrency: 'BRL' }))
  // Assess
  t.is(order.currency, 'BRL')
})

test('the API seed parses to the canonical order: assigned id, derived customer, summed amount, received time', (t) => {
  // Act
  const order = parseOrder(seed('api-create-order.json'), ctx())
  // Assess
  t.deepEqual(order, {
    order_id: orderIdFromIdempotencyKey('key-1'),
    customer_id: customerIdFromEmail('john.doe@example.com'),
    created_at: RECEIVED_AT,
    currency: 'EUR',
    amount: 99.99,
    items: [{ sku: 'p123', qty: 1, unit_price: 99.99, description: 'Product Name' }],
    customer: { name: 'John Doe', email: 'john.doe@example.com' },
    payment: { method: 'CARD' },
    shipping: { address: { street: '123 Main St', city: 'Anytown', zip_code: '12345', country: 'USA' } },
    intake: {
      received_at: RECEIVED_AT,
      dialect: 'api',
      assigned: ['order_id', 'customer_id', 'created_at', 'currency'],
    },
  })
  t.regex(order.customer_id, /^CUST-[0-9a-f]{20}$/)
})

test('an API order is given the id assignOrderId returns, once', (t) => {
  // Prepare
  const ids = ['API-first', 'API-second']
  // Act
  const order = parseOrder(seed('api-create-order.json'), ctx({ assignOrderId: () => ids.shift() ?? 'none' }))
  // Assess
  t.is(order.order_id, 'API-first')
  t.deepEqual(ids, ['API-second'])
})

test('an API order amount is the sum of quantity × price over its lines', (t) => {
  // Act
  const order = parseOrder(
    api({
      items: [
        { productId: 'a', quantity: 3, price: 19.99 },
        { productId: 'b', quantity: 2, price: 0.05 },
      ],
    }),
    ctx(),
  )
  // Assess
  t.is(order.amount, 60.07)
})

test('the same customer gets the same derived id from the rich and the API dialect', (t) => {
  // Act
  const fromRich = parseOrder(rich({ customer: { email: 'Mariana.Alves@Example.com' } }), ctx())
  const fromApi = parseOrder(api({ customerEmail: 'mariana.alves@example.com' }), ctx())
  // Assess
  t.is(fromRich.customer_id, fromApi.customer_id)
})

test('the invalid canonical seed fails with exactly three errors: amount > 0, at least one item, amount = sum', (t) => {
  // Act
  const fields = refusal(t, seed('tp-invalid.json'))
  // Assess
  t.deepEqual(pathsAndRules(fields), [
    { path: '/amount', rule: 'exclusiveMinimum' },
    { path: '/items', rule: 'minItems' },
    { path: '/amount', rule: 'sum' },
  ])
})

test('the API seed without e-mail is refused with exactly "Missing required field: customerEmail"', (t) => {
  // Act
  const err = t.throws(() => parseOrder(seed('api-missing-email.json'), ctx()), { instanceOf: ValidationError })
  // Assess
  t.is(err?.message, 'Missing required field: customerEmail')
  t.deepEqual(err?.fields, [
    { path: '/customerEmail', rule: 'required', message: 'Missing required field: customerEmail' },
  ])
  t.true(err?.permanent)
})

test('the web form body is refused naming each missing canonical field and the unknown `order` field', (t) => {
  // Act
  const err = t.throws(() => parseOrder(seed('form-order.json'), ctx()), { instanceOf: ValidationError })
  // Assess
  t.is(err?.message, 'Missing required fields: order_id, customer_id, created_at, amount, items; Unknown field: order')
  t.deepEqual(pathsAndRules(err?.fields ?? []), [
    { path: '/order_id', rule: 'required' },
    { path: '/customer_id', rule: 'required' },
    { path: '/created_at', rule: 'required' },
    { path: '/amount', rule: 'required' },
    { path: '/items', rule: 'required' },
    { path: '/order', rule: 'additionalProperties' },
  ])
})

// ---------------------------------------------------------------------------------------------------------------
// Rejections, dialect by dialect: each names the field (JSON Pointer in the client's dialect) and the rule
// ---------------------------------------------------------------------------------------------------------------

const rejects = test.macro({
  exec(
    t,
    input: unknown,
    expected: { path: string; rule: string; dialect: string },
    overrides: Partial<Parameters<typeof parseOrder>[1]> = {},
  ) {
    // Act
    const fields = refusal(t, input, overrides)
    // Assess
    t.true(
      fields.some((f) => f.path === expected.path && f.rule === expected.rule),
      `expected ${expected.path} ${expected.rule} among ${JSON.stringify(pathsAndRules(fields))}`,
    )
    if (expected.rule !== 'maxBytes') {
      // checkOrder, told the dialect, reports the same failure once
      const again = checkOrder(input, expected.dialect as 'canonical' | 'rich' | 'api', {
        maxOrderAmount: overrides.maxOrderAmount ?? 10000,
      })
      t.is(again.filter((f) => f.path === expected.path && f.rule === expected.rule).length, 1)
    }
    for (const f of fields) {
      t.true(f.message.length > 0, `empty message for ${f.path}`)
      t.true(f.message.includes(fieldName(f.path)), `"${f.message}" does not name ${fieldName(f.path)}`)
      if (f.path !== '') t.false(f.message.includes(f.path), `"${f.message}" quotes the pointer ${f.path}`)
    }
  },
  title: (
    provided = '',
    _input: unknown,
    expected: { path: string; rule: string; dialect: string },
    _overrides?: Partial<Parameters<typeof parseOrder>[1]>,
  ) => `${expected.dialect}: ${provided} → ${expected.path || "''"} ${expected.rule}`,
})

const C = (path: string, rule: string) => ({ path, rule, dialect: 'canonical' })
const R = (path: string, rule: string) => ({ path, rule, dialect: 'rich' })
const A = (path: string, rule: string) => ({ path, rule, dialect: 'api' })

// currency: ISO 4217, upper case
test('currency EURO is not ISO 4217', rejects, canonical({ currency: 'EURO' }), C('/currency', 'enum'))
test('currency eur is not ISO 4217', rejects, canonical({ currency: 'eur' }), C('/currency', 'enum'))
test('currency EURO is not ISO 4217', rejects, rich({ currency: 'EURO' }), R('/currency', 'enum'))
test('currency eur is not ISO 4217', rejects, rich({ currency: 'eur' }), R('/currency', 'enum'))
test('currency EURO is not ISO 4217', rejects, api({ currency: 'EURO' }), A('/currency', 'enum'))
test('currency eur is not ISO 4217', rejects, api({ currency: 'eur' }), A('/currency', 'enum'))
test('a number for currency', rejects, canonical({ currency: 978 }), C('/currency', 'type'))

// created_at / order_date: ISO 8601 date-time
test('month 13 is not a date', rejects, canonical({ created_at: '2026-13-01T00:00:00Z' }), C('/created_at', 'format'))
test('07/01/2026 is not ISO 8601', rejects, canonical({ created_at: '07/01/2026' }), C('/created_at', 'format'))
test('a date without time', rejects, canonical({ created_at: '2026-01-07' }), C('/created_at', 'format'))
test('month 13 is not a date', rejects, rich({ order_date: '2026-13-01T00:00:00Z' }), R('/order_date', 'format'))
test('07/01/2026 is not ISO 8601', rejects, rich({ order_date: '07/01/2026' }), R('/order_date', 'format'))

// quantities: positive integers, no coercion
test('qty 0', rejects, canonicalLine({ qty: 0 }), C('/items/0/qty', 'minimum'))
test('qty 1.5', rejects, canonicalLine({ qty: 1.5 }), C('/items/0/qty', 'type'))
test('qty "1"', rejects, canonicalLine({ qty: '1' }), C('/items/0/qty', 'type'))
test(
  'qty "12" is not coerced to 12',
  rejects,
  canonicalLine({ qty: '12', unit_price: 10 }, 120),
  C('/items/0/qty', 'type'),
)
test('qty -1', rejects, canonicalLine({ qty: -1 }), C('/items/0/qty', 'minimum'))
test('quantity 0', rejects, richLine({ quantity: 0 }), R('/items/0/quantity', 'minimum'))
test('quantity 1.5', rejects, richLine({ quantity: 1.5 }), R('/items/0/quantity', 'type'))
test('quantity "1"', rejects, richLine({ quantity: '1' }), R('/items/0/quantity', 'type'))
test('quantity 0', rejects, apiLine({ quantity: 0 }), A('/items/0/quantity', 'minimum'))
test('quantity 1.5', rejects, apiLine({ quantity: 1.5 }), A('/items/0/quantity', 'type'))
test('quantity "1"', rejects, apiLine({ quantity: '1' }), A('/items/0/quantity', 'type'))

// unit prices: positive, at most 2 decimals, numbers
test(
  'unit_price 0.001 has 3 decimals',
  rejects,
  canonicalLine({ unit_price: 0.001 }),
  C('/items/0/unit_price', 'decimals'),
)
test('unit_price 0', rejects, canonicalLine({ unit_price: 0 }), C('/items/0/unit_price', 'exclusiveMinimum'))
test('unit_price -1', rejects, canonicalLine({ unit_price: -1 }), C('/items/0/unit_price', 'exclusiveMinimum'))
test(
  'unit_price "149.99" is not coerced',
  rejects,
  canonicalLine({ unit_price: '149.99' }),
  C('/items/0/unit_price', 'type'),
)
test('unit_price 0.001 has 3 decimals', rejects, richLine({ unit_price: 0.001 }), R('/items/0/unit_price', 'decimals'))
test('unit_price 0', rejects, richLine({ unit_price: 0 }), R('/items/0/unit_price', 'exclusiveMinimum'))
test('unit_price -2800', rejects, richLine({ unit_price: -2800 }), R('/items/0/unit_price', 'exclusiveMinimum'))
test('price 0.001 has 3 decimals', rejects, apiLine({ price: 0.001 }), A('/items/0/price', 'decimals'))
test('price 0', rejects, apiLine({ price: 0 }), A('/items/0/price', 'exclusiveMinimum'))
test('price -99.99', rejects, apiLine({ price: -99.99 }), A('/items/0/price', 'exclusiveMinimum'))

// amount: positive, below the maximum, 2 decimals, equal to the items
test(
  'amount 10000 is not below the default maximum',
  rejects,
  canonical({ items: [{ sku: 'A', qty: 2, unit_price: 5000 }], amount: 10000 }),
  C('/amount', 'maximum'),
)
test('amount 149.99 is not below a configured maximum of 100', rejects, canonical(), C('/amount', 'maximum'), {
  maxOrderAmount: 100,
})
test(
  'amount 100 is not below a configured maximum of 100',
  rejects,
  canonical({ items: [{ sku: 'A', qty: 1, unit_price: 100 }], amount: 100 }),
  C('/amount', 'maximum'),
  { maxOrderAmount: 100 },
)
test(
  'payment.amount 10000 is not below the default maximum',
  rejects,
  richLine({ unit_price: 10000 }, 10000),
  R('/payment/amount', 'maximum'),
)
test(
  'payment.amount 2800 is not below a configured maximum of 1000',
  rejects,
  rich(),
  R('/payment/amount', 'maximum'),
  { maxOrderAmount: 1000 },
)
test('amount 149.991 has 3 decimals', rejects, canonical({ amount: 149.991 }), C('/amount', 'decimals'))
test(
  'payment.amount 2800.001 has 3 decimals',
  rejects,
  rich({ payment: { amount: 2800.001 } }),
  R('/payment/amount', 'decimals'),
)
test('amount 149.98 is one cent short of the items', rejects, canonical({ amount: 149.98 }), C('/amount', 'sum'))
test('amount 150.00 is one cent over the items', rejects, canonical({ amount: 150 }), C('/amount', 'sum'))
test(
  'payment.amount 2799.99 is one cent short of the items',
  rejects,
  rich({ payment: { amount: 2799.99 } }),
  R('/payment/amount', 'sum'),
)
test(
  'payment.amount 2800.01 is one cent over the items',
  rejects,
  rich({ payment: { amount: 2800.01 } }),
  R('/payment/amount', 'sum'),
)
test('amount 0', rejects, canonical({ amount: 0 }), C('/amount', 'exclusiveMinimum'))
test('amount "149.99" is not coerced', rejects, canonical({ amount: '149.99' }), C('/amount', 'type'))

// items: 1 to 50
test(
  '51 items',
  rejects,
  canonical({ items: manyItems(51, (i) => ({ sku: `S-${i}`, qty: 1, unit_price: 1 })), amount: 51 }),
  C('/items', 'maxItems'),
)
test('no items', rejects, canonical({ items: [] }), C('/items', 'minItems'))
test(
  '51 items',
  rejects,
  rich({
    items: manyItems(51, (i) => ({ product_id: `P-${i}`, quantity: 1, unit_price: 1 })),
    payment: { amount: 51 },
  }),
  R('/items', 'maxItems'),
)
test('no items', rejects, rich({ items: [] }), R('/items', 'minItems'))
test(
  '51 items',
  rejects,
  api({ items: manyItems(51, (i) => ({ productId: `p-${i}`, quantity: 1, price: 1 })) }),
  A('/items', 'maxItems'),
)
test('no items', rejects, api({ items: [] }), A('/items', 'minItems'))

// unknown fields, at the top and below
test('an unknown top-level field', rejects, canonical({ discount: 5 }), C('/discount', 'additionalProperties'))
test('an unknown top-level field', rejects, rich({ discount: 5 }), R('/discount', 'additionalProperties'))
test('an unknown top-level field', rejects, api({ discount: 5 }), A('/discount', 'additionalProperties'))
test('an unknown item field', rejects, canonicalLine({ colour: 'red' }), C('/items/0/colour', 'additionalProperties'))
test(
  'an unknown shipping address field',
  rejects,
  api({ shippingAddress: { city: 'Anytown', zip: '12345' } }),
  A('/shippingAddress/zip', 'additionalProperties'),
)
test(
  'payment.amount in a canonical order',
  rejects,
  canonical({ payment: { method: 'CARD', amount: 149.99 } }),
  C('/payment/amount', 'additionalProperties'),
)

// ids: 1 to 64 characters, letters, digits and . _ : # / -
test('an empty order_id', rejects, canonical({ order_id: '' }), C('/order_id', 'minLength'))
test('an order_id of 65 characters', rejects, canonical({ order_id: 'O'.repeat(65) }), C('/order_id', 'maxLength'))
test('an order_id with a space', rejects, canonical({ order_id: 'ORD 2026' }), C('/order_id', 'pattern'))
test('an empty order_id', rejects, rich({ order_id: '' }), R('/order_id', 'minLength'))
test('an order_id of 65 characters', rejects, rich({ order_id: 'O'.repeat(65) }), R('/order_id', 'maxLength'))
test('an order_id with a space', rejects, rich({ order_id: 'ORD 2026' }), R('/order_id', 'pattern'))
test('a numeric order_id', rejects, canonical({ order_id: 2026 }), C('/order_id', 'type'))
test('a sku of 65 characters', rejects, canonicalLine({ sku: 'S'.repeat(65) }), C('/items/0/sku', 'maxLength'))
test('a productId with a space', rejects, apiLine({ productId: 'p 123' }), A('/items/0/productId', 'pattern'))

// required fields and the size bound
test(
  'a missing customer_id',
  rejects,
  (() => {
    const { customer_id: _c, ...o } = canonical()
    return o
  })(),
  C('/customer_id', 'required'),
)
test(
  'neither customer_id nor customer.email',
  rejects,
  (() => {
    const { customer: _c, ...o } = rich()
    return o
  })(),
  R('/customer/email', 'required'),
)
test(
  'a customer without e-mail and no customer_id',
  rejects,
  rich({ customer: { first_name: 'Mariana' } }),
  R('/customer/email', 'required'),
)
test(
  'an item without sku',
  rejects,
  canonical({ items: [{ qty: 1, unit_price: 149.99 }] }),
  C('/items/0/sku', 'required'),
)
test('a malformed e-mail', rejects, api({ customerEmail: 'john.doe' }), A('/customerEmail', 'format'))
test('an order over 64 KiB', rejects, canonical({ notes: 'x'.repeat(70_000) }), C('', 'maxBytes'))

test('an API order whose total reaches the maximum is refused on /items with rule maximum', (t) => {
  // Act
  const atDefault = refusal(t, apiLine({ quantity: 100, price: 100 }))
  const atConfigured = refusal(t, seed('api-create-order.json'), { maxOrderAmount: 50 })
  // Assess
  t.deepEqual(pathsAndRules(atDefault), [{ path: '/items', rule: 'maximum' }])
  t.is(
    atDefault[0]?.message,
    'items total 10000.00 (quantity × price) must be below 10000',
    'the message names the field',
  )
  t.deepEqual(pathsAndRules(atConfigured), [{ path: '/items', rule: 'maximum' }])
  t.is(atConfigured[0]?.message, 'items total 99.99 (quantity × price) must be below 50')
})

test('an order one cent below the maximum is accepted', (t) => {
  // Act
  const order = parseOrder(canonical({ items: [{ sku: 'A', qty: 1, unit_price: 9999.99 }], amount: 9999.99 }), ctx())
  // Assess
  t.is(order.amount, 9999.99)
})

test('an order that only breaks the size bound is refused with maxBytes on the whole order', (t) => {
  // Prepare: every field within its schema bounds (a 4-byte character counts as one), the whole well over 64 KiB
  const wide = (n: number) => '😀'.repeat(n)
  const order = canonical({
    items: manyItems(50, (i) => ({ sku: `SKU-${i}`, qty: 1, unit_price: 1, description: wide(256) })),
    amount: 50,
    customer: { name: wide(256), first_name: wide(256), last_name: wide(256), cpf: wide(256), phone: wide(256) },
    notes: wide(2000),
  })
  t.true(Buffer.byteLength(JSON.stringify(order)) > 64 * 1024)
  t.deepEqual(checkOrder(order, 'canonical', { maxOrderAmount: 10000 }), [])
  // Act
  const err = t.throws(() => parseOrder(order, ctx()), { instanceOf: ValidationError })
  // Assess
  t.deepEqual(pathsAndRules(err?.fields ?? []), [{ path: '', rule: 'maxBytes' }])
  t.regex(err?.message ?? '', /the order is \d+ bytes; at most 65536 are accepted/)
})

test('the byte count the caller measured is the one checked, up to exactly 64 KiB', (t) => {
  // Act
  const accepted = parseOrder(seed('tp-valid.json'), ctx({ bytes: 64 * 1024 }))
  const fields = refusal(t, seed('tp-valid.json'), { bytes: 64 * 1024 + 1 })
  // Assess
  t.is(accepted.order_id, 'ORD-2026-001')
  t.deepEqual(pathsAndRules(fields), [{ path: '', rule: 'maxBytes' }])
})

test('every failure of a body is reported at once, not the first only', (t) => {
  // Act
  const fields = refusal(
    t,
    canonical({
      order_id: '',
      currency: 'eur',
      created_at: 'yesterday',
      items: [{ sku: 'A', qty: 0, unit_price: 0.001 }],
    }),
  )
  // Assess
  t.deepEqual(
    pathsAndRules(fields).sort((a, b) => a.path.localeCompare(b.path) || a.rule.localeCompare(b.rule)),
    [
      { path: '/created_at', rule: 'format' },
      { path: '/currency', rule: 'enum' },
      { path: '/items/0/qty', rule: 'minimum' },
      { path: '/items/0/unit_price', rule: 'decimals' },
      { path: '/order_id', rule: 'minLength' },
      { path: '/order_id', rule: 'pattern' },
    ],
  )
})

// ---------------------------------------------------------------------------------------------------------------
// Money to the cent
// ---------------------------------------------------------------------------------------------------------------

test('items of 0.10 and 0.20 make an amount of 0.30: sums are in integer cents, not floats', (t) => {
  // Prepare
  t.not(0.1 + 0.2, 0.3)
  // Act
  const order = parseOrder(
    canonical({
      items: [
        { sku: 'A', qty: 1, unit_price: 0.1 },
        { sku: 'B', qty: 1, unit_price: 0.2 },
      ],
      amount: 0.3,
    }),
    ctx(),
  )
  // Assess
  t.is(order.amount, 0.3)
})

test('3 × 19.99 is exactly 59.97 in every dialect', (t) => {
  // Act
  const fromCanonical = parseOrder(canonicalLine({ qty: 3, unit_price: 19.99 }, 59.97), ctx())
  const fromRich = parseOrder(richLine({ quantity: 3, unit_price: 19.99 }, 59.97), ctx())
  const fromApi = parseOrder(apiLine({ quantity: 3, price: 19.99 }), ctx())
  // Assess
  t.is(fromCanonical.amount, 59.97)
  t.is(fromRich.amount, 59.97)
  t.is(fromApi.amount, 59.97)
})

test('an API order of 0.10 and 0.20 is given the amount 0.3, not 0.30000000000000004', (t) => {
  // Act
  const order = parseOrder(
    api({
      items: [
        { productId: 'a', quantity: 1, price: 0.1 },
        { productId: 'b', quantity: 1, price: 0.2 },
      ],
    }),
    ctx(),
  )
  // Assess
  t.is(order.amount, 0.3)
})

test('an amount off by a float artefact (0.30000000000000004) is refused for its decimals', (t) => {
  // Act
  const fields = refusal(
    t,
    canonical({
      items: [
        { sku: 'A', qty: 1, unit_price: 0.1 },
        { sku: 'B', qty: 1, unit_price: 0.2 },
      ],
      amount: 0.1 + 0.2,
    }),
  )
  // Assess
  t.deepEqual(pathsAndRules(fields), [{ path: '/amount', rule: 'decimals' }])
})

// ---------------------------------------------------------------------------------------------------------------
// Field names and messages
// ---------------------------------------------------------------------------------------------------------------

const names = test.macro({
  exec: (t, pointer: string, expected: string) => t.is(fieldName(pointer), expected),
  title: (_provided, pointer: string, expected: string) => `fieldName names ${pointer || "''"} as ${expected}`,
})
test(names, '', 'order')
test(names, '/amount', 'amount')
test(names, '/payment/amount', 'payment.amount')
test(names, '/items/0/qty', 'items[0].qty')
test(names, '/items/12', 'items[12]')
test(names, '/shippingAddress/postalCode', 'shippingAddress.postalCode')
test(names, '/a~1b', 'a/b')
test(names, '/a~0b', 'a~b')
test(names, '/a~01', 'a~1')

test('a nested missing field is named with dots and brackets in its message', (t) => {
  // Act
  const fields = refusal(t, rich({ items: [{ quantity: 1, unit_price: 2800 }] }))
  // Assess
  t.deepEqual(fields, [
    { path: '/items/0/product_id', rule: 'required', message: 'Missing required field: items[0].product_id' },
  ])
})

test('messages say what is expected, in words a client can act on', (t) => {
  // Act
  const fields = refusal(
    t,
    canonical({ currency: 'eur', created_at: '07/01/2026', items: [{ sku: 'A', qty: 1.5, unit_price: 149.99 }] }),
  )
  // Assess
  t.deepEqual(
    fields.map((f) => f.message),
    [
      'created_at must be an ISO 8601 date-time, like 2026-01-07T10:00:00Z',
      'currency must be an ISO 4217 currency code, like EUR',
      'items[0].qty must be an integer',
    ],
  )
})

// ---------------------------------------------------------------------------------------------------------------
// orderEventValidator (for @middy/validator)
// ---------------------------------------------------------------------------------------------------------------

test('orderEventValidator passes a good body of each dialect and clears errors', (t) => {
  // Prepare
  const validate = orderEventValidator({ maxOrderAmount: 10000 })
  t.throws(() => validate({ body: seed('tp-invalid.json') }), { instanceOf: ValidationError })
  t.not(validate.errors, null)
  for (const name of ['tp-valid.json', 'lab-rich-order.json', 'api-create-order.json']) {
    // Act
    const ok = validate({ body: seed(name) })
    // Assess
    t.true(ok, name)
    t.is(validate.errors, null, name)
  }
})

test('orderEventValidator throws the field errors of a bad body (and sets errors to them)', (t) => {
  // Prepare
  const validate = orderEventValidator({ maxOrderAmount: 10000 })
  // Act
  const err = t.throws(() => validate({ body: seed('api-missing-email.json') }), { instanceOf: ValidationError })
  // Assess
  const expected = [{ path: '/customerEmail', rule: 'required', message: 'Missing required field: customerEmail' }]
  t.deepEqual(err?.fields, expected)
  t.deepEqual(validate.errors, expected)
})

test('orderEventValidator under @middy/validator: concurrent requests each get their own fields', async (t) => {
  // Prepare: the API's use, two requests in flight at once on one validator (a bad body, then a good one).
  const middleware = validator({ eventSchema: orderEventValidator({ maxOrderAmount: 10000 }) })
  const before = middleware.before as (request: unknown) => Promise<void>
  const request = (body: unknown) => ({ event: { body }, context: {}, response: undefined, error: undefined })
  // Act
  const [bad, good] = await Promise.allSettled([
    before(request(seed('api-missing-email.json'))),
    before(request(seed('tp-valid.json'))),
  ])
  // Assess
  t.is(good.status, 'fulfilled')
  t.is(bad.status, 'rejected')
  t.deepEqual(
    ((bad as PromiseRejectedResult).reason as ValidationError).fields.map((f) => f.path),
    ['/customerEmail'],
    'the bad request keeps its own fields, though the good one was validated before it was answered',
  )
})

test('orderEventValidator applies the configured maximum', (t) => {
  // Prepare
  const validate = orderEventValidator({ maxOrderAmount: 100 })
  // Act
  const err = t.throws(() => validate({ body: seed('tp-valid.json') }), { instanceOf: ValidationError })
  // Assess
  t.deepEqual(pathsAndRules(err?.fields ?? []), [{ path: '/amount', rule: 'maximum' }])
})

const notAnObject = test.macro({
  exec(t, body: unknown) {
    // Prepare
    const validate = orderEventValidator({ maxOrderAmount: 10000 })
    // Act
    t.throws(() => validate({ body }), { instanceOf: ValidationError })
    // Assess
    t.is(validate.errors?.length, 1)
    t.like(validate.errors?.[0], { path: '', rule: 'type' })
    t.true((validate.errors?.[0]?.message.length ?? 0) > 0)
  },
  title: (provided = '') => `orderEventValidator refuses ${provided} with path ''`,
})
test('an array body', notAnObject, [seed('tp-valid.json')])
test('a string body', notAnObject, JSON.stringify(seed('tp-valid.json')))
test('a null body', notAnObject, null)
test('a missing body', notAnObject, undefined)
test('a number body', notAnObject, 42)

// ---------------------------------------------------------------------------------------------------------------
// checkCanonical: the worker's second look
// ---------------------------------------------------------------------------------------------------------------

const roundTrip = test.macro({
  exec(t, name: string) {
    // Prepare
    const queued = JSON.parse(JSON.stringify(parseOrder(seed(name), ctx()))) as Order
    // Act
    const order = checkCanonical(queued, { maxOrderAmount: 10000 })
    // Assess
    t.deepEqual(order, queued)
  },
  title: (_provided, name: string) => `checkCanonical accepts what parseOrder made of ${name}, after a JSON round trip`,
})
test(roundTrip, 'tp-valid.json')
test(roundTrip, 'lab-rich-order.json')
test(roundTrip, 'api-create-order.json')

test('checkCanonical accepts the intake block of every dialect (the canonical schema lists each of DIALECTS)', (t) => {
  for (const dialect of DIALECTS) {
    const queued = { ...seed('tp-valid.json'), intake: { received_at: RECEIVED_AT, dialect } }
    t.notThrows(() => checkCanonical(queued, { maxOrderAmount: 10000 }), `${dialect}`)
  }
})

const editedAfterTheFact = test.macro({
  exec(t, edit: (order: Json) => Json, expected: { path: string; rule: string }) {
    // Prepare
    const queued = JSON.parse(JSON.stringify(parseOrder(seed('lab-rich-order.json'), ctx()))) as Json
    // Act
    const err = t.throws(() => checkCanonical(edit(queued), { maxOrderAmount: 10000 }), { instanceOf: ValidationError })
    // Assess
    t.true(
      err?.fields.some((f) => f.path === expected.path && f.rule === expected.rule),
      JSON.stringify(err?.fields),
    )
  },
  title: (provided = '', _edit, expected: { path: string; rule: string }) =>
    `checkCanonical refuses a queued order ${provided} (${expected.path} ${expected.rule})`,
})
test('whose amount was changed', editedAfterTheFact, (o) => ({ ...o, amount: 2799 }), { path: '/amount', rule: 'sum' })
test(
  'whose quantity was changed',
  editedAfterTheFact,
  (o) => ({ ...o, items: (o.items as Json[]).map((i, n) => (n === 0 ? { ...i, qty: 2 } : i)) }),
  { path: '/amount', rule: 'sum' },
)
test(
  'raised over the maximum',
  editedAfterTheFact,
  (o) => ({ ...o, items: [{ sku: 'X', qty: 1, unit_price: 20000 }], amount: 20000 }),
  { path: '/amount', rule: 'maximum' },
)
test('given an unknown field', editedAfterTheFact, (o) => ({ ...o, promo: 'FREE' }), {
  path: '/promo',
  rule: 'additionalProperties',
})
test('put back in the rich dialect', editedAfterTheFact, () => seed('lab-rich-order.json'), {
  path: '/order_date',
  rule: 'additionalProperties',
})
test(
  'with an unknown intake dialect',
  editedAfterTheFact,
  (o) => ({ ...o, intake: { ...(o.intake as Json), dialect: 'fax' } }),
  { path: '/intake/dialect', rule: 'enum' },
)
test('without its id', editedAfterTheFact, ({ order_id: _id, ...o }) => o, { path: '/order_id', rule: 'required' })

test('checkCanonical refuses a queued order over the size bound, by the bytes it was given', (t) => {
  // Act
  const err = t.throws(() => checkCanonical(seed('tp-valid.json'), { maxOrderAmount: 10000 }, 64 * 1024 + 1), {
    instanceOf: ValidationError,
  })
  // Assess
  t.deepEqual(pathsAndRules(err?.fields ?? []), [{ path: '', rule: 'maxBytes' }])
})

test('a rich order without customer and without a valid payment.amount reports both at once', (t) => {
  const { customer: _c, ...order } = seed('lab-rich-order.json')
  const err = t.throws(
    () =>
      parseOrder(
        { ...order, payment: { method: 'Pix' } },
        {
          defaultCurrency: 'EUR',
          maxOrderAmount: 10000,
          receivedAt: '2026-01-07T10:15:00.000Z',
          assignOrderId: () => 'API-1',
        },
      ),
    { instanceOf: ValidationError },
  )
  t.deepEqual(
    err?.fields.map(({ path, rule }) => ({ path, rule })),
    [
      { path: '/payment/amount', rule: 'required' },
      { path: '/customer/email', rule: 'required' },
    ],
  )
})

test("an amount above the schemas' bound is refused with the configured maximum in the message", (t) => {
  const err = t.throws(
    () =>
      parseOrder(
        { ...seed('tp-valid.json'), items: [{ sku: 'A', qty: 1, unit_price: 20000000 }], amount: 20000000 },
        {
          defaultCurrency: 'EUR',
          maxOrderAmount: 10000,
          receivedAt: '2026-01-07T10:15:00.000Z',
          assignOrderId: () => 'API-1',
        },
      ),
    { instanceOf: ValidationError },
  )
  t.is(err?.fields.find((f) => f.path === '/amount' && f.rule === 'maximum')?.message, 'amount must be below 10000')
})

test('a date-time with a space instead of T is not ISO 8601: one format error', (t) => {
  const err = t.throws(
    () =>
      parseOrder(
        { ...seed('tp-valid.json'), created_at: '2026-01-07 10:00:00Z' },
        {
          defaultCurrency: 'EUR',
          maxOrderAmount: 10000,
          receivedAt: '2026-01-07T10:15:00.000Z',
          assignOrderId: () => 'API-1',
        },
      ),
    { instanceOf: ValidationError },
  )
  t.deepEqual(err?.fields, [
    {
      path: '/created_at',
      rule: 'format',
      message: 'created_at must be an ISO 8601 date-time, like 2026-01-07T10:00:00Z',
    },
  ])
})

test('parseOrder takes the structure the reader already found, instead of walking the order again', (t) => {
  const ctx = {
    defaultCurrency: 'EUR',
    maxOrderAmount: 10000,
    receivedAt: '2026-12-01T10:00:00.000Z',
    assignOrderId: () => 'X',
  }
  const order = seed('tp-valid.json')
  // A problem found by the reader (lines.ts walks each line once) is this order's ValidationError...
  const err = t.throws(() => parseOrder(order, { ...ctx, structure: { path: '/amount', rule: 'safeNumber' } }), {
    instanceOf: ValidationError,
  })
  t.deepEqual(
    err?.fields.map((f) => [f.path, f.rule]),
    [['/amount', 'safeNumber']],
  )
  // ...and without one (null) the order is read as it is; left undefined, parseOrder walks it itself.
  t.is(parseOrder(order, { ...ctx, structure: null }).order_id, String(order.order_id))
  const deep = { ...order, notes: JSON.parse(`${'['.repeat(40)}${']'.repeat(40)}`) as unknown }
  t.throws(() => parseOrder(deep, ctx), { instanceOf: ValidationError, message: /nested deeper than 32 levels/ })
})
