/**
 * What the operations commands and the demo read about a deployment: the last hour of a metric, the outcome
 * metrics, and a queue's depth with the age of its oldest message.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { GetMetricStatisticsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { describeMessage } from '../../lib/aws/dlq.ts'
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

/**
 * Counts of the last hour that the functions logged as Embedded Metric Format because PutMetricData failed, read
 * from the local runner's log files. On AWS, CloudWatch Logs turns those lines into metrics itself, so only the local
 * stack (where the emulator does not) reads them here: `status --log-dir` and the demo.
 */
export const loggedMetrics = (
  logDir: string,
  namespace: string,
  stage: string,
  now = Date.now(),
): Map<string, number> => {
  const sums = new Map<string, number>()
  if (!existsSync(logDir)) return sums
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
      const at = entry._aws?.Timestamp ?? 0
      if (entry.Stage !== stage || at < now - 3_600_000 || at > now + 60_000) continue
      for (const directive of entry._aws?.CloudWatchMetrics ?? []) {
        if (directive.Namespace !== namespace) continue
        for (const { Name } of directive.Metrics ?? []) {
          const value = entry[Name]
          if (typeof value === 'number') sums.set(Name, (sums.get(Name) ?? 0) + value)
        }
      }
    }
  }
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
  if (oldest === undefined && dlq && waiting > 0) {
    const peeked = (await peekAll(sqs, url, 100)).map(describeMessage)
    oldest = Math.max(...peeked.map((m) => (Date.now() - m.parkedAt.getTime()) / 1000))
  }
  return {
    queue: name,
    waiting,
    'in flight': Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    'oldest message': oldest === undefined ? (waiting === 0 ? '-' : 'n/a') : formatAge(oldest * 1000),
  }
}
