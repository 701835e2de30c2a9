/**
 * The intake reports as a table, `intake_reports`: one row per order file, read from the `reports/<key>.json`
 * documents the validator writes (lib/intake/report.ts FileReport). The one source of the Glue table's columns
 * (cloudformation/analytics.yaml, checked by test/cloudformation/analytics.test.ts) and of the DuckDB view over the
 * same files (lib/lake/queries.ts).
 *
 * The reports are pretty-printed JSON, one document per file. Athena's JSON SerDes (Hive, OpenX) need one document
 * per line, so the Glue table reads them with the Amazon Ion SerDe (Ion text is a superset of JSON, and its reader
 * takes documents across lines); its path extractors map each snake_case column to the report's camelCase field.
 */
import type { FileReport } from '../intake/report.ts'

export interface ReportColumn {
  name: string
  /** The report's field (the Ion path extractor's path, the DuckDB view's source column). */
  field: keyof FileReport
  /** Its Glue (Hive) type. */
  type: string
  /** The same type as DuckDB names it, for read_json's columns. */
  duckdb: string
  comment: string
}

const fields = {
  bucket: { name: 'bucket', type: 'string', duckdb: 'VARCHAR', comment: 'the intake bucket' },
  key: { name: 'key', type: 'string', duckdb: 'VARCHAR', comment: "the order file's key" },
  versionId: { name: 'version_id', type: 'string', duckdb: 'VARCHAR', comment: 'the version read, or null' },
  correlationId: {
    name: 'correlation_id',
    type: 'string',
    duckdb: 'VARCHAR',
    comment: "the file's correlation id (in every log line and parked message)",
  },
  accepted: { name: 'accepted', type: 'int', duckdb: 'INTEGER', comment: 'orders queued' },
  rejected: { name: 'rejected', type: 'int', duckdb: 'INTEGER', comment: 'orders rejected' },
  rejectedByReason: {
    name: 'rejected_by_reason',
    type: 'map<string,int>',
    duckdb: 'MAP(VARCHAR, INTEGER)',
    comment: 'rejects by error class, and by class:rule for validation errors (one reject may count twice)',
  },
  rejects: {
    name: 'rejects',
    type: 'array<struct<line:int,class:string,reason:string>>',
    duckdb: 'STRUCT(line INTEGER, class VARCHAR, reason VARCHAR)[]',
    comment: 'the first rejects, with their 1-based line',
  },
  startedAt: { name: 'started_at', type: 'string', duckdb: 'VARCHAR', comment: 'ISO 8601, UTC' },
  finishedAt: { name: 'finished_at', type: 'string', duckdb: 'VARCHAR', comment: 'ISO 8601, UTC' },
  durationMs: { name: 'duration_ms', type: 'bigint', duckdb: 'BIGINT', comment: 'milliseconds' },
  linesPerSecond: { name: 'lines_per_second', type: 'bigint', duckdb: 'BIGINT', comment: 'lines read per second' },
  ranges: { name: 'ranges', type: 'int', duckdb: 'INTEGER', comment: 'ranges the file was read in (1: whole)' },
} satisfies Record<keyof FileReport, Omit<ReportColumn, 'field'>>

/** The columns of intake_reports, one per FileReport field (the compiler checks that none is missing). */
export const REPORT_COLUMNS: readonly ReportColumn[] = Object.entries(fields).map(([field, column]) => ({
  ...column,
  field: field as keyof FileReport,
}))

/** Where the reports are, under the intake bucket. */
export const REPORTS_PREFIX = 'reports/'
