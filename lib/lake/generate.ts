/**
 * The data lake's order generator (pure: no I/O, no clock, no Math.random): realistic orders as JSONL lines, in the
 * three intake dialects, for `raw/year=YYYY/month=MM/day=DD/` of the intake bucket. The same options (seed
 * included) give the same bytes; the lines come one at a time, so that a million orders never sit in memory.
 *
 * What is realistic about them (README "Data lake"):
 * - customers: a pool of made-up people (names from invented syllables, e-mails at example.com / example.org,
 *   no CPF); customer #i is the same person in every file and dialect (its id is derived from its e-mail, as the
 *   pipeline derives it). The regulars, a fifth of the pool, place 60 % of the orders, the others the rest: with the
 *   default pool (a quarter of the orders), a regular places about 12 orders a file, another customer about 2;
 * - products: the catalogue's SKUs (catalogue.ts) drawn by their popularity weights (Zipf, a long tail), 1 to 5
 *   distinct SKUs an order, 1 unit mostly (expensive items alone), at the catalogue's prices;
 * - money in integer cents: the amount is exactly Σ qty × unit price (shipping is not part of it, as the schemas
 *   have it) and stays below the maximum order amount;
 * - shipping: standard (4.99, free from 50.00, 3 to 5 days), express (9.99, 1 to 2 days), next_day (14.99, 1 day)
 *   or pickup (free, 2 to 4 days), with the expected delivery date;
 * - created_at over the given day (UTC), more in the day and the evening than at night, in file order;
 * - order ids `GEN-<yyyymmdd>-<seed>-<runTag>-<line>` (canonical and rich; the validator gives an API line its own).
 *
 * What is wrong on purpose (`invalidRate`): a negative amount (for the API dialect, which has no amount, a negative
 * price), no items, an amount that is not the items' sum (canonical and rich), or a line cut short (not JSON).
 * Each line says its kind. `duplicateRate`: an earlier canonical or rich line repeated byte for byte (the worker
 * answers DUPLICATE); an API line is never repeated, because the validator gives a file's API order the id of its
 * line, so its copy would be a new order.
 */
import { createHash } from 'node:crypto'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import { uniformInt } from 'pure-rand/distribution/uniformInt'
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator'
import { customerIdFromEmail, DIALECTS, type Dialect } from '../orders/order.ts'
import { catalogue, type Product } from './catalogue.ts'
import { RAW_PREFIX } from './raw.ts'

export const INVALID_KINDS = ['negative_amount', 'no_items', 'sum_mismatch', 'malformed_json'] as const
export type InvalidKind = (typeof INVALID_KINDS)[number]
export type LineKind = 'valid' | 'duplicate' | InvalidKind

/** The invalid kinds a dialect can have: the API dialect has no amount, so no sum to get wrong. */
const KINDS_OF: Record<Dialect, readonly InvalidKind[]> = {
  canonical: INVALID_KINDS,
  rich: INVALID_KINDS,
  api: INVALID_KINDS.filter((k) => k !== 'sum_mismatch'),
}

export const SHIPPING_METHODS = ['standard', 'express', 'next_day', 'pickup'] as const
export type ShippingMethod = (typeof SHIPPING_METHODS)[number]

/** Each method's share of the orders, its cost in cents and its delivery time in days (from, to). */
const SHIPPING: Record<ShippingMethod, { share: number; costCents: number; days: [number, number] }> = {
  standard: { share: 0.55, costCents: 499, days: [3, 5] },
  express: { share: 0.25, costCents: 999, days: [1, 2] },
  next_day: { share: 0.1, costCents: 1499, days: [1, 1] },
  pickup: { share: 0.1, costCents: 0, days: [2, 4] },
}
/** Standard shipping is free from this subtotal (cents). */
const FREE_SHIPPING_CENTS = 5000

