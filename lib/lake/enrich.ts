/**
 * The enrichment rules (pure): one stored, PROCESSED order → its row of processed/orders and its rows of
 * processed/items (lib/lake/enriched.ts). Every rule is here, and each is listed in the README ("Enrichment rules")
 * and tested as a table. No personal data leaves: the customer's id only, never a name, an e-mail or an address.
 *
 * The customer's history is what the table holds when the order is exported: the customer's stored orders before
 * this one (an index on customer id and processed time, lib/aws/table.ts `customerHistory`). It comes from the
 * table rather than from a query over processed/ because the table is the system of record and is read by key in
 * one query, where processed/ is written in batches, later, and may still lack the previous order.
 */
import { centsOf } from '../orders/money.ts'
import type { Order } from '../orders/order.ts'
import type { StockStatus } from '../orders/outcomes.ts'
import type { EnrichedItem, EnrichedOrder } from './enriched.ts'

/** Amounts, in minor units, that the rules compare with. */
export const THRESHOLDS = {
  /** A basket at or above this is large; an order at or above it is a high delivery priority. */
  largeBasketCents: 100_000,
  /** A basket below this (with at most 2 units) is small. */
  smallBasketCents: 10_000,
  /** A customer whose stored orders reach this, this one included, is vip. */
  vipLifetimeCents: 500_000,
  /** One order at or above this makes its customer vip. */
  vipOrderCents: 200_000,
} as const

export type DeliveryPriority = 'urgent' | 'high' | 'normal' | 'low'
export type BasketSize = 'small' | 'medium' | 'large'
export type CustomerSegment = 'new' | 'returning' | 'loyal' | 'vip'

const DAY_MS = 86_400_000
const FAST_METHODS = /^(express|next[ _-]?day|same[ _-]?day|overnight|priority)$/
const SLOW_METHODS = /^(pickup|store[ _-]?pickup|economy|freight)$/

/** Whole days from the order's creation to its expected delivery date (undefined without one). */
export const daysToDelivery = (createdAt: string, expected: string | undefined): number | undefined => {
  if (!expected) return undefined
  const created = Date.parse(createdAt.slice(0, 10))
  const due = Date.parse(expected.slice(0, 10))
  return Number.isNaN(created) || Number.isNaN(due) ? undefined : Math.round((due - created) / DAY_MS)
}

/**
 * Delivery priority, from the shipping method, the amount and the expected date:
 * urgent — a fast method (express, next day, same day, overnight, priority) due within 1 day;
 * high — a fast method, or due within 2 days, or an amount of at least 1,000.00;
 * low — a pickup or economy method, or due in more than 7 days;
 * normal — everything else.
 */
export const deliveryPriority = (method: string, amountCents: number, days: number | undefined): DeliveryPriority => {
  const fast = FAST_METHODS.test(method)
  if (fast && days !== undefined && days <= 1) return 'urgent'
  if (fast || (days !== undefined && days <= 2) || amountCents >= THRESHOLDS.largeBasketCents) return 'high'
  if (SLOW_METHODS.test(method) || (days !== undefined && days > 7)) return 'low'
  return 'normal'
}

/**
 * Basket size: large — at least 10 units, 5 distinct SKUs or 1,000.00; small — at most 2 units and under 100.00;
 * medium — everything else.
 */
export const basketSize = (units: number, distinctSkus: number, amountCents: number): BasketSize => {
  if (units >= 10 || distinctSkus >= 5 || amountCents >= THRESHOLDS.largeBasketCents) return 'large'
  if (units <= 2 && amountCents < THRESHOLDS.smallBasketCents) return 'small'
  return 'medium'
}

/** The customer's stored orders before this one (same currency), from the table. */
export interface CustomerHistory {
  /** How many. */
  orders: number
  /** Their amounts, in minor units. */
  spentCents: number
}

/**
 * Customer segment, from this order's amount and the customer's history: vip — the stored orders reach 5,000.00
 * with this one, or this one alone is 2,000.00 or more; new — the first order; loyal — the 4th order or later;
 * returning — the 2nd or 3rd.
 */
