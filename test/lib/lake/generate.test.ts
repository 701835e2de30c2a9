/**
 * The data lake's order generator (lib/lake/generate.ts) and its catalogue: the same seed gives the same bytes, the
 * distributions are the documented ones over 20,000 orders, every valid line passes the pipeline's own parseOrder
 * (the default configuration), and every invalid line fails it for the reason its kind names.
 */
import test from 'ava'
import { readFileSync } from 'node:fs'
import {
  emptySummary,
  countLine,
  fileName,
  generateFile,
  generateLines,
  INVALID_KINDS,
  rawKey,
  resolveOptions,
  SHIPPING_METHODS,
  type GeneratedLine,
  type GenerateOptions,
  type InvalidKind,
} from '../../../lib/lake/generate.ts'
import { CATEGORIES, catalogue, productOf, skuOf, stockLevels, UNKNOWN_CATEGORY } from '../../../lib/lake/catalogue.ts'
import { ValidationError } from '../../../lib/orders/errors.ts'
import { customerIdFromEmail, detectDialect, DIALECTS, type Dialect, type Order } from '../../../lib/orders/order.ts'
import { toCents } from '../../../lib/orders/money.ts'
import { parseOrder } from '../../../lib/orders/validate.ts'
import { loadConfig } from '../../../lib/runtime/config.ts'
import { parseLevel } from '../../../scripts/stock.ts'

const DEFAULTS = loadConfig([], {})
const parse = (text: string, line: number): Order =>
  parseOrder(JSON.parse(text), {
    defaultCurrency: DEFAULTS.defaultCurrency,
    maxOrderAmount: DEFAULTS.maxOrderAmount,
    receivedAt: '2026-01-07T23:59:59Z',
    assignOrderId: () => `S3-line-${line}`,
  })

const textOf = (options: GenerateOptions): string => [...generateLines(options)].map((l) => l.text).join('\n')

// One large file shared by the distribution tests (generated once).
const N = 20_000
const BIG: GenerateOptions = { orders: N, seed: 20260107, date: '2026-01-07', invalidRate: 0.05, duplicateRate: 0.03 }
const big: GeneratedLine[] = [...generateLines(BIG)]
const valid = big.filter((l) => l.kind === 'valid')
const parsed = valid.map((l) => ({ line: l, order: parse(l.text, l.line) }))

// ---------------------------------------------------------------------------------------------------------------
// Determinism

test('the same seed and options give the same bytes; another seed or another date other bytes', (t) => {
  const options: GenerateOptions = { orders: 2000, seed: 42, date: '2026-01-07', invalidRate: 0.1, duplicateRate: 0.05 }
  const first = textOf(options)
  t.is(textOf(options), first)
  t.is(generateFile(options).body, `${first}\n`)
  t.not(textOf({ ...options, seed: 43 }), first)
  t.not(textOf({ ...options, date: '2026-01-08' }), first)
  // The kinds follow the seed as well as the text.
  const kinds = (o: GenerateOptions) => [...generateLines(o)].map((l) => l.kind).join(',')
  t.is(kinds(options), kinds({ ...options }))
})

test('lines come one at a time: the first lines of a ten-million-line file arrive at once', (t) => {
  const started = process.hrtime.bigint()
  const lines = generateLines({ orders: 10_000_000, seed: 1, date: '2026-01-07' })
  const first = [lines.next(), lines.next(), lines.next()]
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  t.true(
    first.every((r) => r.done === false),
    `three lines`,
  )
  t.true(ms < 1000, `${ms} ms for three lines`)
  t.is(first[2]!.value!.line, 3)
})

// ---------------------------------------------------------------------------------------------------------------
// Every valid order passes the pipeline's validation; every invalid one fails it as its kind says

test(`every valid line of ${N} passes parseOrder with the default configuration, in the dialect it says`, (t) => {
  t.true(valid.length > N * 0.85, `${valid.length} valid lines`)
  for (const { line, order } of parsed) {
    t.is(detectDialect(JSON.parse(line.text)), line.dialect, `line ${line.line}`)
    if (line.dialect === 'api') t.is(line.orderId, undefined, `line ${line.line}: the validator assigns it`)
    else t.is(order.order_id, line.orderId!, `line ${line.line}`)
  }
})