/** Lines an order has: 1 to 5, fewer more often. */
const LINE_SHARES = [0.45, 0.27, 0.15, 0.08, 0.05]
/** Units of a line (1, 2, 3, 4, 5, 6) for an item below EXPENSIVE_CENTS; an expensive one is bought alone. */
const QTY_SHARES = [0.7, 0.18, 0.07, 0.03, 0.01, 0.01]
const EXPENSIVE_CENTS = 10_000
/** Orders per hour of the day (UTC), relative: quiet at night, busy at lunch and in the evening. */
const HOURLY = [2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 10, 11, 11, 10, 9, 9, 10, 11, 12, 12, 10, 7, 4]
/** The regulars: the first fifth of the customer pool, who place 60 % of the orders (the rest: the other 40 %). */
const REGULARS = { ofPool: 0.2, ofOrders: 0.6 }
/** Earlier lines a duplicate may repeat (the most recent ones): memory stays bounded. */
const DUPLICATE_WINDOW = 1024
const PAYMENT_METHODS = [
  ['card', 0.6],
  ['paypal', 0.2],
  ['bank_transfer', 0.1],
  ['gift_card', 0.1],
] as const
const NOTES = ['Leave at the front door', 'Call on arrival', 'Gift wrap, please', 'Deliver after 17:00']

export interface GenerateOptions {
  /** Lines to write (every kind included), 1 or more. */
  orders: number
  /** An integer from 0 to 2^32 - 1. */
  seed: number
  /** The day the orders are placed, YYYY-MM-DD (UTC). */
  date: string
  /** Share of the lines made invalid on purpose, 0 to 1 (default 0). */
  invalidRate?: number
  /** Share of the lines that repeat an earlier canonical or rich line, 0 to 1 (default 0). */
  duplicateRate?: number
  /** The dialects to write, each order one of them at random (default all three). */
  dialects?: readonly Dialect[]
  /** The currency a canonical order names (default EUR); the others name none (the pipeline's default). */
  currency?: string
  /** Orders stay strictly below this amount (default 10000, the pipeline's MAX_ORDER_AMOUNT). */
  maxOrderAmount?: number
  /** Customers in the pool (default a quarter of the orders, from 100 to 1,000,000). */
  customers?: number
}

export type ResolvedOptions = Required<GenerateOptions>

export interface GeneratedLine {
  /** The 1-based line number in the file. */
  line: number
  /** The line's text, without its newline. */
  text: string
  kind: LineKind
  dialect: Dialect
  /** The order id the line carries (an API order has none: the validator assigns it). */
  orderId?: string
  /** For a duplicate: the line it repeats. */
  of?: number
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/

/** The UTC midnight of a YYYY-MM-DD date (ms), or undefined when it is not a calendar date. */
const dayStart = (date: string): number | undefined => {
  const m = DATE.exec(date)
  if (!m) return undefined
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))
  return new Date(ms).toISOString().slice(0, 10) === date ? ms : undefined
}

const isRate = (value: unknown): value is number => typeof value === 'number' && value >= 0 && value <= 1

/**
 * The options with their defaults, checked.
 * @throws RangeError naming the option (orders, seed, date, invalidRate, duplicateRate, dialects, customers,
 * maxOrderAmount)
 */
export const resolveOptions = (options: GenerateOptions): ResolvedOptions => {
  const { orders, seed, date } = options
  if (!Number.isSafeInteger(orders) || orders < 1)
    throw new RangeError(`orders must be a positive integer, got ${orders}`)
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffff_ffff)
    throw new RangeError(`seed must be an integer from 0 to 4294967295, got ${seed}`)
  if (dayStart(date) === undefined) throw new RangeError(`date must be a calendar date YYYY-MM-DD, got "${date}"`)
  const invalidRate = options.invalidRate ?? 0
  const duplicateRate = options.duplicateRate ?? 0
  if (!isRate(invalidRate)) throw new RangeError(`invalidRate must be a number from 0 to 1, got ${invalidRate}`)
  if (!isRate(duplicateRate)) throw new RangeError(`duplicateRate must be a number from 0 to 1, got ${duplicateRate}`)
  if (invalidRate + duplicateRate > 1)
    throw new RangeError(`invalidRate + duplicateRate must be at most 1, got ${invalidRate + duplicateRate}`)
  const dialects = [...new Set(options.dialects ?? DIALECTS)]
  const unknown = dialects.filter((d) => !(DIALECTS as readonly string[]).includes(d))
  if (dialects.length === 0 || unknown.length > 0)
    throw new RangeError(`dialects must be some of ${DIALECTS.join(', ')}, got "${dialects.join(',')}"`)
  if (duplicateRate > 0 && !dialects.some((d) => d !== 'api'))
    throw new RangeError(
      'duplicateRate needs the canonical or rich dialect: an API line gets the id of its line, so its copy is a new order',
    )
  const maxOrderAmount = options.maxOrderAmount ?? 10_000
  if (!(maxOrderAmount > 0) || !catalogue.some((p) => p.price_cents < Math.round(maxOrderAmount * 100)))
    throw new RangeError(`maxOrderAmount must be above the cheapest product's price, got ${maxOrderAmount}`)
  const customers = options.customers ?? Math.min(1_000_000, Math.max(100, Math.ceil(orders / 4)))
  if (!Number.isSafeInteger(customers) || customers < 1)
    throw new RangeError(`customers must be a positive integer, got ${customers}`)
  return {
    orders,
    seed,
    date,
    invalidRate,
    duplicateRate,
    dialects,
    currency: options.currency ?? 'EUR',
    maxOrderAmount,
    customers,
  }
}