export const customerSegment = (history: CustomerHistory, amountCents: number): CustomerSegment => {
  if (history.spentCents + amountCents >= THRESHOLDS.vipLifetimeCents || amountCents >= THRESHOLDS.vipOrderCents)
    return 'vip'
  if (history.orders === 0) return 'new'
  if (history.orders >= 3) return 'loyal'
  return 'returning'
}

/** The stored order as the exporter reads it from the table (lib/aws/table.ts orderRecord). */
export interface StoredOrder {
  order: Omit<Order, 'items'> & { items: (Order['items'][number] & { stock?: string })[] }
  stock_status: StockStatus
  processed_at: string
  /** Where it came from: `s3://bucket/key?versionId=v#line` for a file's line, absent for the API. */
  source?: string
}

export interface EnrichContext {
  /** The catalogue's category of a SKU (`unknown` when the catalogue does not have it). */
  categoryOf: (sku: string) => string
  history: CustomerHistory
  exportedAt: string
}

const cents = (value: number | undefined): number => centsOf(value ?? 0)

/** `s3://bucket/key?versionId=v#12` → `s3://bucket/key`; undefined for the API. */
export const sourceFile = (source: string | undefined): string | null =>
  source?.startsWith('s3://') ? source.replace(/[?#].*$/, '') : null

/** One stored order's rows. */
export const enrich = (stored: StoredOrder, ctx: EnrichContext): { order: EnrichedOrder; items: EnrichedItem[] } => {
  const { order } = stored
  const amountCents = cents(order.amount)
  const lines = order.items.map((item, i) => ({
    item,
    line: i + 1,
    category: ctx.categoryOf(item.sku),
    lineCents: item.qty * cents(item.unit_price),
  }))
  const units = lines.reduce((sum, l) => sum + l.item.qty, 0)
  const distinctSkus = new Set(order.items.map((i) => i.sku)).size
  const byCategory = new Map<string, number>()
  for (const l of lines) byCategory.set(l.category, (byCategory.get(l.category) ?? 0) + l.lineCents)
  const mainCategory = [...byCategory].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? null
  const method = (order.shipping?.method ?? 'none').trim().toLowerCase()
  const expected = order.shipping?.expected_delivery_date?.slice(0, 10)
  const file = sourceFile(stored.source)
  return {
    order: {
      order_id: order.order_id,
      customer_id: order.customer_id,
      created_at: order.created_at,
      received_at: order.intake?.received_at ?? null,
      processed_at: stored.processed_at,
      currency: order.currency,
      amount_cents: amountCents,
      shipping_cents: cents(order.shipping?.cost),
      lines: lines.length,
      units,
      distinct_skus: distinctSkus,
      categories: [...byCategory.keys()].sort().join(','),
      main_category: mainCategory,
      basket_size: basketSize(units, distinctSkus, amountCents),
      shipping_method: method,
      expected_delivery_date: expected ?? null,
      delivery_priority: deliveryPriority(method, amountCents, daysToDelivery(order.created_at, expected)),
      customer_order_number: ctx.history.orders + 1,
      customer_spent_cents: ctx.history.spentCents,
      customer_segment: customerSegment(ctx.history, amountCents),
      stock_status: stored.stock_status,
      pending_items: order.items.filter((i) => i.stock === 'PENDING').length,
      dialect: order.intake?.dialect ?? null,
      source: file ? 's3' : 'api',
      source_file: file,
      exported_at: ctx.exportedAt,
    },
    items: lines.map((l) => ({
      order_id: order.order_id,
      line: l.line,
      sku: l.item.sku,
      category: l.category,
      quantity: l.item.qty,
      unit_price_cents: cents(l.item.unit_price),
      line_cents: l.lineCents,
      currency: order.currency,
      stock: l.item.stock ?? 'UNTRACKED',
      customer_id: order.customer_id,
      processed_at: stored.processed_at,
    })),
  }
}
