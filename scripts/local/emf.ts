/**
 * CloudWatch Logs' share of the local stack: on AWS, CloudWatch Logs turns every log line in Embedded Metric Format
 * into metrics; the emulator reads no logs, so the local runner hands each line its functions write here, and the
 * EMF documents a function wrote on their own (METRICS_MODE=emf, lib/aws/metrics.ts writeEmbeddedMetrics) become
 * the PutMetricData calls they stand for, sent to the emulator. `npm run status`, the console and the demo then
 * read the same figures from CloudWatch in both modes.
 *
 * A logger line that carries an EMF document (in api mode, the "metrics not published" line of a failed
 * PutMetricData) is left alone: the operations commands read those from the runner's log files themselves
 * (scripts/ops/observe.ts, `status --log-dir`), and replaying them too would count them twice. Every line pino
 * writes has a `level`; a document written on its own has none.
 */
import { PutMetricDataCommand, type CloudWatchClient, type PutMetricDataCommandInput } from '@aws-sdk/client-cloudwatch'
import { extractEmbeddedMetrics, isLoggerLine } from '../../lib/aws/metrics.ts'

/**
 * The PutMetricData calls one line of a function's output stands for: those of an EMF document written on its own
 * line, none for anything else (a logger line, EMF-carrying or not; a line that is not JSON).
 */
export const metricCallsOf = (line: string): PutMetricDataCommandInput[] => {
  if (!line.includes('"_aws"')) return []
  let entry: unknown
  try {
    entry = JSON.parse(line)
  } catch {
    return []
  }
  if (typeof entry !== 'object' || entry === null || isLoggerLine(entry as Record<string, unknown>)) return []
  return extractEmbeddedMetrics(line)
}

export interface EmfForwarder {
  /** One line function `fn` wrote: its EMF document, if it is one, is sent on as PutMetricData. */
  line: (fn: string, line: string) => void
  /** Resolves once every call sent so far has been answered (or has failed, which `onError` was told). */
  settled: () => Promise<void>
}

/** Sends the functions' EMF lines to `cloudWatch` (the emulator's endpoint) as they come. */
export const emfForwarder = (
  cloudWatch: Pick<CloudWatchClient, 'send'>,
  onError: (fn: string, err: unknown) => void = (fn, err) =>
    console.error(`local runner: the EMF metrics of ${fn} were not put: ${(err as Error).message}`),
): EmfForwarder => {
  const pending = new Set<Promise<void>>()
  return {
    line: (fn, line) => {
      for (const input of metricCallsOf(line)) {
        const call = cloudWatch
          .send(new PutMetricDataCommand(input))
          .then(
            () => undefined,
            (err: unknown) => onError(fn, err),
          )
          .finally(() => pending.delete(call))
        pending.add(call)
      }
    },
    settled: async () => {
      await Promise.all([...pending])
    },
  }
}
