import { setTimeout as sleep } from 'node:timers/promises'
import test from 'ava'
import middy from '@middy/core'
import { mockClient } from 'aws-sdk-client-mock'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb'
import { detectDuplicates, type DuplicatesContext } from '../../middlewares/duplicates.ts'
import { fakeContext } from '../helpers/fixtures.ts'

/** Fault injection for the shapes DynamoDB answers with; the real conditional writes are tested against moto. */
const detector = async () => {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-3' }))
  const dynamo = mockClient(client)
  let captured: DuplicatesContext['duplicates'] | undefined
  await middy<unknown, unknown, Error, DuplicatesContext>()
    .use(detectDuplicates({ tableName: 'tp-orders', client, stockTracking: false }))
    .handler(async (_e, context) => {
      captured = context.duplicates
    })({}, fakeContext() as DuplicatesContext)
  return { dynamo, duplicates: captured! }
}

const order = (id: string) =>
  ({
    order_id: id,
    customer_id: 'C',
    created_at: '2026-01-07T10:00:00Z',
    currency: 'EUR',
    amount: 1,
    items: [],
  }) as never

test('tasks of the same key run one after the other; other keys do not wait', async (t) => {
  const { duplicates } = await detector()
  const events: string[] = []
  const task = (name: string, ms: number) => async () => {
    events.push(`${name} start`)
    await sleep(ms)
    events.push(`${name} end`)
  }
  await Promise.all([
    duplicates.exclusive('A', task('a1', 30)),
    duplicates.exclusive('A', task('a2', 1)),
    duplicates.exclusive('B', task('b', 1)),
  ])
  t.deepEqual(events, ['a1 start', 'b start', 'b end', 'a1 end', 'a2 start', 'a2 end'])
})

test('a failed task does not block the next one of its key', async (t) => {
  const { duplicates } = await detector()
  await t.throwsAsync(
    duplicates.exclusive('A', async () => {
      throw new Error('first')
    }),
  )
  t.is(await duplicates.exclusive('A', async () => 'second'), 'second')
})

test('a tableName is required at factory time', (t) => {
  t.throws(() => detectDuplicates({}), { instanceOf: TypeError, message: /tableName is required/ })
})

test('stores of one order id run one after the other: the second finds the first and is a DUPLICATE', async (t) => {
  // Prepare: the first put succeeds after a delay; a put that comes while it runs would find nothing yet
  const { dynamo, duplicates } = await detector()
  const stored = new Map<string, string>()
  dynamo.on(PutCommand).callsFake(async (input: { Item: { pk: string; hash: string } }) => {
    await sleep(20)
    const hash = stored.get(input.Item.pk)
    if (hash !== undefined) {
      throw Object.assign(new Error('failed'), { name: 'ConditionalCheckFailedException', Item: { hash: { S: hash } } })
    }
    stored.set(input.Item.pk, input.Item.hash)
    return {}
  })
  const now = '2026-01-07T10:00:00Z'
  // Act
  const results = await Promise.all([
    duplicates.store(order('A'), 'h1', { now }),
    duplicates.store(order('A'), 'h1', { now }),
    duplicates.store(order('B'), 'h2', { now }),
  ])
  // Assess
  t.deepEqual(
    results.map((r) => r.outcome),
    ['PROCESSED', 'DUPLICATE', 'PROCESSED'],
  )
  t.is(dynamo.commandCalls(PutCommand).length, 3)
  t.deepEqual(
    dynamo.commandCalls(PutCommand).map((call) => call.args[0].input.Item?.pk),
    ['ORDER#A', 'ORDER#B', 'ORDER#A'],
    'B does not wait for A; the second A waits for the first',
  )
})