/** The key of a generated file: `raw/year=YYYY/month=MM/day=DD/<name>.jsonl` (Hive-style partitions). */
export const rawKey = (date: string, name: string, prefix = RAW_PREFIX): string => {
  if (dayStart(date) === undefined) throw new RangeError(`rawKey: date must be YYYY-MM-DD, got "${date}"`)
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new RangeError(`rawKey: not a file name: "${name}"`)
  const [year, month, day] = date.split('-')
  return `${prefix}year=${year}/month=${month}/day=${day}/${name}.jsonl`
}

/**
 * 8 hex digits of the SHA-256 of all the options: part of every order id, so that the same seed and date with other
 * options (more orders, other rates) give other ids rather than the same ids with other content (a CONFLICT).
 */
export const runTag = (o: ResolvedOptions): string =>
  createHash('sha256')
    .update(
      JSON.stringify([
        o.orders,
        o.seed,
        o.date,
        o.invalidRate,
        o.duplicateRate,
        o.dialects,
        o.currency,
        o.maxOrderAmount,
        o.customers,
      ]),
    )
    .digest('hex')
    .slice(0, 8)

/** The name of the file of a seed and a date: `orders-<seed>-<date>`. */
export const fileName = (seed: number, date: string): string => `orders-${seed}-${date}`

// ---------------------------------------------------------------------------------------------------------------
// Randomness: pure-rand's xoroshiro128+, seeded from the options; every draw goes through these.

/** A 32-bit integer hash (murmur3's finaliser), to derive independent seeds. */
const mix = (x: number): number => {
  let h = x | 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) | 0
}

/** A uniform number in [0, 1). */
const unit = (rng: RandomGenerator): number => (rng.next() >>> 0) / 4294967296

const pickShare = <T>(rng: RandomGenerator, entries: readonly (readonly [T, number])[]): T => {
  let u = unit(rng)
  for (const [value, share] of entries) {
    if (u < share) return value
    u -= share
  }
  return entries[entries.length - 1]![0]
}

const pick = <T>(rng: RandomGenerator, values: readonly T[]): T => values[uniformInt(rng, 0, values.length - 1)]!

// ---------------------------------------------------------------------------------------------------------------
// Customers: made up, each derived from its number alone.

const SYLLABLES = ['ka', 'lo', 'mi', 'ra', 've', 'to', 'ni', 'sa', 'du', 'ze', 'bo', 'li', 'an', 'el', 'or', 'is']
const LAST_ENDINGS = ['ridge', 'vane', 'holm', 'dell', 'worth', 'mont', 'sky', 'brook']
const STREETS = ['Maple', 'Quartz', 'Lantern', 'Juniper', 'Orchard', 'Falcon', 'Cobalt', 'Willow', 'Harbor', 'Meadow']
const STREET_TYPES = ['Street', 'Avenue', 'Lane', 'Road', 'Way']
/** Invented towns, each with a country code. */
const TOWNS = [
  ['Brindlewick', 'FR'],
  ['Oskarvale', 'DE'],
  ['Marnholt', 'NL'],
  ['Velmora', 'ES'],
  ['Castelbrio', 'IT'],
  ['Lindqvara', 'SE'],
  ['Portomarin Alto', 'PT'],
  ['Quenby', 'BE'],
  ['Thornaby Cross', 'IE'],
  ['Zellhaven', 'AT'],
] as const

