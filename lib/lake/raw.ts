/**
 * The data lake's raw zone: order files as they arrived, under `raw/year=YYYY/month=MM/day=DD/` of the intake bucket
 * (the generator's files, or anyone's: raw/ is an intake prefix, so every file there also goes through the
 * validator). The Glue table raw_orders (cloudformation/analytics.yaml) and the DuckDB view of `npm run query` read
 * each line of a JSONL file, gzipped or not, as one string: the dialects have different fields and a line may not
 * be JSON at all, so nothing is lost and nothing is guessed. Fields are read with `json_extract_scalar(line,
 * '$.order_id')`, in Athena and DuckDB alike.
 */
import type { Column } from './enriched.ts'

export const RAW_PREFIX = 'raw/'

/** The files raw_orders reads (a .json array file would read as lines: keep raw/ for JSONL). */
export const RAW_SUFFIXES = ['.jsonl', '.jsonl.gz'] as const

export const RAW_COLUMNS = [
  {
    name: 'line',
    type: 'string',
    comment: 'one line of an order file as written: JSON in any dialect, or not JSON at all',
  },
] as const satisfies readonly Column[]

export const RAW_PARTITION_COLUMNS = [
  { name: 'year', type: 'string', comment: "YYYY of the file's path (the day its orders were placed)" },
  { name: 'month', type: 'string', comment: 'MM' },
  { name: 'day', type: 'string', comment: 'DD' },
] as const satisfies readonly Column[]
