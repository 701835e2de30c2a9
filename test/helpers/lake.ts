/**
 * A small data lake written by hand, laid out as the intake bucket: ten orders and their fifteen lines over two
 * days (2026-01-06: 4 orders; 2026-01-07: 6, one of them in USD, in two files), written with toParquet, and three
 * intake reports (pretty-printed, as the validator writes them). The figures the named queries must give are in
 * test/lib/lake/queries.test.ts, worked out by hand from these rows.
 *
 * Prices: A 25.00 (books), B 70.00 (toys), C 20.00 (garden), D 300.00 (electronics), E 55.00 (toys).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import {
  ITEM_COLUMNS,
  ORDER_COLUMNS,
  partitionPath,
  type EnrichedItem,
  type EnrichedOrder,
} from '../../lib/lake/enriched.ts'
import type { FileReport } from '../../lib/intake/report.ts'
import { toParquet } from '../../lib/lake/parquet.ts'

type Line = [sku: string, quantity: number, stock?: 'PENDING' | 'UNTRACKED']

const PRICES: Record<string, [cents: number, category: string]> = {
  A: [2500, 'books'],
  B: [7000, 'toys'],
  C: [2000, 'garden'],
  D: [30000, 'electronics'],
  E: [5500, 'toys'],
}

interface Spec {
  id: string
  customer: string
  day: '06' | '07'
  currency?: string
  lines: Line[]
  segment: string
  priority: string
  shippingCents: number
  /** Which file of its day the order's rows go to. */
  file?: number
}

const SPECS: Spec[] = [
  { id: 'O1', customer: 'C1', day: '06', lines: [['A', 1]], segment: 'new', priority: 'normal', shippingCents: 500 },
  {
    id: 'O2',
    customer: 'C2',
    day: '06',
    lines: [
      ['A', 2],
      ['B', 1, 'PENDING'],
    ],
    segment: 'returning',
    priority: 'high',
    shippingCents: 0,
  },
  { id: 'O3', customer: 'C3', day: '06', lines: [['C', 2]], segment: 'new', priority: 'low', shippingCents: 300 },
  { id: 'O4', customer: 'C1', day: '06', lines: [['D', 5]], segment: 'vip', priority: 'high', shippingCents: 1000 },
  {
    id: 'O5',
    customer: 'C2',
    day: '07',
    lines: [
      ['A', 1],
      ['E', 1],
    ],
    segment: 'loyal',
    priority: 'urgent',
    shippingCents: 800,
  },
  {
    id: 'O6',
    customer: 'C4',
    day: '07',
    lines: [['C', 1, 'PENDING']],
    segment: 'new',
    priority: 'normal',
    shippingCents: 0,
  },
  {
    id: 'O7',
    customer: 'C5',
    day: '07',
    lines: [
      ['B', 2, 'PENDING'],
      ['C', 4, 'PENDING'],
    ],
    segment: 'returning',
    priority: 'normal',
    shippingCents: 500,
  },
  {
    id: 'O8',
    customer: 'C3',
    day: '07',
    lines: [['A', 2, 'UNTRACKED']],
    segment: 'returning',
    priority: 'low',
    shippingCents: 0,
    file: 1,
  },
  {
    id: 'O9',
    customer: 'C6',
    day: '07',
    lines: [
      ['E', 1],
      ['C', 1],
      ['A', 1],
    ],
    segment: 'new',
    priority: 'urgent',
    shippingCents: 1200,
    file: 1,
  },
  {
    id: 'O10',
    customer: 'C7',
    day: '07',
    currency: 'USD',
    lines: [['C', 3]],
    segment: 'new',
    priority: 'normal',
    shippingCents: 700,
    file: 1,
  },
]

const processedAt = (spec: Spec): string => `2026-01-${spec.day}T${10 + Number(spec.id.slice(1))}:15:00.250Z`

const itemsOf = (spec: Spec): EnrichedItem[] =>
  spec.lines.map(([sku, quantity, stock], i) => ({
    order_id: spec.id,
    line: i + 1,
    sku,
    category: PRICES[sku]![1],
    quantity,
    unit_price_cents: PRICES[sku]![0],
    line_cents: quantity * PRICES[sku]![0],
    currency: spec.currency ?? 'EUR',
    stock: stock ?? 'RESERVED',
    customer_id: spec.customer,
    processed_at: processedAt(spec),
  }))

