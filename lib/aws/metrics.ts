/**
 * CloudWatch metrics of one invocation: handlers count outcomes into a buffer, and one PutMetricData carries them
 * all (the flushMetrics middleware calls it once, whatever happens). A CloudWatch failure is logged with the counts
 * and never fails, or re-runs, an order.
 */
import { PutMetricDataCommand, type CloudWatchClient, type MetricDatum } from '@aws-sdk/client-cloudwatch'
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

export interface MetricsTarget {
  client: CloudWatchClient
  namespace: string
  /** The Stage dimension of every datum. */
  stage: string
  logger: Logger
}

/** One PutMetricData with every count of the buffer (nothing when nothing was counted); never throws. */
export const publishMetrics = async (buffer: MetricsBuffer, target: MetricsTarget): Promise<void> => {
  if (buffer.empty) return
  const timestamp = new Date()
  const names = new Set<MetricName>([...ALWAYS, ...buffer.entries().map(([name]) => name)])
  const data: MetricDatum[] = [...names].map((name) => ({
    MetricName: name,
    Value: buffer.get(name),
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
    target.logger.warn({ err, metrics: Object.fromEntries(buffer.entries()) }, LOG.METRICS_NOT_PUBLISHED)
  }
}
