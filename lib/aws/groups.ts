/**
 * A batch of SQS records settled the way Lambda's FIFO rule for partial batch responses asks: the records of one
 * message group run one after the other, in the batch's order, and after the first of them that will be retried
 * (a failure that is not permanent: a permanent one is parked and acknowledged), the rest of its group is not tried
 * and fails too, so that SQS delivers the group again from that record, never out of order. Other groups go on,
 * `concurrency` of them at once. Records without a group (a standard queue) are each a group of their own.
 */
import pLimit from 'p-limit'
import { HeldInGroupError, isPermanent } from '../orders/errors.ts'

interface GroupedRecord {
  messageId?: string
  attributes?: { MessageGroupId?: string }
}

/** @returns one settled result per record, in record order (what classifyErrors expects) */
export const settleInGroups = async <R extends GroupedRecord, T>(
  records: R[],
  run: (record: R) => Promise<T>,
  concurrency: number,
): Promise<PromiseSettledResult<T>[]> => {
  const results = new Array<PromiseSettledResult<T>>(records.length)
  const groups = new Map<string, number[]>()
  records.forEach((record, index) => {
    const group = record.attributes?.MessageGroupId
    const key = group === undefined ? `record:${index}` : `group:${group}`
    groups.set(key, [...(groups.get(key) ?? []), index])
  })
  const limit = pLimit(concurrency)
  await Promise.all(
    [...groups.values()].map((indexes) =>
      limit(async () => {
        let held: string | undefined
        for (const index of indexes) {
          const record = records[index]!
          if (held !== undefined) {
            results[index] = {
              status: 'rejected',
              reason: new HeldInGroupError(`held: message ${held} of the same group failed before it in this batch`),
            }
            continue
          }
          try {
            results[index] = { status: 'fulfilled', value: await run(record) }
          } catch (reason) {
            results[index] = { status: 'rejected', reason }
            if (!isPermanent(reason) && record.attributes?.MessageGroupId !== undefined)
              held = record.messageId ?? String(index)
          }
        }
      }),
    ),
  )
  return results
}
