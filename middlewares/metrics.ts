/**
 * Metric flushing: handlers count outcomes into a per-invocation buffer (`context.metrics`); one PutMetricData
 * carries them all, in `after` and in `onError` alike. A CloudWatch failure is logged and never fails, or re-runs,
 * an order.
 */
import type { MiddlewareObj, Request } from '@middy/core'
import type { Context } from 'aws-lambda'
import { PutMetricDataCommand, type CloudWatchClient, type MetricDatum } from '@aws-sdk/client-cloudwatch'
import { cloudWatchClient } from '../lib/aws/clients.ts'
import { LIMITS, METRIC, type MetricName } from '../lib/orders/constants.ts'
import { logger as baseLogger, type Logger } from '../lib/runtime/logger.ts'

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

export type MetricsContext = Context & { metrics: MetricsBuffer }

/** Published whenever anything was counted, zeros included, so that rates have a denominator. */
const ALWAYS = [METRIC.PROCESSED, METRIC.REJECTED, METRIC.DUPLICATE] as const

const defaults = {
  namespace: 'OrderPipeline',
  stage: 'dev',
  client: undefined as CloudWatchClient | undefined,
  logger: baseLogger as Logger,
}

const FLUSH = 'orders.flushMetrics'

/** @example .use(flushMetrics({ namespace: config.metricsNamespace, stage: config.stage })) */
export const flushMetrics = (
  opts: Partial<typeof defaults> = {},
): MiddlewareObj<unknown, unknown, Error, MetricsContext> => {
  const options = { ...defaults, ...opts }
  if (!options.namespace) throw new TypeError('flushMetrics: namespace is required')
  const client = options.client ?? cloudWatchClient()

  const flush = async (buffer: MetricsBuffer): Promise<void> => {
    if (buffer.empty) return
    const timestamp = new Date()
    const names = new Set<MetricName>([...ALWAYS, ...buffer.entries().map(([name]) => name)])
    const data: MetricDatum[] = [...names].map((name) => ({
      MetricName: name,
      Value: buffer.get(name),
      Unit: 'Count',
      Timestamp: timestamp,
      Dimensions: [{ Name: 'Stage', Value: options.stage }],
    }))
    try {
      await client.send(
        new PutMetricDataCommand({
          Namespace: options.namespace,
          MetricData: data.slice(0, LIMITS.CLOUDWATCH_METRICS_PER_CALL),
        }),
      )
    } catch (err) {
      options.logger.warn({ err, metrics: Object.fromEntries(buffer.entries()) }, 'metrics not published')
    }
  }

  const flushMetricsBefore = (request: Request<unknown, unknown, Error, MetricsContext>): void => {
    const buffer = new MetricsBuffer()
    request.context.metrics = buffer
    const internal = request.internal as Record<string, unknown>
    let flushed = false
    // Parked in `internal` so that a middleware that returns early can flush too (Powertools' cleanup pattern).
    internal[FLUSH] = async () => {
      if (flushed) return
      flushed = true
      await flush(buffer)
    }
  }
  const flushMetricsAfterOrError = async (request: Request<unknown, unknown, Error, MetricsContext>): Promise<void> => {
    await ((request.internal as Record<string, unknown>)[FLUSH] as (() => Promise<void>) | undefined)?.()
  }

  return { before: flushMetricsBefore, after: flushMetricsAfterOrError, onError: flushMetricsAfterOrError }
}