test('the amount is exactly the sum of the lines in cents, below the maximum, and shipping is not part of it', (t) => {
  for (const { line, order } of parsed) {
    const sum = order.items.reduce((total, i) => total + i.qty * toCents(i.unit_price)!, 0)
    t.is(toCents(order.amount), sum, `line ${line.line}`)
    t.true(order.amount > 0 && order.amount < DEFAULTS.maxOrderAmount, `line ${line.line}: ${order.amount}`)
    t.true(order.items.length >= 1 && order.items.length <= 5, `line ${line.line}`)
    t.is(new Set(order.items.map((i) => i.sku)).size, order.items.length, `line ${line.line}: distinct SKUs`)
    for (const item of order.items) {
      const product = productOf(item.sku)
      t.is(item.unit_price, product!.price_cents / 100, `line ${line.line} ${item.sku}: the catalogue's price`)
      t.is(item.description, product!.name)
    }
  }
})

test('a lower maximum order amount keeps every generated order below it', (t) => {
  for (const l of generateLines({ orders: 2000, seed: 9, date: '2026-01-07', maxOrderAmount: 100 })) {
    t.true(parse(l.text, l.line).amount < 100, `line ${l.line}`)
  }
})

/** The field error each invalid kind must cause, per dialect (a JSON Pointer in the dialect's own fields). */
const EXPECTED: Record<Exclude<InvalidKind, 'malformed_json'>, Partial<Record<Dialect, [string, string]>>> = {
  negative_amount: {
    canonical: ['/amount', 'exclusiveMinimum'],
    rich: ['/payment/amount', 'exclusiveMinimum'],
    api: ['/items/0/price', 'exclusiveMinimum'],
  },
  no_items: { canonical: ['/items', 'minItems'], rich: ['/items', 'minItems'], api: ['/items', 'minItems'] },
  sum_mismatch: { canonical: ['/amount', 'sum'], rich: ['/payment/amount', 'sum'] },
}

test('every invalid line fails parseOrder (or JSON.parse) for the reason its kind names', (t) => {
  const invalid = big.filter((l) => (INVALID_KINDS as readonly string[]).includes(l.kind))
  t.true(invalid.length > 0)
  const seen = new Set<string>()
  for (const l of invalid) {
    seen.add(`${l.kind} ${l.dialect}`)
    if (l.kind === 'malformed_json') {
      t.throws(() => JSON.parse(l.text), { instanceOf: SyntaxError }, `line ${l.line}`)
      t.notRegex(l.text, /\n/, `line ${l.line} stays one line`)
      continue
    }
    const [path, rule] = EXPECTED[l.kind as keyof typeof EXPECTED][l.dialect]!
    const err = t.throws(() => parse(l.text, l.line), { instanceOf: ValidationError }, `line ${l.line}`)
    t.true(
      err?.fields.some((f) => f.path === path && f.rule === rule),
      `line ${l.line} (${l.kind}, ${l.dialect}): ${JSON.stringify(err?.fields)}`,
    )
  }
  // Every kind in every dialect that can have it.
  for (const kind of INVALID_KINDS)
    for (const dialect of DIALECTS)
      if (kind !== 'sum_mismatch' || dialect !== 'api') t.true(seen.has(`${kind} ${dialect}`), `${kind} ${dialect}`)
  t.false(seen.has('sum_mismatch api'), `an API order has no amount to get wrong`)
})

test('a duplicate repeats an earlier valid canonical or rich line byte for byte, never an API line', (t) => {
  const byLine = new Map(big.map((l) => [l.line, l]))
  const duplicates = big.filter((l) => l.kind === 'duplicate')
  t.true(duplicates.length > 0)
  for (const d of duplicates) {
    const original = byLine.get(d.of!)
    t.true(original !== undefined && original.line < d.line, `line ${d.line} repeats line ${d.of}`)
    t.is(d.text, original!.text, `line ${d.line}`)
    t.is(original!.kind, 'valid')
    t.not(d.dialect, 'api')
    t.is(d.orderId, original!.orderId)
  }
})

// ---------------------------------------------------------------------------------------------------------------
// Distributions (over the 20,000-line file)

const within = (value: number, expected: number, tolerance: number) => Math.abs(value - expected) <= tolerance

