/**
 * One bulk run, in a process of its own so that its peak RSS is its own: validateFile over a JSONL file on disk
 * (gzipped or not), streamed as the validator streams an S3 Body, against an SQS client whose network answers each
 * SendMessageBatch after `latencyMs` (the SDK runs in full: serialisation, signing, MD5 checks). Prints one JSON line.
 * Usage (by bulk.bench.ts): node --import=tsx test/bench/bulk-run.ts '{"file":…,"gzip":false,"latencyMs":0,"sendsInFlight":8}'
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
import { jsonlLines } from '../../lib/intake/lines.ts'
import { gunzipped } from '../../lib/intake/read.ts'
import { validateFile } from '../../lib/intake/validate-file.ts'
import { createLogger } from '../../lib/runtime/logger.ts'
import { benchConfig } from './fake-aws.ts'

const { file, gzip, latencyMs, sendsInFlight } = JSON.parse(process.argv[2] ?? '{}') as {
  file: string
  gzip: boolean
  latencyMs: number
  sendsInFlight: number
}

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

const ref = { bucket: 'tp-orders-intake-bench', key: gzip ? 'raw/bulk.jsonl.gz' : 'raw/bulk.jsonl', versionId: 'v1' }
async function* chunks() {
  for await (const chunk of createReadStream(file, { highWaterMark: 64 * 1024 })) yield chunk as Buffer
}
const bytes = gzip ? gunzipped(ref, chunks()) : chunks()

const started = performance.now()
const cpuStart = process.cpuUsage()
const summary = await validateFile(ref, jsonlLines(ref, bytes, 128 * 1024), {
  config: { ...benchConfig(false), sendsInFlight },
  sqs,
  dynamo: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-3', credentials })),
  sns: new SNSClient({ region: 'eu-west-3', credentials }),
  metrics: new MetricsBuffer(),
  log: createLogger({ level: 'silent' }),
  now: () => new Date(),
})
const seconds = (performance.now() - started) / 1000
const cpu = process.cpuUsage(cpuStart)
console.log(
  JSON.stringify({
    ...summary,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    calls: sends.calls,
    maxSendsInFlight: sends.most,
  }),
)
