/**
 * CloudWatch metrics of one invocation: handlers count outcomes into a buffer, and one flush carries them all (the
 * flushMetrics middleware calls it once, whatever happens), in one of two ways (METRICS_MODE, lib/runtime/config.ts):
 *
 * - `api` (publishMetrics): one PutMetricData. A CloudWatch failure never fails, or re-runs, an order: the counts go
 *   to the log as one line in CloudWatch Embedded Metric Format (EMF), from which CloudWatch Logs still makes the
 *   same metrics, and that line's message ("metrics not published") is what the functions stack's metric filters
 *   count for the MetricsNotPublished alarm.
 * - `emf` (writeEmbeddedMetrics): no request at all: the same counts as one EMF line on stdout, which CloudWatch Logs
 *   turns into the same metrics (same names, values, namespace, Stage dimension, zeros of ALWAYS).
 *
 * extractEmbeddedMetrics reads such a line back as the PutMetricData calls CloudWatch Logs' extraction amounts to:
 * the local runner replays the functions' EMF lines on the emulator with it (scripts/local/emf.ts).
 */
import { once } from 'node:events'
import {
  PutMetricDataCommand,
  type CloudWatchClient,
  type MetricDatum,
  type PutMetricDataCommandInput,
  type StandardUnit,
} from '@aws-sdk/client-cloudwatch'
import { LIMITS } from '../orders/limits.ts'
import { LOG, METRIC, type MetricName } from '../orders/outcomes.ts'
import type { Logger } from '../runtime/logger.ts'

/** Counts of one invocation, by metric name. */
export class MetricsBuffer {
  readonly #counts = new Map<MetricName, number>()
  count(name: MetricName, value = 1): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + value)
  }

  get(name: MetricName): number {
    return this.#counts.get(name) ?? 0
  }

  get empty(): boolean {
    return this.#counts.size === 0
  }

  entries(): [MetricName, number][] {
    return [...this.#counts]
  }
}

/** Published whenever anything was counted, zeros included, so that rates have a denominator. */
const ALWAYS = [METRIC.PROCESSED, METRIC.REJECTED, METRIC.DUPLICATE] as const

/** What one flush publishes, in either mode: ALWAYS (zeros included) first, then the other counts; none when empty. */
export const publishedCounts = (buffer: MetricsBuffer): [MetricName, number][] => {
  if (buffer.empty) return []
  const names = new Set<MetricName>([...ALWAYS, ...buffer.entries().map(([name]) => name)])
  return [...names].map((name): [MetricName, number] => [name, buffer.get(name)])
}

/**
 * The counts as an EMF document (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
 * the `_aws` directive names the namespace, the Stage dimension and each metric; the values are top-level members.
 */
export const embeddedMetrics = (counts: [MetricName, number][], namespace: string, stage: string, at: Date) => ({
  _aws: {
    Timestamp: at.getTime(),
    CloudWatchMetrics: [
      {
        Namespace: namespace,
        Dimensions: [['Stage']],
        Metrics: counts.map(([name]) => ({ Name: name, Unit: 'Count' })),
      },
    ],
  },
  Stage: stage,
  ...Object.fromEntries(counts),
})

export interface MetricsTarget {
  client: CloudWatchClient
  namespace: string
  /** The Stage dimension of every datum. */
  stage: string
  logger: Logger
}

/** One PutMetricData with every count of the buffer (nothing when nothing was counted); never throws. */
export const publishMetrics = async (buffer: MetricsBuffer, target: MetricsTarget): Promise<void> => {
  const counts = publishedCounts(buffer)
  if (counts.length === 0) return
  const timestamp = new Date()
  const data: MetricDatum[] = counts.map(([name, value]) => ({
    MetricName: name,
    Value: value,
    Unit: 'Count',
    Timestamp: timestamp,
    Dimensions: [{ Name: 'Stage', Value: target.stage }],
  }))
  try {
    await target.client.send(
      new PutMetricDataCommand({
        Namespace: target.namespace,
        MetricData: data.slice(0, LIMITS.CLOUDWATCH_METRICS_PER_CALL),
      }),
    )
  } catch (err) {
    const emf = embeddedMetrics(counts, target.namespace, target.stage, timestamp)
    target.logger.warn({ err, metrics: Object.fromEntries(buffer.entries()), ...emf }, LOG.METRICS_NOT_PUBLISHED)
  }
}

/** Where writeEmbeddedMetrics writes: the process's stdout, or any stream (a test's). */
export type LineOut = Pick<NodeJS.WritableStream, 'write'> & NodeJS.EventEmitter

