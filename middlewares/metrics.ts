/**
 * Metric flushing: `before` gives the invocation its own buffer (`context.metrics`), and one flush carries every
 * count in `after` and in `onError` alike (the engine: lib/aws/metrics.ts), by `mode` (METRICS_MODE):
 * - `api` (the default): one PutMetricData. The client is `opts.client`, or one built on first flush.
 * - `emf`: one Embedded Metric Format line on stdout, which CloudWatch Logs turns into the same metrics; no request,
 *   and no CloudWatch client is ever built (`opts.client` is not used).
 * A CloudWatch failure is logged and never fails, or re-runs, an order. Use it outermost, so that it flushes last,
 * whatever happened inside.
 */
import type { MiddlewareObj, Request } from '@middy/core'
import type { Context } from 'aws-lambda'
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import { cloudWatchClient } from '../lib/aws/clients.ts'
import { MetricsBuffer, publishMetrics, writeEmbeddedMetrics, type MetricsTarget } from '../lib/aws/metrics.ts'
import { METRICS_MODES, type MetricsMode } from '../lib/runtime/config.ts'
import { logger as baseLogger, type Logger } from '../lib/runtime/logger.ts'

export type MetricsContext = Context & { metrics: MetricsBuffer }

const defaults = {
  namespace: 'OrderPipeline',
  stage: 'dev',
  mode: 'api' as MetricsMode,
  client: undefined as CloudWatchClient | undefined,
  logger: baseLogger as Logger,
}

type MetricsRequest = Request<unknown, unknown, Error, MetricsContext>

/** @example .use(flushMetrics({ namespace: config.metricsNamespace, stage: config.stage, mode: config.metricsMode, client })) */
export const flushMetrics = (
  opts: Partial<typeof defaults> = {},
): MiddlewareObj<unknown, unknown, Error, MetricsContext> => {
  // An option given as undefined (a configuration without metricsMode) keeps its default.
  const options = { ...defaults, ...opts, mode: opts.mode ?? defaults.mode }
  if (!options.namespace) throw new TypeError('flushMetrics: namespace is required')
  if (!METRICS_MODES.includes(options.mode))
    throw new TypeError(`flushMetrics: mode must be ${METRICS_MODES.join(' or ')}, got "${String(options.mode)}"`)
  let target: MetricsTarget | undefined
  const targetOf = (): MetricsTarget =>
    (target ??= {
      client: options.client ?? cloudWatchClient(),
      namespace: options.namespace,
      stage: options.stage,
      logger: options.logger,
    })
  const flush =
    options.mode === 'emf'
      ? async (buffer: MetricsBuffer) => writeEmbeddedMetrics(buffer, options)
      : async (buffer: MetricsBuffer) => publishMetrics(buffer, targetOf())

  const flushMetricsBefore = (request: MetricsRequest): void => {
    request.context.metrics = new MetricsBuffer()
  }
  const flushMetricsAfterOrError = async (request: MetricsRequest): Promise<void> => {
    const buffer = request.context.metrics as MetricsBuffer | undefined
    if (buffer) await flush(buffer)
  }

  return { before: flushMetricsBefore, after: flushMetricsAfterOrError, onError: flushMetricsAfterOrError }
}
