/**
 * CloudWatch metrics of one invocation: handlers count outcomes into a buffer, and one PutMetricData carries them
 * all (the flushMetrics middleware calls it once, whatever happens). A CloudWatch failure never fails, or re-runs,
 * an order: the counts go to the log as one line in CloudWatch Embedded Metric Format (EMF), from which CloudWatch
 * Logs still makes the same metrics, and that line's message ("metrics not published") is what the functions
 * stack's metric filters count for the MetricsNotPublished alarm.
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
  if (buffer.empty) return
  const timestamp = new Date()
  const names = new Set<MetricName>([...ALWAYS, ...buffer.entries().map(([name]) => name)])
  const counts = [...names].map((name): [MetricName, number] => [name, buffer.get(name)])
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
    const emf = embeddedMetrics(counts, target.namespace, target.stage, timestamp)
    target.logger.warn({ err, metrics: Object.fromEntries(buffer.entries()), ...emf }, LOG.METRICS_NOT_PUBLISHED)
  }
}