const orderOf = (spec: Spec): EnrichedOrder => {
  const items = itemsOf(spec)
  const pending = items.filter((i) => i.stock === 'PENDING').length
  const untracked = items.every((i) => i.stock === 'UNTRACKED')
  const categories = [...new Set(items.map((i) => i.category!))].sort()
  return {
    order_id: spec.id,
    customer_id: spec.customer,
    created_at: `2026-01-${spec.day}T08:00:00Z`,
    received_at: `2026-01-${spec.day}T08:00:01.500Z`,
    processed_at: processedAt(spec),
    currency: spec.currency ?? 'EUR',
    amount_cents: items.reduce((sum, i) => sum + i.line_cents!, 0),
    shipping_cents: spec.shippingCents,
    lines: items.length,
    units: items.reduce((sum, i) => sum + i.quantity!, 0),
    distinct_skus: new Set(items.map((i) => i.sku)).size,
    categories: categories.join(','),
    main_category: categories[0]!,
    basket_size: 'medium',
    shipping_method: spec.shippingCents === 0 ? 'none' : 'standard',
    expected_delivery_date:
      spec.priority === 'urgent' ? `2026-01-${String(Number(spec.day) + 1).padStart(2, '0')}` : null,
    delivery_priority: spec.priority,
    customer_order_number: 1,
    customer_spent_cents: 0,
    customer_segment: spec.segment,
    stock_status: pending > 0 ? 'PENDING_STOCK' : untracked ? 'UNTRACKED' : 'RESERVED',
    pending_items: pending,
    dialect: 'canonical',
    source: spec.id === 'O1' ? 'api' : 's3',
    source_file: spec.id === 'O1' ? null : `s3://tp-orders-intake/orders/2026-01-${spec.day}.jsonl`,
    exported_at: `2026-01-${spec.day}T23:00:00Z`,
  }
}

export const FIXTURE_ORDERS: EnrichedOrder[] = SPECS.map(orderOf)
export const FIXTURE_ITEMS: EnrichedItem[] = SPECS.flatMap(itemsOf)

const report = (key: string, accepted: number, rejectedByReason: Record<string, number>, rejected: number) =>
  ({
    bucket: 'tp-orders-intake',
    key,
    ...(key.startsWith('raw/') ? { versionId: 'v-raw-1' } : {}),
    correlationId: `corr-${key}`,
    accepted,
    rejected,
    rejectedByReason,
    rejects: rejected > 0 ? [{ line: 2, class: 'ValidationError', reason: 'Missing required field: customer_id' }] : [],
    startedAt: '2026-01-07T09:00:00.000Z',
    finishedAt: '2026-01-07T09:00:02.000Z',
    durationMs: 2000,
    linesPerSecond: Math.round((accepted + rejected) / 2),
    ranges: 1,
  }) satisfies FileReport

export const FIXTURE_REPORTS: FileReport[] = [
  report('orders/2026-01-06.jsonl', 4, { 'ValidationError:required': 2, SyntaxError: 1 }, 3),
  report('orders/2026-01-07-clean.jsonl', 10, {}, 0),
  report('raw/year=2026/month=01/day=07/orders.jsonl.gz', 6, { ConflictError: 1 }, 1),
]

/** The lake's objects: key → body, as the bucket holds them. */
export const fixtureObjects = (): Map<string, Uint8Array | string> => {
  const objects = new Map<string, Uint8Array | string>()
  const files = new Map<string, { orders: EnrichedOrder[]; items: EnrichedItem[] }>()
  for (const spec of SPECS) {
    const name = `${processedAt(spec).slice(0, 10)}#${spec.file ?? 0}`
    const file = files.get(name) ?? { orders: [], items: [] }
    file.orders.push(orderOf(spec))
    file.items.push(...itemsOf(spec))
    files.set(name, file)
  }
  for (const [name, { orders, items }] of files) {
    const [day, n] = name.split('#')
    const at = `${day}T00:00:00Z`
    objects.set(`${partitionPath('orders', at)}part-${n}.parquet`, toParquet(ORDER_COLUMNS, orders))
    objects.set(`${partitionPath('items', at)}part-${n}.parquet`, toParquet(ITEM_COLUMNS, items))
  }
  for (const r of FIXTURE_REPORTS) objects.set(`reports/${r.key}.json`, `${JSON.stringify(r, null, 2)}\n`)
  return objects
}

/** Writes the fixture lake into `dir` (laid out as the bucket). */
export const writeFixtureLake = (dir: string): void => {
  for (const [key, body] of fixtureObjects()) {
    mkdirSync(dirname(join(dir, key)), { recursive: true })
    writeFileSync(join(dir, key), body)
  }
}
