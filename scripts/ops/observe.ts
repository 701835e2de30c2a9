/**
 * What the operations commands and the demo read about a deployment: the last hour of a metric, the outcome
 * metrics, and a queue's depth with the age of its oldest message.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { GetMetricStatisticsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { describeMessage } from '../../lib/aws/dlq.ts'
import { isLoggerLine } from '../../lib/aws/metrics.ts'
import { METRIC, type MetricName } from '../../lib/orders/outcomes.ts'
import { peekAll } from './dlq.ts'
import { formatAge } from '../format.ts'

/** A metric over the last hour: its sum (or maximum); undefined when CloudWatch has no datapoint. */
export const lastHour = async (
  cw: CloudWatchClient,
  namespace: string,
  metric: string,
  dimensions: { Name: string; Value: string }[],
  statistic: 'Sum' | 'Maximum' = 'Sum',
) => {
  const { Datapoints = [] } = await cw.send(
    new GetMetricStatisticsCommand({
      Namespace: namespace,
      MetricName: metric,
      Dimensions: dimensions,
      Statistics: [statistic],
      Period: 3600,
      StartTime: new Date(Date.now() - 3_600_000),
      EndTime: new Date(Date.now() + 60_000),
    }),
  )
  if (Datapoints.length === 0) return undefined
  return statistic === 'Sum'
    ? Datapoints.reduce((a, p) => a + (p.Sum ?? 0), 0)
    : Math.max(...Datapoints.map((p) => p.Maximum ?? 0))
}

/** One value of a metric that a function logged as Embedded Metric Format. */
interface LoggedPoint {
  name: string
  value: number
  at: number
}

/**
 * The metric values of the last hour that the functions logged as Embedded Metric Format because PutMetricData
 * failed, read from the local runner's log files. On AWS, CloudWatch Logs turns those lines into metrics itself, so
 * only the local stack (where the emulator does not) reads them here: `status --log-dir`, the console and the demo.
 * Only logger lines: the EMF documents of METRICS_MODE=emf, written on their own, are already on the emulator (the
 * runner put them there as they came, scripts/local/emf.ts), and counting them here too would count them twice.
 */
const loggedPoints = (logDir: string, namespace: string, stage: string, now: number): LoggedPoint[] => {
  const points: LoggedPoint[] = []
  if (!existsSync(logDir)) return points
  for (const file of readdirSync(logDir).filter((f) => f.endsWith('.log'))) {
    for (const line of readFileSync(join(logDir, file), 'utf8').split('\n')) {
      if (!line.includes('"_aws"')) continue
      let entry: {
        _aws?: { Timestamp?: number; CloudWatchMetrics?: { Namespace?: string; Metrics?: { Name: string }[] }[] }
        Stage?: unknown
      } & Record<string, unknown>
      try {
        entry = JSON.parse(line) as typeof entry
      } catch {
        continue
      }
      if (typeof entry !== 'object' || entry === null || !isLoggerLine(entry)) continue
      const at = entry._aws?.Timestamp ?? 0
      if (entry.Stage !== stage || at < now - 3_600_000 || at > now + 60_000) continue
      for (const directive of entry._aws?.CloudWatchMetrics ?? []) {
        if (directive.Namespace !== namespace) continue
        for (const { Name } of directive.Metrics ?? []) {
          const value = entry[Name]
          if (typeof value === 'number') points.push({ name: Name, value, at })
        }
      }
    }
  }
  return points
}

/** The sums of the last hour's logged metric values (see loggedPoints), by metric. */
export const loggedMetrics = (
  logDir: string,
  namespace: string,
  stage: string,
  now = Date.now(),
): Map<string, number> => {
  const sums = new Map<string, number>()
  for (const { name, value } of loggedPoints(logDir, namespace, stage, now))
    sums.set(name, (sums.get(name) ?? 0) + value)
  return sums
}