interface Customer {
  id: string
  firstName: string
  lastName: string
  email: string
  phone: string
  address: { street: string; number: string; city: string; zip_code: string; country: string }
}

const capital = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1)

const makeCustomer = (n: number): Customer => {
  const rng = xoroshiro128plus(mix(n ^ 0x5eed_c0de))
  const firstName = capital(pick(rng, SYLLABLES) + pick(rng, SYLLABLES))
  const lastName = capital(pick(rng, SYLLABLES) + pick(rng, SYLLABLES) + pick(rng, LAST_ENDINGS))
  const domain = unit(rng) < 0.5 ? 'example.com' : 'example.org'
  const email = `${firstName}.${lastName}.${n}@${domain}`.toLowerCase()
  const [city, country] = pick(rng, TOWNS)
  return {
    id: customerIdFromEmail(email),
    firstName,
    lastName,
    email,
    // 555-0100 to 555-0199: the numbers reserved for fiction.
    phone: `+1-555-01${String(uniformInt(rng, 0, 99)).padStart(2, '0')}`,
    address: {
      street: `${pick(rng, STREETS)} ${pick(rng, STREET_TYPES)}`,
      number: String(uniformInt(rng, 1, 240)),
      city,
      zip_code: String(uniformInt(rng, 10000, 99999)),
      country,
    },
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The generator

interface Line {
  product: Product
  qty: number
}

/** YYYY-MM-DD of a UTC time (ms). */
const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10)
/** 2026-01-07T10:05:23Z: seconds, no fraction. */
const timeOf = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`
const money = (cents: number): number => cents / 100

/**
 * The lines of one generated file, one at a time.
 * @throws RangeError for bad options (see {@link resolveOptions}), before the first line
 * @example for (const { text } of generateLines({ orders: 1000, seed: 7, date: '2026-01-07' })) out.write(`${text}\n`)
 */
export function generateLines(options: GenerateOptions): Generator<GeneratedLine, void, undefined> {
  const o = resolveOptions(options)
  return lines(o)
}

function* lines(o: ResolvedOptions): Generator<GeneratedLine, void, undefined> {
  const start = dayStart(o.date)!
  const rng = xoroshiro128plus(mix(o.seed ^ mix(start / 86_400_000)))
  const maxCents = Math.round(o.maxOrderAmount * 100)
  const products = catalogue.filter((p) => p.price_cents < maxCents)
  const cumulative: number[] = []
  let total = 0
  for (const p of products) cumulative.push((total += p.weight))
  const hourly: number[] = []
  let hours = 0
  for (const w of HOURLY) hourly.push((hours += w))
  const compactDate = o.date.replaceAll('-', '')
  const tag = runTag(o)

  const customers = new Map<number, Customer>()
  const customerOf = (n: number): Customer => {
    let c = customers.get(n)
    if (!c) {
      if (customers.size >= 10_000) customers.clear()
      c = makeCustomer(n)
      customers.set(n, c)
    }
    return c
  }
  const regulars = Math.max(1, Math.round(o.customers * REGULARS.ofPool))
  const drawCustomer = (): number =>
    unit(rng) < REGULARS.ofOrders || regulars >= o.customers
      ? uniformInt(rng, 0, regulars - 1)
      : uniformInt(rng, regulars, o.customers - 1)
  const drawProduct = (): Product => {
    const x = unit(rng) * total
    let lo = 0
    let hi = cumulative.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cumulative[mid]! > x) hi = mid
      else lo = mid + 1
    }
    return products[lo]!
  }
  const drawLines = (): Line[] => {
    const count = pickShare(
      rng,
      LINE_SHARES.map((s, i) => [i + 1, s] as const),
    )
    const chosen = new Map<string, Line>()
    for (let tries = 0; chosen.size < count && tries < count * 4; tries++) {
      const product = drawProduct()
      if (chosen.has(product.sku)) continue
      const qty =
        product.price_cents >= EXPENSIVE_CENTS
          ? 1
          : pickShare(
              rng,
              QTY_SHARES.map((s, i) => [i + 1, s] as const),
            )
      chosen.set(product.sku, { product, qty })
    }
    const result = [...chosen.values()]
    // Below the maximum order amount: drop lines from the end, then buy one of what is left.
    while (result.length > 1 && sum(result) >= maxCents) result.pop()
    if (sum(result) >= maxCents) result[0]!.qty = 1
    return result
  }
  /** The time of the i-th order: stratified over the day's hourly profile, so that the file is in time order. */
  const createdAt = (i: number): number => {
    const q = ((i + unit(rng)) / o.orders) * hours
    let h = 0
    while (hourly[h]! <= q) h++
    const before = h === 0 ? 0 : hourly[h - 1]!
    const within = (q - before) / HOURLY[h]!
    return start + Math.floor(((h + within) * 3_600_000) / 1000) * 1000
  }

  const recent: { line: number; text: string; dialect: Dialect; orderId?: string }[] = []
  let kept = 0
  for (let i = 0; i < o.orders; i++) {
    const line = i + 1
    const roll = unit(rng)
    const at = createdAt(i)
    if (roll < o.duplicateRate && recent.length > 0) {
      const earlier = recent[uniformInt(rng, 0, recent.length - 1)]!
      yield {
        line,
        text: earlier.text,
        kind: 'duplicate',
        dialect: earlier.dialect,
        of: earlier.line,
        ...(earlier.orderId ? { orderId: earlier.orderId } : {}),
      }
      continue
    }
    const invalid = roll >= o.duplicateRate && roll < o.duplicateRate + o.invalidRate
    const dialect = pick(rng, o.dialects)
    const kind: LineKind = invalid ? pick(rng, KINDS_OF[dialect]) : 'valid'
    const orderId =
      dialect === 'api' ? undefined : `GEN-${compactDate}-${o.seed}-${tag}-${String(line).padStart(7, '0')}`
    const customer = customerOf(drawCustomer())
    const items = kind === 'no_items' ? [] : drawLines()
    const itemsCents = sum(items)
    const method = pickShare(
      rng,
      SHIPPING_METHODS.map((m) => [m, SHIPPING[m].share] as const),
    )
    const shipping = SHIPPING[method]
    const shippingCents = method === 'standard' && itemsCents >= FREE_SHIPPING_CENTS ? 0 : shipping.costCents
    const delivery = dayOf(at + uniformInt(rng, shipping.days[0], shipping.days[1]) * 86_400_000)
    const payment = pickShare(rng, PAYMENT_METHODS)
    const note = unit(rng) < 0.05 ? pick(rng, NOTES) : undefined
    let amountCents = itemsCents
    if (kind === 'negative_amount') amountCents = -Math.max(itemsCents, 100)
    if (kind === 'sum_mismatch') {
      const delta = uniformInt(rng, 1, 99)
      amountCents = itemsCents + delta < maxCents ? itemsCents + delta : itemsCents - delta
    }
    const facts: OrderFacts = {
      orderId,
      customer,
      createdAt: timeOf(at),
      currency: o.currency,
      amountCents,
      items,
      negativePrice: kind === 'negative_amount' && dialect === 'api',
      method,
      shippingCents,
      delivery,
      payment,
      transactionId: `TXN-${tag}-${line}`,
      note,
      company: dialect === 'rich' && unit(rng) < 0.1 ? `${customer.lastName} Trading (example)` : undefined,
    }
    let text = JSON.stringify(ORDER_OF[dialect](facts))
    if (kind === 'malformed_json') text = text.slice(0, uniformInt(rng, 1, text.length - 1))
    if (kind === 'valid' && dialect !== 'api') {
      // A ring of the most recent repeatable lines.
      recent[kept++ % DUPLICATE_WINDOW] = { line, text, dialect, ...(orderId ? { orderId } : {}) }
    }
    yield { line, text, kind, dialect, ...(orderId ? { orderId } : {}) }
  }
}

const sum = (lines: Line[]): number => lines.reduce((total, l) => total + l.qty * l.product.price_cents, 0)

/** What one order is, before its dialect writes it. */
interface OrderFacts {
  orderId: string | undefined
  customer: Customer
  createdAt: string
  currency: string
  amountCents: number
  items: Line[]
  /** The API dialect's negative amount: its first price negative. */
  negativePrice: boolean
  method: ShippingMethod
  shippingCents: number
  delivery: string
  payment: string
  transactionId: string
  note: string | undefined
  company: string | undefined
}

const withNote = (note: string | undefined) => (note === undefined ? {} : { notes: note })

const shippingOf = (f: OrderFacts) => ({
  method: f.method,
  cost: money(f.shippingCents),
  address: f.customer.address,
  expected_delivery_date: f.delivery,
})

/** Each dialect's shape of the same facts (schemas/*.schema.json, schemas/examples/). */
const ORDER_OF: Record<Dialect, (f: OrderFacts) => Record<string, unknown>> = {
  canonical: (f) => ({
    order_id: f.orderId,
    customer_id: f.customer.id,
    created_at: f.createdAt,
    currency: f.currency,
    amount: money(f.amountCents),
    items: f.items.map((l) => ({
      sku: l.product.sku,
      qty: l.qty,
      unit_price: money(l.product.price_cents),
      description: l.product.name,
    })),
    customer: { name: `${f.customer.firstName} ${f.customer.lastName}`, email: f.customer.email },
    payment: { method: f.payment, transaction_id: f.transactionId },
    shipping: shippingOf(f),
    order_status: 'pending',
    ...withNote(f.note),
  }),
  rich: (f) => ({
    order_id: f.orderId,
    ...(f.company === undefined ? {} : { company: { name: f.company } }),
    customer: {
      first_name: f.customer.firstName,
      last_name: f.customer.lastName,
      email: f.customer.email,
      phone: f.customer.phone,
      address: f.customer.address,
    },
    order_date: f.createdAt,
    items: f.items.map((l) => ({
      product_id: l.product.sku,
      description: l.product.name,
      quantity: l.qty,
      unit_price: money(l.product.price_cents),
    })),
    payment: { method: f.payment, transaction_id: f.transactionId, amount: money(f.amountCents) },
    shipping: shippingOf(f),
    order_status: 'pending',
    ...withNote(f.note),
  }),
  api: (f) => ({
    customerName: `${f.customer.firstName} ${f.customer.lastName}`,
    customerEmail: f.customer.email,
    items: f.items.map((l, i) => ({
      productId: l.product.sku,
      productName: l.product.name,
      quantity: l.qty,
      price: money(i === 0 && f.negativePrice ? -l.product.price_cents : l.product.price_cents),
    })),
    shippingAddress: {
      street: `${f.customer.address.number} ${f.customer.address.street}`,
      city: f.customer.address.city,
      postalCode: f.customer.address.zip_code,
      country: f.customer.address.country,
    },
    paymentMethod: f.payment,
    ...withNote(f.note),
  }),
}

// ---------------------------------------------------------------------------------------------------------------
// Counting what was written

export interface GenerationSummary {
  /** Lines written. */
  orders: number
  /** Valid orders written once (not the duplicates). */
  valid: number
  invalid: number
  duplicates: number
  invalidByKind: Record<InvalidKind, number>
  /** UTF-8 bytes written, newlines included. */
  bytes: number
}

export const emptySummary = (): GenerationSummary => ({
  orders: 0,
  valid: 0,
  invalid: 0,
  duplicates: 0,
  invalidByKind: { negative_amount: 0, no_items: 0, sum_mismatch: 0, malformed_json: 0 },
  bytes: 0,
})

/** Counts one line (and its newline) into `summary`. */
export const countLine = (summary: GenerationSummary, line: GeneratedLine): void => {
  summary.orders++
  summary.bytes += Buffer.byteLength(line.text) + 1
  if (line.kind === 'valid') summary.valid++
  else if (line.kind === 'duplicate') summary.duplicates++
  else {
    summary.invalid++
    summary.invalidByKind[line.kind]++
  }
}

/**
 * The whole file as one string (for small files: the Lambda's 1,000 orders) and its summary.
 * @throws RangeError for bad options
 */
export const generateFile = (options: GenerateOptions): { body: string; summary: GenerationSummary } => {
  const summary = emptySummary()
  const parts: string[] = []
  for (const line of generateLines(options)) {
    countLine(summary, line)
    parts.push(line.text)
  }
  return { body: `${parts.join('\n')}\n`, summary }
}
