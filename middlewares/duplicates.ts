/**
 * Duplicate detection for a batch of orders. The detector is the conditional write itself (lib/aws/table.ts:
 * `writeOnce`, no read on the happy path); what this middleware adds is the invocation's own ordering: records of
 * one order id in one batch are stored one after the other, so that the second is a DUPLICATE and never races the
 * first, while the rest run concurrently. `before` gives the invocation `context.duplicates.store`, bound to the
 * table, and a fresh queue per key (built in `before`: never shared across invocations).
 */
import type { MiddlewareObj, Request } from '@middy/core'
import type { Context } from 'aws-lambda'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { dynamoClient } from '../lib/aws/clients.ts'
import { storeOrder, type StoreOptions, type StoreResult } from '../lib/aws/table.ts'
import type { Order } from '../lib/orders/order.ts'

export interface DuplicateDetector {
  /**
   * Stores the order once (PROCESSED), or finds it stored with the same content (DUPLICATE), after every earlier
   * store of the same order id in this invocation has settled.
   * @throws ConflictError when the id is stored with other content
   */
  store: (order: Order, hash: string, options: Omit<StoreOptions, 'stockTracking'>) => Promise<StoreResult>
  /** Runs `task` after every earlier task of the same key in this invocation has settled. */
  exclusive: <T>(key: string, task: () => Promise<T>) => Promise<T>
}

export type DuplicatesContext = Context & { duplicates: DuplicateDetector }

const defaults = {
  tableName: '',
  client: undefined as DynamoDBDocumentClient | undefined,
  /** Reserve stock in the order's transaction (STOCK_TRACKING). */
  stockTracking: true,
  /** Days until an order record expires (ORDER_RETENTION_DAYS; 0: kept). */
  retentionDays: 0,
}

type DuplicatesRequest = Request<unknown, unknown, Error, DuplicatesContext>

/** @example .use(detectDuplicates({ tableName: config.ordersTable, client, stockTracking })) then `context.duplicates.store(...)` */
export const detectDuplicates = (
  opts: Partial<typeof defaults> = {},
): MiddlewareObj<unknown, unknown, Error, DuplicatesContext> => {
  const options = { ...defaults, ...opts }
  if (!options.tableName) throw new TypeError('detectDuplicates: tableName is required')
  let client = options.client

  const detectDuplicatesBefore = (request: DuplicatesRequest): void => {
    const running = new Map<string, Promise<unknown>>()
    const exclusive = async <T>(key: string, task: () => Promise<T>): Promise<T> => {
      const next = (running.get(key) ?? Promise.resolve()).then(task, task)
      running.set(
        key,
        next.catch(() => undefined),
      )
      return next
    }
    const store: DuplicateDetector['store'] = (order, hash, storeOptions) =>
      exclusive(order.order_id, () =>
        storeOrder((client ??= dynamoClient()), options.tableName, order, hash, {
          ...storeOptions,
          stockTracking: options.stockTracking,
          retentionDays: options.retentionDays,
        }),
      )
    request.context.duplicates = { store, exclusive }
  }

  return { before: detectDuplicatesBefore }
}
