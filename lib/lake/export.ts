/**
 * The data lake's export: the table's stream records → the new PROCESSED order records → their enriched rows
 * (enrich.ts) → one Parquet file per table and partition day (parquet.ts), written to the intake bucket under
 * `processed/orders/…` and `processed/items/…`.
 *
 * Every stored order reaches processed/: the stream carries every new order record (an insert happens once, with
 * the order's transaction), and a batch that fails is retried whole by Lambda until it is written (then parked in
 * the export DLQ with its stream position). A batch retried as it was writes the same keys again (named after its
 * first stream sequence number), so its rows are not doubled; a batch split after a failure (bisect) can write a
 * row twice under another name, which is why the named queries count orders by distinct order id.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { unmarshall } from '@aws-sdk/util-dynamodb'
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda'
import pLimit from 'p-limit'
import type { ObjectStore } from '../aws/objects.ts'
import { customerHistory } from '../aws/table.ts'
import { OUTCOME } from '../orders/outcomes.ts'
import { enrich, type StoredOrder } from './enrich.ts'
import { ITEM_COLUMNS, ORDER_COLUMNS, partitionPath, type EnrichedItem, type EnrichedOrder } from './enriched.ts'
import { toParquet } from './parquet.ts'

export interface ExportDeps {
  dynamo: DynamoDBDocumentClient
  s3: ObjectStore
  config: { ordersTable: string; lakeBucket: string }
  categoryOf: (sku: string) => string
  now: () => Date
}

export interface ExportSummary {
  /** Order records in the batch (others: stock, rejections, files, updates). */
  orders: number
  /** Objects written, by key. */
  files: { key: string; rows: number }[]
}

/** The stored PROCESSED orders of a stream batch (inserts of ORDER# records), once each, with their sequence numbers. */
export const newOrders = (records: DynamoDBRecord[]): { stored: StoredOrder; sequence: string }[] => {
  const seen = new Set<string>()
  const orders: { stored: StoredOrder; sequence: string }[] = []
  for (const record of records) {
    const image = record.dynamodb?.NewImage
    if (record.eventName !== 'INSERT' || !image || !image.pk?.S?.startsWith('ORDER#')) continue
    const item = unmarshall(image as Record<string, AttributeValue> as never) as StoredOrder & {
      status?: string
      order_id: string
    }
    if (item.status !== OUTCOME.PROCESSED || seen.has(item.order_id)) continue
    seen.add(item.order_id)
    orders.push({ stored: item, sequence: record.dynamodb?.SequenceNumber ?? '0' })
  }
  return orders
}

/**
 * Exports one stream batch.
 * @throws what the table or S3 throws: the batch is then retried whole
 */
export const exportRecords = async (records: DynamoDBRecord[], deps: ExportDeps): Promise<ExportSummary> => {
  const orders = newOrders(records)
  const exportedAt = deps.now().toISOString()
  // The customers' histories, eight queries at a time.
  const limit = pLimit(8)
  const rows = await Promise.all(
    orders.map(({ stored, sequence }) =>
      limit(async () => {
        const { order } = stored
        const history = await customerHistory(
          deps.dynamo,
          deps.config.ordersTable,
          order.customer_id,
          stored.processed_at,
          order.currency,
        )
        return { ...enrich(stored, { categoryOf: deps.categoryOf, history, exportedAt }), sequence }
      }),
    ),
  )
  // One file per table and day, named after the first stream record of its rows.
  const days = new Map<string, { orders: EnrichedOrder[]; items: EnrichedItem[]; first: string }>()
  for (const row of rows) {
    const day = row.order.processed_at!.slice(0, 10)
    const group = days.get(day) ?? { orders: [], items: [], first: row.sequence }
    group.orders.push(row.order)
    group.items.push(...row.items)
    days.set(day, group)
  }
  const files: ExportSummary['files'] = []
  for (const [day, group] of days) {
    const name = `part-${group.first.padStart(21, '0')}.parquet`
    const tables = [
      { table: 'orders' as const, columns: ORDER_COLUMNS, rows: group.orders },
      { table: 'items' as const, columns: ITEM_COLUMNS, rows: group.items },
    ]
    for (const { table, columns, rows: tableRows } of tables) {
      if (tableRows.length === 0) continue
      const key = `${partitionPath(table, day)}${name}`
      await deps.s3.put(deps.config.lakeBucket, key, toParquet(columns, tableRows), 'application/vnd.apache.parquet')
      files.push({ key, rows: tableRows.length })
    }
  }
  return { orders: orders.length, files }
}
