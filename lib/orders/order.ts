/**
 * The canonical order model, the three intake dialects, and the normalisation between them (README: "Orders").
 */
import { createHash, randomUUID } from 'node:crypto'
import { configure } from 'safe-stable-stringify'
import { isObject, type JsonObject } from './json.ts'
import { toCents, fromCents } from './money.ts'

export const DIALECTS = ['canonical', 'rich', 'api'] as const
export type Dialect = (typeof DIALECTS)[number]

export interface Address {
  street?: string
  number?: string
  complement?: string
  neighborhood?: string
  city?: string
  state?: string
  zip_code?: string
  country?: string
}
export interface OrderItem {
  sku: string
  qty: number
  unit_price: number
  description?: string
}
export interface Intake {
  received_at: string
  dialect: Dialect
  /** Fields the server filled in (an assigned created_at is left out of the duplicate hash). */
  assigned?: ('order_id' | 'customer_id' | 'created_at' | 'currency')[]
}
export interface Order {
  order_id: string
  customer_id: string
  created_at: string
  currency: string
  amount: number
  items: OrderItem[]
  customer?: {
    name?: string
    first_name?: string
    last_name?: string
    email?: string
    cpf?: string
    phone?: string
    address?: Address
  }
  company?: { name?: string; cnpj?: string; vat_id?: string }
  payment?: { method?: string; transaction_id?: string }
  shipping?: { method?: string; cost?: number; address?: Address; expected_delivery_date?: string }
  order_status?: string
  notes?: string
  intake?: Intake
}

type Json = JsonObject
const itemsOf = (v: Json): Json[] => (Array.isArray(v.items) ? v.items.filter(isObject) : [])

/** API orders: any camelCase key of the API order (customerName alone is enough). */
const speaksApi = (input: Json): boolean =>
  ['customerEmail', 'customerName', 'paymentMethod', 'shippingAddress'].some((k) => k in input) ||
  itemsOf(input).some((i) => 'productId' in i)

/** Rich orders: `order_date`, `items[].product_id`, or `payment.amount` without a top-level `amount`. */
const speaksRich = (input: Json): boolean =>
  'order_date' in input ||
  itemsOf(input).some((i) => 'product_id' in i) ||
  (!('amount' in input) && isObject(input.payment) && 'amount' in input.payment)

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

/** customer_id for a dialect that has only an e-mail: `CUST-` + 20 hex digits of SHA-256 of the trimmed, lower-cased address. */
export const customerIdFromEmail = (email: string): string => `CUST-${sha256(email.trim().toLowerCase()).slice(0, 20)}`

/** The order id of a POST with an Idempotency-Key: a retry with the same key is the same order. */
export const orderIdFromIdempotencyKey = (key: string): string => `API-${sha256(`idempotency:${key}`).slice(0, 32)}`

/** The order id of an S3 line without one: a re-delivered S3 event yields the same id. */
export const orderIdFromS3 = (bucket: string, key: string, version: string | undefined, line: number): string =>
  `S3-${sha256(`${bucket}\n${key}\n${version ?? ''}\n${line}`).slice(0, 32)}`

export const newOrderId = (): string => `API-${randomUUID()}`

/** The order id a body claims, if it is a usable one (for rejection records of bodies that failed validation). */
export const orderIdOf = (body: unknown): string | undefined => {
  const id = (body as { order_id?: unknown } | null)?.order_id
  return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : undefined
}

export interface NormaliseContext {
  defaultCurrency: string
  /** When the order reached us (ISO 8601). */
  receivedAt: string
  /** The id for a dialect without one. */
  assignOrderId: () => string
}

const definedOnly = <T extends Json>(value: T): T | undefined => {
  const entries = Object.entries(value).filter(([, v]) => v !== undefined)
  return entries.length > 0 ? (Object.fromEntries(entries) as T) : undefined
}

const fromCanonical = (input: Json, ctx: NormaliseContext): Order => {
  const { intake: _ignored, ...order } = input as unknown as Order
  const assigned: Intake['assigned'] = order.currency === undefined ? ['currency'] : []
  return {
    ...order,
    currency: order.currency ?? ctx.defaultCurrency,
    intake: { received_at: ctx.receivedAt, dialect: 'canonical', assigned },
  }
}

const fromRich = (input: Json, ctx: NormaliseContext): Order => {
  const { order_id, customer_id, order_date, currency, items, payment, ...blocks } = input as {
    order_id: string
    customer_id?: string
    order_date: string
    currency?: string
    items: { product_id: string; quantity: number; unit_price: number; description?: string }[]
    payment: { amount: number; method?: string; transaction_id?: string }
  } & Pick<Order, 'customer' | 'company' | 'shipping' | 'order_status' | 'notes'>
  const { amount, ...paymentRest } = payment
  const assigned: Intake['assigned'] = []
  if (customer_id === undefined) assigned.push('customer_id')
  if (currency === undefined) assigned.push('currency')
  return definedOnly({
    order_id,
    customer_id: customer_id ?? customerIdFromEmail(blocks.customer?.email ?? ''),
    created_at: order_date,
    currency: currency ?? ctx.defaultCurrency,
    amount,
    items: items.map(
      (i) =>
        definedOnly({
          sku: i.product_id,
          qty: i.quantity,
          unit_price: i.unit_price,
          description: i.description,
        }) as OrderItem,
    ),
    ...blocks,
    payment: definedOnly(paymentRest),
    intake: { received_at: ctx.receivedAt, dialect: 'rich' as const, assigned },
  }) as Order
}

