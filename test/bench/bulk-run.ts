/**
 * One bulk run, in a process of its own so that its peak RSS is its own. Prints one JSON line. Modes:
 * - `plan`: planRanges over the whole file on disk (decompressed if gzipped), as the validator's planning does;
 * - `ranges`: the file's ranges one after the other through validateFile, as one warm function would take their
 *   messages (each range read from its offset, or decompressed from the top and sliced when gzipped), against an SQS
 *   client whose network answers each SendMessageBatch after `latencyMs` (the SDK in full: serialisation, signing,
 *   MD5 checks); per-range seconds and calls;
 * - `parse`: every line read and validated (parseOrder), nothing sent: the intake's own cost per line.
 * Usage (by bulk.bench.ts): node --import=tsx test/bench/bulk-run.ts '{"mode":"ranges","file":…,"gzip":false,…}'
 */
import { createHash, randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { SNSClient } from '@aws-sdk/client-sns'
import { SQSClient } from '@aws-sdk/client-sqs'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { MetricsBuffer } from '../../lib/aws/metrics.ts'
import { jsonElements } from '../../lib/intake/json-elements.ts'
import { jsonlLines, type OrderLine } from '../../lib/intake/lines.ts'
import { gunzipped } from '../../lib/intake/read.ts'
import { PLAN_START, planRanges, sliceOf, type FileRange } from '../../lib/intake/ranges.ts'
import { validateFile } from '../../lib/intake/validate-file.ts'
import { orderIdFromS3 } from '../../lib/orders/order.ts'
import { parseOrder } from '../../lib/orders/validate.ts'
import { createLogger } from '../../lib/runtime/logger.ts'
import { benchConfig } from './fake-aws.ts'

const options = JSON.parse(process.argv[2] ?? '{}') as {
  mode: 'plan' | 'ranges' | 'parse'
  file: string
  kind: 'json' | 'jsonl'
  gzip: boolean
  latencyMs: number
  sendsInFlight: number
  rangeBytes: number
  maxLineBytes: number
}
const { mode, file, kind, gzip, latencyMs, sendsInFlight, rangeBytes, maxLineBytes } = options

const sends = { calls: 0, running: 0, most: 0 }
const handler = {
  handle: async (request: { body?: unknown }) => {
    sends.calls++
    sends.running++
    sends.most = Math.max(sends.most, sends.running)
    if (latencyMs > 0) await sleep(latencyMs)
    sends.running--
    const text =
      typeof request.body === 'string' ? request.body : Buffer.from(request.body as Uint8Array).toString('utf8')
    const { Entries } = JSON.parse(text) as { Entries: { Id: string; MessageBody: string }[] }
    const body = JSON.stringify({
      Successful: Entries.map((e) => ({
        Id: e.Id,
        MessageId: randomUUID(),
        MD5OfMessageBody: createHash('md5').update(e.MessageBody).digest('hex'),
      })),
      Failed: [],
    })
    return {
      response: { statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: Buffer.from(body) },
    }
  },
  updateHttpClientConfig: () => undefined,
  httpHandlerConfigs: () => ({}),
  destroy: () => undefined,
}
const credentials = { accessKeyId: 'AKIDBENCHMARK', secretAccessKey: 'bench-secret' }
const sqs = new SQSClient({
  region: 'eu-west-3',
  credentials,
  requestHandler: handler as never,
  useQueueUrlAsEndpoint: false,
})

const ref = { bucket: 'tp-orders-intake-bench', key: `raw/bulk.${kind}${gzip ? '.gz' : ''}`, versionId: 'v1' }

/** The file's (decompressed) bytes from `start` to `end`, as the validator reads a range. */
const bytesOf = (start = 0, end?: number): AsyncIterable<Buffer> => {
  const read = (from: number, to?: number) =>
    (async function* () {
      const stream = createReadStream(file, {
        highWaterMark: 64 * 1024,
        start: from,
        end: to === undefined ? undefined : to - 1,
      })
      for await (const chunk of stream) yield chunk as Buffer
    })()
  return gzip ? sliceOf(gunzipped(ref, read(0)), start, end) : read(start, end)
}

const linesOf = (range?: FileRange): AsyncIterable<OrderLine> => {
  const bytes = bytesOf(range?.start, range?.end)
  if (kind === 'jsonl') return jsonlLines(ref, bytes, maxLineBytes, range?.firstLine ?? 1)
  const start = range ? { offset: range.start, before: range.firstLine - 1 } : undefined
  return jsonElements(ref, bytes, maxLineBytes, start, range?.last ?? true)
}

const planAll = async (): Promise<FileRange[]> => {
  const ranges: FileRange[] = []
  for (let from = PLAN_START; ;) {
    const plan = await planRanges(kind, ref, bytesOf(from.start), from, { rangeBytes })
    ranges.push(...plan.ranges)
    if (!plan.next) return ranges
    from = plan.next
  }
}

const peakRssMB = () => process.resourceUsage().maxRSS / 1024
const started = performance.now()
const cpuStart = process.cpuUsage()
const cpuSeconds = () => {
  const cpu = process.cpuUsage(cpuStart)
  return (cpu.user + cpu.system) / 1e6
}

if (mode === 'plan') {
  const ranges = await planAll()
  const seconds = (performance.now() - started) / 1000
  console.log(JSON.stringify({ ranges: ranges.length, seconds, cpuSeconds: cpuSeconds(), peakRssMB: peakRssMB() }))
} else if (mode === 'parse') {
  const config = benchConfig(false)
  let lines = 0
  let valid = 0
  const receivedAt = new Date().toISOString()
  for await (const line of linesOf()) {
    lines++
    if (line.error) continue
    try {
      parseOrder(line.value, {
        defaultCurrency: config.defaultCurrency,
        maxOrderAmount: config.maxOrderAmount,
        receivedAt,
        bytes: line.bytes,
        structure: line.structure,
        assignOrderId: () => orderIdFromS3(ref.bucket, ref.key, ref.versionId, line.line),
      })
      valid++
    } catch {
      /* a reject: counted as a line */
    }
  }
  const seconds = (performance.now() - started) / 1000
  console.log(JSON.stringify({ lines, valid, seconds, cpuSeconds: cpuSeconds(), peakRssMB: peakRssMB() }))
} else {
  const ranges = await planAll()
  const deps = {
    config: { ...benchConfig(false), sendsInFlight },
    sqs,
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-3', credentials })),
    sns: new SNSClient({ region: 'eu-west-3', credentials }),
    metrics: new MetricsBuffer(),
    log: createLogger({ level: 'silent' }),
    now: () => new Date(),
  }
  const runs: { seconds: number; calls: number; lines: number }[] = []
  let accepted = 0
  let rejected = 0
  for (const range of ranges) {
    const calls = sends.calls
    const t0 = performance.now()
    const summary = await validateFile({ ...ref, range }, linesOf(range), deps)
    runs.push({
      seconds: (performance.now() - t0) / 1000,
      calls: sends.calls - calls,
      lines: summary.accepted + summary.rejected,
    })
    accepted += summary.accepted
    rejected += summary.rejected
  }
  console.log(
    JSON.stringify({
      accepted,
      rejected,
      ranges: runs,
      seconds: (performance.now() - started) / 1000,
      cpuSeconds: cpuSeconds(),
      peakRssMB: peakRssMB(),
      calls: sends.calls,
      maxSendsInFlight: sends.most,
    }),
  )
}
