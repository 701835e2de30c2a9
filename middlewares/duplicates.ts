/**
 * Duplicate detection: the conditional write is the detector. An order is written only if its id is new
 * (`attribute_not_exists(pk)`); when the id exists, DynamoDB returns the stored record
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`) and its hash decides: same content → DUPLICATE, nothing written;
 * other content → ConflictError. No read on the happy path. Records with the same order id in one invocation run
 * one after the other; the rest run concurrently.
 */
import type { MiddlewareObj, Request } from '@middy/core'
import type { Context } from 'aws-lambda'
import {
  PutCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb'
import { unmarshall } from '@aws-sdk/util-dynamodb'
import { dynamoClient } from '../lib/aws/clients.ts'
import { ConflictError, OrderError, TransientError } from '../lib/orders/errors.ts'

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number]

export interface WriteOnceRequest {
  /** The record to create: carries pk, sk, order_id and hash. */
  item: { pk: string; sk: string; order_id: string; hash: string } & Record<string, unknown>
  /** Actions that must succeed in the same transaction (stock reservations). */
  with?: TransactItem[]
  /** Makes a retried transaction idempotent for 10 minutes (TransactWriteItems ClientRequestToken). */
  token?: string
}

/** Conditions of `with` actions failed (the order's own condition did not): their indexes in `with`. */
export class ConditionsFailedError extends OrderError {
  override readonly name = 'ConditionsFailedError'
  readonly permanent = false
  readonly indexes: number[]
  constructor(indexes: number[], options?: ErrorOptions) {
    super(`Conditions failed on actions ${indexes.join(', ')}`, options)
    this.indexes = indexes
  }
}

export interface DuplicateDetector {
  /** Writes the record once. @returns PROCESSED when written, DUPLICATE when the same content is stored. @throws ConflictError */
  writeOnce: (request: WriteOnceRequest) => Promise<'PROCESSED' | 'DUPLICATE'>
  /** Runs `task` after every earlier task of the same key in this invocation has settled. */
  exclusive: <T>(key: string, task: () => Promise<T>) => Promise<T>
}

export type DuplicatesContext = Context & { duplicates: DuplicateDetector }

const defaults = {
  tableName: '',
  client: undefined as DynamoDBDocumentClient | undefined,
}

const TRANSIENT_REASONS = new Set([
  'TransactionConflict',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
  'InternalServerError',
])

type RawItem = Record<string, unknown>
/** The DocumentClient does not unmarshall the item returned with a failed condition: do it here (both shapes accepted). */
const storedItem = (raw: RawItem | undefined): RawItem | undefined => {
  if (!raw) return undefined
  const hash = raw.hash as unknown
  return typeof hash === 'object' && hash !== null && 'S' in hash
    ? unmarshall(raw as Parameters<typeof unmarshall>[0])
    : raw
}

/** @example .use(detectDuplicates({ tableName: config.ordersTable })) then `context.duplicates.writeOnce(...)` */
export const detectDuplicates = (
  opts: Partial<typeof defaults> = {},
): MiddlewareObj<unknown, unknown, Error, DuplicatesContext> => {
  const options = { ...defaults, ...opts }
  if (!options.tableName) throw new TypeError('detectDuplicates: tableName is required')
  const client = options.client ?? dynamoClient()
  const put = (item: WriteOnceRequest['item']) => ({
    TableName: options.tableName,
    Item: item,
    ConditionExpression: 'attribute_not_exists(pk)',
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  })

  const compare = (item: WriteOnceRequest['item'], raw: RawItem | undefined, cause: unknown): 'DUPLICATE' => {
    const stored = storedItem(raw)
    if (typeof stored?.hash !== 'string')
      throw new TransientError(`Order ${item.order_id} exists but its record was not returned`, { cause })
    if (stored.hash === item.hash) return 'DUPLICATE'
    throw new ConflictError(item.order_id, stored.hash, item.hash)
  }

  const writeOnce = async (request: WriteOnceRequest): Promise<'PROCESSED' | 'DUPLICATE'> => {
    const { item } = request
    if (!request.with?.length) {
      try {
        await client.send(new PutCommand(put(item)))
        return 'PROCESSED'
      } catch (err) {
        if ((err as Error).name !== 'ConditionalCheckFailedException') throw err
        return compare(item, (err as { Item?: RawItem }).Item, err)
      }
    }
    try {
      await client.send(
        new TransactWriteCommand({
          TransactItems: [{ Put: put(item) }, ...request.with],
          ClientRequestToken: request.token,
        }),
      )
      return 'PROCESSED'
    } catch (err) {
      if ((err as Error).name !== 'TransactionCanceledException') throw err
      const reasons = (err as { CancellationReasons?: { Code?: string; Item?: RawItem }[] }).CancellationReasons ?? []
      if (reasons[0]?.Code === 'ConditionalCheckFailed') return compare(item, reasons[0].Item, err)
      const failed = reasons.flatMap((r, i) => (i > 0 && r.Code === 'ConditionalCheckFailed' ? [i - 1] : []))
      if (failed.length > 0) throw new ConditionsFailedError(failed, { cause: err })
      if (reasons.some((r) => TRANSIENT_REASONS.has(r.Code ?? '')))
        throw new TransientError(
          `Transaction for order ${item.order_id} cancelled: ${reasons.map((r) => r.Code).join(', ')}`,
          { cause: err },
        )
      throw err
    }
  }

  const detectDuplicatesBefore = (request: Request<unknown, unknown, Error, DuplicatesContext>): void => {
    const running = new Map<string, Promise<unknown>>()
    const exclusive = async <T>(key: string, task: () => Promise<T>): Promise<T> => {
      const previous = running.get(key) ?? Promise.resolve()
      const next = previous.then(task, task)
      running.set(
        key,
        next.catch(() => undefined),
      )
      return next
    }
    request.context.duplicates = { writeOnce, exclusive }
  }

  return { before: detectDuplicatesBefore }
}