test('invalid and duplicate lines come at their rates (±2 points), each invalid kind in its share', (t) => {
  const summary = emptySummary()
  for (const l of big) countLine(summary, l)
  t.is(summary.orders, N)
  t.is(summary.valid + summary.invalid + summary.duplicates, N)
  t.true(within(summary.invalid / N, 0.05, 0.02), `invalid ${summary.invalid / N}`)
  t.true(within(summary.duplicates / N, 0.03, 0.02), `duplicates ${summary.duplicates / N}`)
  for (const kind of INVALID_KINDS) {
    const share = summary.invalidByKind[kind] / summary.invalid
    // Four kinds for canonical and rich, three for the API dialect: each has 15 to 35 % of the invalid lines.
    t.true(share > 0.15 && share < 0.35, `${kind}: ${share}`)
  }
  t.is(summary.bytes, Buffer.byteLength(big.map((l) => `${l.text}\n`).join('')))
})

test('a minority of customers places most of the orders: repeat buyers, no single customer dominating', (t) => {
  const perCustomer = new Map<string, number>()
  for (const { order } of parsed) perCustomer.set(order.customer_id, (perCustomer.get(order.customer_id) ?? 0) + 1)
  const counts = [...perCustomer.values()].sort((a, b) => b - a)
  const orders = parsed.length
  const topFifth = counts.slice(0, Math.ceil(counts.length / 5)).reduce((a, b) => a + b, 0) / orders
  const fromRepeatBuyers = counts.filter((c) => c > 1).reduce((a, b) => a + b, 0) / orders
  t.true(topFifth > 0.5, `the top fifth of the customers place ${topFifth} of the orders`)
  t.true(fromRepeatBuyers > 0.85, `${fromRepeatBuyers} of the orders come from customers who order again`)
  t.true(counts[0]! / orders < 0.01, `the busiest customer places ${counts[0]} of ${orders} orders`)
  t.true(counts.length > orders / 10, `${counts.length} customers`)
})

test('a customer is the same person in every dialect: one e-mail, the id the pipeline derives from it', (t) => {
  const emails = new Map<string, Set<Dialect>>()
  for (const { line, order } of parsed) {
    const email = order.customer!.email!
    t.regex(email, /^[a-z]+\.[a-z]+\.\d+@example\.(com|org)$/, `line ${line.line}`)
    t.is(order.customer_id, customerIdFromEmail(email), `line ${line.line}`)
    emails.set(email, (emails.get(email) ?? new Set()).add(line.dialect))
  }
  t.true(
    [...emails.values()].some((d) => d.size === 3),
    `some customer ordered in all three dialects`,
  )
  // Nothing that looks like a real identity document.
  t.notRegex(big.map((l) => l.text).join('\n'), /cpf|cnpj|\d{3}\.\d{3}\.\d{3}-\d{2}/i)
})

test('SKU popularity has a long tail: the top 10 % of the SKUs take most of the units, every SKU sells', (t) => {
  const units = new Map<string, number>()
  for (const { order } of parsed) for (const i of order.items) units.set(i.sku, (units.get(i.sku) ?? 0) + i.qty)
  const sorted = [...units.values()].sort((a, b) => b - a)
  const total = sorted.reduce((a, b) => a + b, 0)
  const top = sorted.slice(0, catalogue.length / 10).reduce((a, b) => a + b, 0) / total
  const bottomHalf = sorted.slice(catalogue.length / 2).reduce((a, b) => a + b, 0) / total
  t.true(top > 0.55, `the top 10 % of the SKUs take ${top} of the units`)
  t.true(bottomHalf < 0.15, `the bottom half takes ${bottomHalf}`)
  t.is(units.size, catalogue.length, `the long tail sells too`)
  t.is([...units.keys()].filter((sku) => skuOf(sku) === UNKNOWN_CATEGORY).length, 0, `every SKU is in the catalogue`)
})