/** The outcome metrics of the last hour, as table rows; with a local log folder, what was logged as EMF too. */
export const outcomeMetrics = async (
  cw: CloudWatchClient,
  namespace: string,
  stage: string,
  logDir?: string,
  metrics: readonly MetricName[] = [
    METRIC.ACCEPTED,
    METRIC.PROCESSED,
    METRIC.REJECTED,
    METRIC.DUPLICATE,
    METRIC.PENDING_STOCK,
  ],
) => {
  const logged = logDir ? loggedMetrics(logDir, namespace, stage) : new Map<string, number>()
  return Promise.all(
    metrics.map(async (metric) => ({
      metric,
      'last hour':
        ((await lastHour(cw, namespace, metric, [{ Name: 'Stage', Value: stage }])) ?? 0) + (logged.get(metric) ?? 0),
    })),
  )
}

/** Depth and the age of the oldest message: from CloudWatch, else (DLQs only: peeking never harms them) from the messages. */
export const queueStatus = async (sqs: SQSClient, cw: CloudWatchClient, name: string, url: string, dlq: boolean) => {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  )
  const waiting = Number(Attributes.ApproximateNumberOfMessages ?? 0)
  let oldest = await lastHour(
    cw,
    'AWS/SQS',
    'ApproximateAgeOfOldestMessage',
    [{ Name: 'QueueName', Value: url.split('/').pop()! }],
    'Maximum',
  )
  // A DLQ's age from its messages when CloudWatch has none (or none yet: an emulator answers 0): peeking is harmless.
  if (!oldest && dlq && waiting > 0) {
    const peeked = (await peekAll(sqs, url, 100)).map(describeMessage)
    if (peeked.length > 0) oldest = Math.max(...peeked.map((m) => (Date.now() - m.parkedAt.getTime()) / 1000))
  }
  return {
    queue: name,
    waiting,
    'in flight': Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    'oldest message': oldest === undefined ? (waiting === 0 ? '-' : 'n/a') : formatAge(oldest * 1000),
  }
}

/** The metrics the console charts per minute: the outcomes, and the workflow's where it runs. */
export const CHARTED_METRICS: readonly MetricName[] = [
  METRIC.ACCEPTED,
  METRIC.PROCESSED,
  METRIC.REJECTED,
  METRIC.DUPLICATE,
  METRIC.PENDING_STOCK,
  METRIC.PAYMENTS_SUCCEEDED,
  METRIC.PAYMENTS_FAILED,
]

export interface MetricSeries {
  /** The start of each minute of the last hour, oldest first (ISO 8601). */
  minutes: string[]
  /** Per metric, its sum in each of those minutes. */
  series: Record<string, number[]>
}

/**
 * Each metric's sum per minute over the last hour (60 one-minute periods ending with the current minute), from
 * CloudWatch and, with a local log folder, from the values logged as EMF.
 */
export const metricsPerMinute = async (
  cw: CloudWatchClient,
  namespace: string,
  stage: string,
  logDir?: string,
  metrics: readonly MetricName[] = CHARTED_METRICS,
  now = Date.now(),
): Promise<MetricSeries> => {
  const first = Math.floor(now / 60_000) * 60_000 - 59 * 60_000
  const minutes = Array.from({ length: 60 }, (_, i) => first + i * 60_000)
  const slot = (at: number) => Math.floor((at - first) / 60_000)
  const series: Record<string, number[]> = Object.fromEntries(metrics.map((m) => [m, minutes.map(() => 0)]))
  await Promise.all(
    metrics.map(async (metric) => {
      const { Datapoints = [] } = await cw.send(
        new GetMetricStatisticsCommand({
          Namespace: namespace,
          MetricName: metric,
          Dimensions: [{ Name: 'Stage', Value: stage }],
          Statistics: ['Sum'],
          Period: 60,
          StartTime: new Date(first),
          EndTime: new Date(first + 60 * 60_000),
        }),
      )
      for (const p of Datapoints) {
        const i = slot(p.Timestamp?.getTime() ?? 0)
        if (i >= 0 && i < 60) series[metric]![i]! += p.Sum ?? 0
      }
    }),
  )
  for (const p of logDir ? loggedPoints(logDir, namespace, stage, now) : []) {
    const i = slot(p.at)
    if (series[p.name] && i >= 0 && i < 60) series[p.name]![i]! += p.value
  }
  return { minutes: minutes.map((m) => new Date(m).toISOString()), series }
}