/**
 * METRICS_MODE=emf: every count of the buffer (the same as publishMetrics would send) as one EMF document on one line
 * of stdout, and no request (nothing when nothing was counted); never throws.
 *
 * Written straight to stdout, not through the logger (lib/runtime/logger.ts, pino): CloudWatch Logs extracts metrics
 * from a log event that is a JSON object with `_aws` at its top level, and a logger line is not only that document:
 * pino adds `level`, `time`, `name` and `msg` and the child loggers' bindings (request and correlation ids, which
 * could even collide with a dimension or metric name), its formatter rewrites the fields it censors, and LOG_LEVEL
 * can drop the line altogether (metrics must not depend on the log level). The line is one `write` of the whole JSON
 * and its newline, so it is one log event; when stdout (a pipe, asynchronous on Linux) is full, the flush waits for
 * it to drain, so the line has left the process before the invocation ends (Lambda freezes it then), and no other
 * write (pino's synchronous ones) can come in the middle of it.
 */
export const writeEmbeddedMetrics = async (
  buffer: MetricsBuffer,
  target: Pick<MetricsTarget, 'namespace' | 'stage'>,
  out: LineOut = process.stdout,
): Promise<void> => {
  const counts = publishedCounts(buffer)
  if (counts.length === 0) return
  const line = `${JSON.stringify(embeddedMetrics(counts, target.namespace, target.stage, new Date()))}\n`
  try {
    if (!out.write(line)) await once(out, 'drain')
  } catch {
    // stdout itself is gone: there is nowhere left to say so, and an order never fails for its metrics.
  }
}

type Json = Record<string, unknown>
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value)

/** Whether a parsed log line is a logger's line (pino's, with its `level`), as opposed to a document on its own. */
export const isLoggerLine = (entry: Record<string, unknown>): boolean => 'level' in entry

/**
 * The metrics CloudWatch Logs extracts from one log line in Embedded Metric Format, as PutMetricData calls (one per
 * namespace and LIMITS.CLOUDWATCH_METRICS_PER_CALL data): for each directive of `_aws.CloudWatchMetrics`, one datum
 * per metric and dimension set, its value the top-level member of the metric's name (a number, or an array of
 * numbers as `Values`), its dimensions' values the top-level members they name, the unit `None` where the directive
 * names none, the time `_aws.Timestamp`. A line that is not such a document (not JSON, no `_aws`, no numeric
 * Timestamp) gives none; so does a directive without a namespace or a dimension set naming a missing member, and a
 * metric whose member is not a number, as CloudWatch Logs leaves them out.
 */
export const extractEmbeddedMetrics = (line: string): PutMetricDataCommandInput[] => {
  if (!line.includes('"_aws"')) return []
  let doc: unknown
  try {
    doc = JSON.parse(line)
  } catch {
    return []
  }
  if (!isObject(doc) || !isObject(doc._aws) || !isNumber(doc._aws.Timestamp)) return []
  const { Timestamp, CloudWatchMetrics } = doc._aws
  if (!Array.isArray(CloudWatchMetrics)) return []
  const timestamp = new Date(Timestamp)
  const byNamespace = new Map<string, MetricDatum[]>()
  for (const directive of CloudWatchMetrics as unknown[]) {
    if (!isObject(directive) || typeof directive.Namespace !== 'string' || directive.Namespace === '') continue
    if (!Array.isArray(directive.Dimensions) || !Array.isArray(directive.Metrics)) continue
    const sets = (directive.Dimensions.length === 0 ? [[]] : directive.Dimensions) as unknown[]
    const dimensionSets = sets.map((set) =>
      Array.isArray(set) && set.every((name) => typeof name === 'string' && typeof doc[name] === 'string')
        ? (set as string[]).map((name) => ({ Name: name, Value: doc[name] as string }))
        : undefined,
    )
    const data = byNamespace.get(directive.Namespace) ?? []
    for (const metric of directive.Metrics as unknown[]) {
      if (!isObject(metric) || typeof metric.Name !== 'string') continue
      const value = doc[metric.Name]
      const values = isNumber(value)
        ? { Value: value }
        : Array.isArray(value) && value.length > 0 && value.every(isNumber)
          ? { Values: value }
          : undefined
      if (!values) continue
      for (const dimensions of dimensionSets) {
        if (!dimensions) continue
        data.push({
          MetricName: metric.Name,
          ...values,
          Unit: (typeof metric.Unit === 'string' ? metric.Unit : 'None') as StandardUnit,
          Timestamp: timestamp,
          ...(dimensions.length > 0 ? { Dimensions: dimensions } : {}),
          ...(metric.StorageResolution === 1 ? { StorageResolution: 1 } : {}),
        })
      }
    }
    byNamespace.set(directive.Namespace, data)
  }
  const calls: PutMetricDataCommandInput[] = []
  for (const [namespace, data] of byNamespace)
    for (let i = 0; i < data.length; i += LIMITS.CLOUDWATCH_METRICS_PER_CALL)
      calls.push({ Namespace: namespace, MetricData: data.slice(i, i + LIMITS.CLOUDWATCH_METRICS_PER_CALL) })
  return calls
}