test('lines, shipping and dates: 1 to 5 lines mostly 1, the four methods at their costs and delivery times', (t) => {
  const lines = [0, 0, 0, 0, 0]
  const methods = new Map<string, number>()
  for (const { line, order } of parsed) {
    lines[order.items.length - 1]!++
    const shipping = order.shipping
    if (line.dialect === 'api') {
      t.is(shipping?.method, undefined, `line ${line.line}: the API dialect has no shipping method`)
      continue
    }
    const method = shipping!.method!
    methods.set(method, (methods.get(method) ?? 0) + 1)
    const days =
      (Date.parse(shipping!.expected_delivery_date!) - Date.parse(order.created_at.slice(0, 10))) / 86_400_000
    const expected = { standard: [3, 5], express: [1, 2], next_day: [1, 1], pickup: [2, 4] }[method]
    t.true(
      expected !== undefined && days >= expected[0]! && days <= expected[1]!,
      `line ${line.line}: ${method} ${days}`,
    )
    const free = method === 'pickup' || (method === 'standard' && order.amount >= 50)
    const cost = { standard: 4.99, express: 9.99, next_day: 14.99, pickup: 0 }[method]
    t.is(shipping!.cost, free ? 0 : cost, `line ${line.line}: ${method}`)
  }
  t.true(lines[0]! > lines[1]! && lines[1]! > lines[2]! && lines[2]! > lines[4]!, `${lines.join(' ')}`)
  t.true(
    lines.every((n) => n > 0),
    `${lines.join(' ')}`,
  )
  t.deepEqual([...methods.keys()].sort(), [...SHIPPING_METHODS].sort())
  t.true((methods.get('standard') ?? 0) > (methods.get('express') ?? 0), `${[...methods].join(' ')}`)
})

test('created_at spreads over the given day (UTC), in file order, busier by day than by night', (t) => {
  const times = big
    .filter((l) => l.kind === 'valid' && l.dialect !== 'api')
    .map((l) => {
      const o = JSON.parse(l.text) as { created_at?: string; order_date?: string }
      return o.created_at ?? o.order_date!
    })
  for (const time of times) t.regex(time, /^2026-01-07T\d{2}:\d{2}:\d{2}Z$/)
  t.true(
    times.every((time, i) => i === 0 || time >= times[i - 1]!),
    `in file order`,
  )
  const hour = (time: string) => Number(time.slice(11, 13))
  const night = times.filter((time) => hour(time) < 6).length
  const evening = times.filter((time) => hour(time) >= 18 && hour(time) < 24).length
  t.true(evening > night * 3, `evening ${evening}, night ${night}`)
  t.true(night > 0, `some orders at night`)
})

test('each order takes one of the dialects asked for, in about equal shares', (t) => {
  const shares = DIALECTS.map((d) => valid.filter((l) => l.dialect === d).length / valid.length)
  for (const share of shares) t.true(within(share, 1 / 3, 0.03), `${shares.join(' ')}`)
  const onlyRich = [...generateLines({ orders: 500, seed: 3, date: '2026-01-07', dialects: ['rich'] })]
  t.true(onlyRich.every((l) => l.dialect === 'rich'))
  t.true(onlyRich.every((l) => detectDialect(JSON.parse(l.text)) === 'rich'))
})

// ---------------------------------------------------------------------------------------------------------------
// Options and names

test('the file of a seed and a date goes to raw/year=YYYY/month=MM/day=DD/orders-<seed>-<date>.jsonl', (t) => {
  t.is(rawKey('2026-01-07', fileName(42, '2026-01-07')), 'raw/year=2026/month=01/day=07/orders-42-2026-01-07.jsonl')
  t.is(rawKey('2026-12-31', 'x', 'lake/'), 'lake/year=2026/month=12/day=31/x.jsonl')
  t.throws(() => rawKey('2026-1-7', 'x'), { message: /YYYY-MM-DD/ })
  t.throws(() => rawKey('2026-01-07', '../x'), { message: /not a file name/ })
})