const fromApi = (input: Json, ctx: NormaliseContext): Order => {
  const body = input as {
    customerName: string
    customerEmail: string
    currency?: string
    paymentMethod?: string
    notes?: string
    items: { productId: string; productName?: string; quantity: number; price: number }[]
    shippingAddress?: { street?: string; city?: string; state?: string; postalCode?: string; country?: string }
  }
  const items = body.items.map(
    (i) =>
      definedOnly({ sku: i.productId, qty: i.quantity, unit_price: i.price, description: i.productName }) as OrderItem,
  )
  const address =
    body.shippingAddress &&
    definedOnly({
      street: body.shippingAddress.street,
      city: body.shippingAddress.city,
      state: body.shippingAddress.state,
      zip_code: body.shippingAddress.postalCode,
      country: body.shippingAddress.country,
    })
  const assigned: Intake['assigned'] = ['order_id', 'customer_id', 'created_at']
  if (body.currency === undefined) assigned.push('currency')
  return definedOnly({
    order_id: ctx.assignOrderId(),
    customer_id: customerIdFromEmail(body.customerEmail),
    created_at: ctx.receivedAt,
    currency: body.currency ?? ctx.defaultCurrency,
    amount: fromCents(sumCents(items) ?? 0),
    items,
    customer: { name: body.customerName, email: body.customerEmail },
    payment: definedOnly({ method: body.paymentMethod }),
    shipping: address && { address },
    notes: body.notes,
    intake: { received_at: ctx.receivedAt, dialect: 'api' as const, assigned },
  }) as Order
}

/**
 * How the intake reads one dialect: whether a parsed body speaks it, and the canonical order it becomes. Its checks
 * (the compiled schema, where its money is) are validate.ts's VALIDATORS and SHAPES; docs/extending.md adds one.
 */
export interface DialectMapping {
  dialect: Dialect
  /** Whether a JSON object is in this dialect. */
  detect: (input: JsonObject) => boolean
  /** The canonical order of a body that passed this dialect's checks. */
  normalise: (input: JsonObject, ctx: NormaliseContext) => Order
}

/**
 * Every dialect, in the order detectDialect tries them: camelCase API keys win, then the rich order's keys;
 * canonical, last, takes anything, so an unknown shape gets the canonical order's "missing field" messages.
 */
export const DIALECT_MAPPINGS: readonly DialectMapping[] = [
  { dialect: 'api', detect: speaksApi, normalise: fromApi },
  { dialect: 'rich', detect: speaksRich, normalise: fromRich },
  { dialect: 'canonical', detect: () => true, normalise: fromCanonical },
]

/** Which dialect a parsed body speaks: the first mapping whose `detect` says so; canonical for anything else. */
export const detectDialect = (input: unknown, mappings = DIALECT_MAPPINGS): Dialect =>
  (isObject(input) ? mappings.find((m) => m.detect(input))?.dialect : undefined) ?? 'canonical'

/** The canonical order of a body that passed its dialect's checks. */
export const normalise = (
  input: unknown,
  dialect: Dialect,
  ctx: NormaliseContext,
  mappings = DIALECT_MAPPINGS,
): Order => (mappings.find((m) => m.dialect === dialect)?.normalise ?? fromCanonical)(input as Json, ctx)

/** Σ qty × unit price in integer cents, or undefined when a line is not well-formed. */
export const sumCents = (items: { qty: unknown; unit_price: unknown }[]): number | undefined => {
  let total = 0
  for (const { qty, unit_price } of items) {
    const cents = toCents(unit_price)
    if (cents === undefined || typeof qty !== 'number' || !Number.isInteger(qty)) return undefined
    total += qty * cents
  }
  return total
}

const stableStringify = configure({ deterministic: true, bigint: false })

/**
 * The duplicate hash: SHA-256 of the canonical order with sorted keys and money in integer cents, leaving out
 * what the server assigned (the id, the intake block, an assigned created_at) and a currency equal to the default,
 * so that the same order sent in two dialects, or retried, hashes the same.
 */
export const orderHash = (order: Order, defaultCurrency: string): string => {
  const { order_id: _id, intake, ...content } = order
  const hashed: Json = {
    ...content,
    amount: toCents(order.amount),
    items: order.items
      .map((i) => ({ ...i, unit_price: toCents(i.unit_price) }))
      .map((i) => stableStringify(i))
      .sort(),
  }
  if (intake?.assigned?.includes('created_at')) delete hashed.created_at
  if (order.currency === defaultCurrency) delete hashed.currency
  if (order.shipping?.cost !== undefined) hashed.shipping = { ...order.shipping, cost: toCents(order.shipping.cost) }
  return sha256(stableStringify(hashed) ?? '')
}
