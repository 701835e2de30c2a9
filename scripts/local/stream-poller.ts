/**
 * Lambda's DynamoDB stream event source, played locally: reads a table's stream from its oldest record (the local
 * stack starts with an empty table), keeps only the records the mapping's filter criteria match, and hands them to
 * the function in batches, in stream order. A batch the function fails is given again, as Lambda retries it, up to
 * `maxRetries` times (the mapping's MaximumRetryAttempts; from its first failed record when the function reports
 * batch item failures), 0.2 s after the first failure and twice as long after each next one, 5 s at most; then it is
 * reported and skipped (Lambda would send its position to the on-failure destination).
 *
 * After a poll that finds nothing, a shard's iterator is asked for again, after the last sequence number read: moto
 * 5.2.1 replaces a table (and its stream's shard) with a copy when a transaction fails, and an iterator it gave
 * before then keeps reading the replaced shard, which gets no more records. On DynamoDB this costs one
 * GetShardIterator call per idle poll and reads the same records.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
  type _Record,
} from '@aws-sdk/client-dynamodb-streams'
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda'

export interface StreamPollerOptions {
  streams: DynamoDBStreamsClient
  streamArn: string
  region: string
  batchSize: number
  /** The mapping's filter patterns (FilterCriteria.Filters[].Pattern), JSON; none: every record. */
  patterns?: string[]
  maxRetries?: number
  invoke: (event: DynamoDBStreamEvent) => Promise<unknown>
  onBatch?: (report: { received: number; delivered: number; failed: number; error?: Error }) => void
}

type Pattern = { [key: string]: Pattern | unknown[] }

/** Whether a value matches one rule of an event pattern's array: a literal, or `{"prefix": "…"}`. */
const matchesRule = (value: unknown, rule: unknown): boolean => {
  if (rule !== null && typeof rule === 'object' && 'prefix' in rule) {
    return typeof value === 'string' && value.startsWith(String((rule as { prefix: unknown }).prefix))
  }
  return value === rule
}

/** Lambda's event filtering, for the parts of the pattern syntax the templates use (literals and prefixes). */
export const matchesPattern = (event: unknown, pattern: Pattern): boolean =>
  Object.entries(pattern).every(([key, expected]) => {
    const value = (event as Record<string, unknown> | null | undefined)?.[key]
    if (Array.isArray(expected)) return expected.some((rule) => matchesRule(value, rule))
    return value !== null && typeof value === 'object' && matchesPattern(value, expected as Pattern)
  })

/** The record Lambda builds from a stream record (times in seconds, as Lambda gives them). */
export const toStreamRecord = (record: _Record, streamArn: string, region: string): DynamoDBRecord => {
  const { dynamodb } = record
  const created = dynamodb?.ApproximateCreationDateTime
  return {
    eventID: record.eventID,
    eventName: record.eventName as DynamoDBRecord['eventName'],
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(dynamodb as unknown as DynamoDBRecord['dynamodb']),
      ApproximateCreationDateTime:
        created instanceof Date ? Math.floor(created.getTime() / 1000) : (created as number | undefined),
    },
  }
}

/** Polls until `signal` aborts. */
export const pollStream = async (options: StreamPollerOptions, signal: AbortSignal): Promise<void> => {
  const { streams, streamArn } = options
  const patterns = (options.patterns ?? []).map((p) => JSON.parse(p) as Pattern)
  const wanted = (record: DynamoDBRecord) => patterns.length === 0 || patterns.some((p) => matchesPattern(record, p))
  const iterators = new Map<string, string | undefined>() // shard → its next iterator (undefined: closed)
  const lastRead = new Map<string, string>() // shard → the sequence number of the last record read
  const iteratorOf = async (shard: string) => {
    const after = lastRead.get(shard)
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shard,
        ...(after === undefined
          ? { ShardIteratorType: 'TRIM_HORIZON' }
          : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }),
      }),
      { abortSignal: signal },
    )
    return ShardIterator
  }
  while (!signal.aborted) {
    try {
      const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }), {
        abortSignal: signal,
      })
      for (const shard of StreamDescription?.Shards ?? []) {
        if (!iterators.has(shard.ShardId!)) iterators.set(shard.ShardId!, await iteratorOf(shard.ShardId!))
      }
      let received = 0
      for (const [shard, iterator] of iterators) {
        if (iterator === undefined) continue
        const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: options.batchSize }), {
          abortSignal: signal,
        })
        const read = page.Records ?? []
        const last = read.at(-1)?.dynamodb?.SequenceNumber
        if (last !== undefined) lastRead.set(shard, last)
        // Nothing new: a fresh iterator for the next poll (see above); a closed shard stays closed.
        iterators.set(
          shard,
          read.length === 0 && page.NextShardIterator !== undefined ? await iteratorOf(shard) : page.NextShardIterator,
        )
        const records = read.map((r) => toStreamRecord(r, streamArn, options.region))
        received += records.length
        const batch = records.filter(wanted)
        if (batch.length > 0) await deliver(options, batch, signal)
      }
      if (received === 0) await sleep(300, undefined, { signal }).catch(() => undefined)
    } catch (err) {
      if (signal.aborted) return
      options.onBatch?.({ received: 0, delivered: 0, failed: 0, error: err as Error })
      await sleep(1000, undefined, { signal }).catch(() => undefined)
    }
  }
}

/**
 * The record a stream batch's response names as failed first (ReportBatchItemFailures: Lambda retries from the
 * lowest failed sequence number), or undefined when all succeeded; an identifier not in the batch fails it whole.
 */
export const firstFailed = (response: unknown, batch: DynamoDBRecord[]): number | undefined => {
  const failures = (response as { batchItemFailures?: { itemIdentifier?: string }[] } | null | undefined)
    ?.batchItemFailures
  if (!Array.isArray(failures) || failures.length === 0) return undefined
  const indexes = failures.map((f) => batch.findIndex((r) => r.dynamodb?.SequenceNumber === f.itemIdentifier))
  return indexes.some((i) => i < 0) ? 0 : Math.min(...indexes)
}

const deliver = async (options: StreamPollerOptions, batch: DynamoDBRecord[], signal: AbortSignal): Promise<void> => {
  const maxRetries = options.maxRetries ?? 3
  let pending = batch
  for (let attempt = 0; ; attempt++) {
    let error: Error | undefined
    try {
      const from = firstFailed(await options.invoke({ Records: pending }), pending)
      if (from === undefined) {
        options.onBatch?.({ received: pending.length, delivered: pending.length, failed: 0 })
        return
      }
      options.onBatch?.({ received: pending.length, delivered: from, failed: pending.length - from })
      pending = pending.slice(from)
      error = new Error(`${pending.length} records reported failed`)
    } catch (err) {
      error = err as Error
    }
    if (attempt >= maxRetries || signal.aborted) {
      options.onBatch?.({ received: pending.length, delivered: 0, failed: pending.length, error })
      return
    }
    await sleep(Math.min(200 * 2 ** attempt, 5000), undefined, { signal }).catch(() => undefined)
  }
}