test('bad options are refused before the first line, naming the option', (t) => {
  const base: GenerateOptions = { orders: 10, seed: 1, date: '2026-01-07' }
  const cases: [Partial<GenerateOptions>, RegExp][] = [
    [{ orders: 0 }, /^orders must be a positive integer/],
    [{ orders: 1.5 }, /^orders must be a positive integer/],
    [{ seed: -1 }, /^seed must be an integer from 0 to 4294967295/],
    [{ seed: 2 ** 32 }, /^seed must be/],
    [{ date: '2026-02-30' }, /^date must be a calendar date YYYY-MM-DD, got "2026-02-30"/],
    [{ date: '07/01/2026' }, /^date must be/],
    [{ invalidRate: 1.5 }, /^invalidRate must be a number from 0 to 1/],
    [{ duplicateRate: -0.1 }, /^duplicateRate must be a number from 0 to 1/],
    [{ invalidRate: 0.6, duplicateRate: 0.6 }, /^invalidRate \+ duplicateRate must be at most 1/],
    [{ dialects: [] }, /^dialects must be some of canonical, rich, api/],
    [{ dialects: ['xml' as Dialect] }, /^dialects must be some of/],
    [{ dialects: ['api'], duplicateRate: 0.1 }, /^duplicateRate needs the canonical or rich dialect/],
    [{ maxOrderAmount: 1 }, /^maxOrderAmount must be above the cheapest product's price/],
  ]
  for (const [override, message] of cases) {
    t.throws(() => generateLines({ ...base, ...override }), { instanceOf: RangeError, message }, `${message}`)
  }
  t.like(resolveOptions(base), {
    invalidRate: 0,
    duplicateRate: 0,
    currency: 'EUR',
    maxOrderAmount: 10000,
    customers: 100,
  })
  t.deepEqual(resolveOptions(base).dialects, ['canonical', 'rich', 'api'])
})

// ---------------------------------------------------------------------------------------------------------------
// The catalogue

test('the catalogue: about 200 SKUs in 10 categories, ids the schemas accept, a long tail of popularity', (t) => {
  t.is(catalogue.length, 200)
  t.deepEqual([...new Set(catalogue.map((p) => p.category))].sort(), [...CATEGORIES].sort())
  const definitions = JSON.parse(
    readFileSync(new URL('../../../schemas/definitions.schema.json', import.meta.url), 'utf8'),
  )
  const idPattern = new RegExp(definitions.definitions.id.pattern as string)
  for (const p of catalogue) {
    t.regex(p.sku, idPattern, `${p.sku}`)
    t.true(p.sku.length <= 64)
    t.true(p.price_cents > 0 && Number.isInteger(p.price_cents), `${p.sku}`)
  }
  t.is(new Set(catalogue.map((p) => p.sku)).size, catalogue.length, `unique SKUs`)
  const weights = catalogue.map((p) => p.weight).sort((a, b) => b - a)
  const total = weights.reduce((a, b) => a + b, 0)
  t.true(weights.slice(0, 20).reduce((a, b) => a + b, 0) / total > 0.6, `the top 10 % hold most of the weight`)
  t.true(weights[0]! / weights[weights.length - 1]! > 100, `from the most to the least popular: over 100 times`)
})

test('skuOf gives the category, unknown for a SKU the catalogue does not have', (t) => {
  const product = catalogue[0]!
  t.is(skuOf(product.sku), product.category)
  t.is(skuOf('SKU-1'), 'unknown')
  t.is(skuOf(''), UNKNOWN_CATEGORY)
  t.is(productOf('SKU-NOPE'), undefined)
})

test('stockLevels gives every SKU its initial stock, in the form npm run stock -- set takes', (t) => {
  const levels = stockLevels()
  t.is(levels.length, catalogue.length)
  for (const [sku, available] of levels) {
    t.deepEqual(parseLevel(`${sku}=${available}`), [sku, available])
    t.is(available, productOf(sku)!.stock)
  }
  // Stock follows popularity.
  const popular = [...catalogue].sort((a, b) => b.weight - a.weight)
  t.true(popular[0]!.stock > popular[popular.length - 1]!.stock)
  t.is(stockLevels(2)[0]![1], catalogue[0]!.stock * 2)
  t.throws(() => stockLevels(-1), { instanceOf: RangeError })
})

test('the same seed and date with other options give other order ids, never the same ids with other content', (t) => {
  const ids = (o: GenerateOptions) => [...generateLines(o)].flatMap((l) => (l.orderId ? [l.orderId] : []))
  const base: GenerateOptions = { orders: 300, seed: 7, date: '2026-01-07' }
  const first = ids(base)
  t.regex(first[0]!, /^GEN-20260107-7-[0-9a-f]{8}-\d{7}$/)
  t.deepEqual(ids({ ...base }), first)
  for (const other of [{ orders: 301 }, { invalidRate: 0.1 }, { dialects: ['canonical', 'rich'] as Dialect[] }]) {
    const again = new Set(ids({ ...base, ...other }))
    t.false(
      first.some((id) => again.has(id)),
      `${JSON.stringify(other)}: no id in common`,
    )
  }
})
