/**
 * Metric flushing: `before` gives the invocation its own buffer (`context.metrics`), and one PutMetricData carries
 * every count in `after` and in `onError` alike (the engine: lib/aws/metrics.ts). A CloudWatch failure is logged and
 * never fails, or re-runs, an order. The client is `opts.client`, or one built on first flush. Use it outermost, so that it flushes last, whatever happened inside.
 */
import type { MiddlewareObj, Request } from '@middy/core'
import type { Context } from 'aws-lambda'
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import { cloudWatchClient } from '../lib/aws/clients.ts'
import { MetricsBuffer, publishMetrics, type MetricsTarget } from '../lib/aws/metrics.ts'
import { logger as baseLogger, type Logger } from '../lib/runtime/logger.ts'

export type MetricsContext = Context & { metrics: MetricsBuffer }

const defaults = {
  namespace: 'OrderPipeline',
  stage: 'dev',
  client: undefined as CloudWatchClient | undefined,
  logger: baseLogger as Logger,
}

type MetricsRequest = Request<unknown, unknown, Error, MetricsContext>

/** @example .use(flushMetrics({ namespace: config.metricsNamespace, stage: config.stage, client })) */
export const flushMetrics = (
  opts: Partial<typeof defaults> = {},
): MiddlewareObj<unknown, unknown, Error, MetricsContext> => {
  const options = { ...defaults, ...opts }
  if (!options.namespace) throw new TypeError('flushMetrics: namespace is required')
  let target: MetricsTarget | undefined
  const targetOf = (): MetricsTarget =>
    (target ??= {
      client: options.client ?? cloudWatchClient(),
      namespace: options.namespace,
      stage: options.stage,
      logger: options.logger,
    })

  const flushMetricsBefore = (request: MetricsRequest): void => {
    request.context.metrics = new MetricsBuffer()
  }
  const flushMetricsAfterOrError = async (request: MetricsRequest): Promise<void> => {
    const buffer = request.context.metrics as MetricsBuffer | undefined
    if (buffer) await publishMetrics(buffer, targetOf())
  }

  return { before: flushMetricsBefore, after: flushMetricsAfterOrError, onError: flushMetricsAfterOrError }
}
