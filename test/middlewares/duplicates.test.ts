import test from 'ava'
import middy from '@middy/core'
import { mockClient } from 'aws-sdk-client-mock'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb'
import {
  detectDuplicates,
  ConditionsFailedError,
  type DuplicatesContext,
  type WriteOnceRequest,
} from '../../middlewares/duplicates.ts'
import { ConflictError, TransientError } from '../../lib/orders/errors.ts'
import { fakeContext } from '../helpers/fixtures.ts'

/** Fault injection for the shapes DynamoDB answers with; the real conditional writes are tested against moto. */
const detector = async () => {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-3' }))
  const dynamo = mockClient(client)
  let captured: DuplicatesContext['duplicates'] | undefined
  await middy<unknown, unknown, Error, DuplicatesContext>()
    .use(detectDuplicates({ tableName: 'tp-orders', client }))
    .handler(async (_e, context) => {
      captured = context.duplicates
    })({}, fakeContext() as DuplicatesContext)
  return { dynamo, duplicates: captured! }
}

const item = { pk: 'ORDER#A', sk: 'ORDER', order_id: 'A', hash: 'h1' }
const withStock: WriteOnceRequest = {
  item,
  with: [{ Update: { TableName: 't', Key: { pk: 'STOCK#S', sk: 'STOCK' }, UpdateExpression: 'SET a = a - :q' } }],
  token: 'tok',
}
const cancelled = (reasons: object[]) =>
  Object.assign(new Error('Transaction cancelled'), {
    name: 'TransactionCanceledException',
    CancellationReasons: reasons,
  })

test('a new order is written with the id condition and ALL_OLD', async (t) => {
  const { dynamo, duplicates } = await detector()
  dynamo.on(PutCommand).resolves({})
  t.is(await duplicates.writeOnce({ item }), 'PROCESSED')
  t.like(dynamo.commandCalls(PutCommand)[0]!.args[0].input, {
    ConditionExpression: 'attribute_not_exists(pk)',
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  })
})

test('a stored record with the same hash is a DUPLICATE, another hash a conflict (raw AttributeValues compared)', async (t) => {
  const { dynamo, duplicates } = await detector()
  dynamo
    .on(PutCommand)
    .rejectsOnce(
      Object.assign(new Error('failed'), { name: 'ConditionalCheckFailedException', Item: { hash: { S: 'h1' } } }),
    )
    .rejectsOnce(
      Object.assign(new Error('failed'), { name: 'ConditionalCheckFailedException', Item: { hash: { S: 'h0' } } }),
    )
  t.is(await duplicates.writeOnce({ item }), 'DUPLICATE')
  const err = await t.throwsAsync(duplicates.writeOnce({ item }), { instanceOf: ConflictError })
  t.is(err?.storedHash, 'h0')
})

test('transaction cancellation reasons are read in request order', async (t) => {
  const { dynamo, duplicates } = await detector()
  dynamo
    .on(TransactWriteCommand)
    .rejectsOnce(
      cancelled([{ Code: 'ConditionalCheckFailed', Item: { hash: { S: 'h1' } } }, { Code: 'ConditionalCheckFailed' }]),
    )
    .rejectsOnce(cancelled([{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }]))
    .rejectsOnce(cancelled([{ Code: 'None' }, { Code: 'TransactionConflict' }]))
  t.is(await duplicates.writeOnce(withStock), 'DUPLICATE', 'the order condition wins over a stock condition')
  t.deepEqual(
    (await t.throwsAsync(duplicates.writeOnce(withStock), { instanceOf: ConditionsFailedError }))?.indexes,
    [0],
  )
  await t.throwsAsync(duplicates.writeOnce(withStock), { instanceOf: TransientError })
  t.is(dynamo.commandCalls(TransactWriteCommand)[0]!.args[0].input.ClientRequestToken, 'tok')
})

test('tasks of the same key run one after the other; other keys do not wait', async (t) => {
  const { duplicates } = await detector()
  const events: string[] = []
  const task = (name: string, ms: number) => async () => {
    events.push(`${name} start`)
    await new Promise((resolve) => setTimeout(resolve, ms))
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
