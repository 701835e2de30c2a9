/**
 * The data lake's records: what one PROCESSED order becomes in `processed/` (pure: types and column lists only).
 *
 * Two tables, both partitioned by the day the order was processed (Hive style, `year=YYYY/month=MM/day=DD`):
 * - `processed/orders/…`: one row per order, the enrichment's facts (lib/lake/enrich.ts) and the pipeline's own;
 * - `processed/items/…`: one row per order line, for the product questions (top products, categories).
 * No personal data: customer ids only, never names, e-mails, phones or addresses.
 *
 * These column lists are the one source of the Parquet schema the exporter writes and of the Glue tables that
 * Athena reads (a test compares the two), so that the catalog and the files cannot drift.
 */

/** A column's type, as Glue/Athena names it; the Parquet writer maps each to its physical type. */
export type ColumnType = 'string' | 'bigint' | 'int' | 'double' | 'boolean' | 'timestamp' | 'date'

export interface Column {
  name: string
  type: ColumnType
  comment: string
}

export const ORDER_COLUMNS = [
  { name: 'order_id', type: 'string', comment: 'the order id (S3- or API- for ids the pipeline assigned)' },
  { name: 'customer_id', type: 'string', comment: "the customer's id (no other personal data)" },
  { name: 'created_at', type: 'timestamp', comment: 'when the customer placed the order (UTC)' },
  { name: 'received_at', type: 'timestamp', comment: 'when the pipeline received it' },
  { name: 'processed_at', type: 'timestamp', comment: 'when it was stored (the partition day)' },
  { name: 'currency', type: 'string', comment: 'ISO 4217' },
  { name: 'amount_cents', type: 'bigint', comment: 'the order total in minor units' },
  { name: 'shipping_cents', type: 'bigint', comment: 'the shipping cost in minor units (0 when none)' },
  { name: 'lines', type: 'int', comment: 'order lines' },
  { name: 'units', type: 'int', comment: 'items over all lines' },
  { name: 'distinct_skus', type: 'int', comment: 'distinct SKUs' },
  { name: 'categories', type: 'string', comment: 'the catalogue categories of its SKUs, sorted, comma-separated' },
  { name: 'main_category', type: 'string', comment: 'the category with the largest share of the amount' },
  { name: 'basket_size', type: 'string', comment: 'small | medium | large (see the README: enrichment rules)' },
  { name: 'shipping_method', type: 'string', comment: 'as given, lower-case (none when none)' },
  { name: 'expected_delivery_date', type: 'date', comment: 'as given, or null' },
  { name: 'delivery_priority', type: 'string', comment: 'urgent | high | normal | low' },
  { name: 'customer_order_number', type: 'int', comment: "this order's rank among the customer's stored orders" },
  { name: 'customer_spent_cents', type: 'bigint', comment: "the customer's stored orders before this one, in total" },
  { name: 'customer_segment', type: 'string', comment: 'new | returning | loyal | vip' },
  { name: 'stock_status', type: 'string', comment: 'RESERVED | PENDING_STOCK | UNTRACKED' },
  { name: 'pending_items', type: 'int', comment: 'lines waiting for stock' },
  { name: 'dialect', type: 'string', comment: 'canonical | rich | api: how it arrived' },
  { name: 'source', type: 'string', comment: 'api | s3' },
  { name: 'source_file', type: 'string', comment: 's3://bucket/key of the order file, or null' },
  { name: 'exported_at', type: 'timestamp', comment: 'when the exporter wrote the row' },
] as const satisfies readonly Column[]

export const ITEM_COLUMNS = [
  { name: 'order_id', type: 'string', comment: 'the order' },
  { name: 'line', type: 'int', comment: 'the 1-based line in the order' },
  { name: 'sku', type: 'string', comment: 'the SKU' },
  { name: 'category', type: 'string', comment: "the catalogue's category, or unknown" },
  { name: 'quantity', type: 'int', comment: 'units' },
  { name: 'unit_price_cents', type: 'bigint', comment: 'in minor units' },
  { name: 'line_cents', type: 'bigint', comment: 'quantity x unit price' },
  { name: 'currency', type: 'string', comment: 'ISO 4217' },
  { name: 'stock', type: 'string', comment: 'RESERVED | PENDING | UNTRACKED' },
  { name: 'customer_id', type: 'string', comment: "the order's customer" },
  { name: 'processed_at', type: 'timestamp', comment: 'when the order was stored (the partition day)' },
] as const satisfies readonly Column[]

/** The Hive partition columns of both tables (in the path, not in the files). */
export const PARTITION_COLUMNS = [
  { name: 'year', type: 'string', comment: 'YYYY of processed_at (UTC)' },
  { name: 'month', type: 'string', comment: 'MM' },
  { name: 'day', type: 'string', comment: 'DD' },
] as const satisfies readonly Column[]

type ValueOf<T extends ColumnType> = T extends 'string' | 'date'
  ? string
  : T extends 'timestamp'
    ? string
    : T extends 'boolean'
      ? boolean
      : number

type RowOf<C extends readonly Column[]> = { [K in C[number] as K['name']]: ValueOf<K['type']> | null }

/** One row of processed/orders: timestamps as ISO 8601 strings, dates as YYYY-MM-DD. */
export type EnrichedOrder = RowOf<typeof ORDER_COLUMNS>
/** One row of processed/items. */
export type EnrichedItem = RowOf<typeof ITEM_COLUMNS>

/** Where a processed order's rows go: `processed/<table>/year=YYYY/month=MM/day=DD/`. */
export const partitionPath = (table: 'orders' | 'items', processedAt: string, prefix = 'processed/'): string => {
  const [year, month, day] = processedAt.slice(0, 10).split('-')
  return `${prefix}${table}/year=${year}/month=${month}/day=${day}/`
}
