import test from 'ava'
import { mockClient } from 'aws-sdk-client-mock'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb'
import {
  ConditionsFailedError,
  orderHistory,
  writeOnce as write,
  type WriteOnceRequest,
} from '../../../lib/aws/table.ts'
import { ConflictError, TransientError } from '../../../lib/orders/errors.ts'

/** Fault injection for the shapes DynamoDB answers with; the real conditional writes are tested against moto. */
const detector = () => {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-3' }))
  const dynamo = mockClient(client)
  return { dynamo, duplicates: { writeOnce: (request: WriteOnceRequest) => write(client, 'tp-orders', request) } }
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
  const { dynamo, duplicates } = detector()
  dynamo.on(PutCommand).resolves({})
  t.is(await duplicates.writeOnce({ item }), 'PROCESSED')
  t.like(dynamo.commandCalls(PutCommand)[0]!.args[0].input, {
    ConditionExpression: 'attribute_not_exists(pk)',
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  })
})

test('a stored record with the same hash is a DUPLICATE, another hash a conflict (raw AttributeValues compared)', async (t) => {
  const { dynamo, duplicates } = detector()
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
  const { dynamo, duplicates } = detector()
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

test("an order's history lists what each step wrote, oldest first, rejections included", (t) => {
  const history = orderHistory({
    order_id: 'ORD-1',
    status: 'NOTIFIED',
    received_at: '2026-01-07T10:00:00.000Z',
    processed_at: '2026-01-07T10:00:01.000Z',
    paid_at: '2026-01-07T10:00:03.000Z',
    notified_at: '2026-01-07T10:00:04.000Z',
    rejections: [{ status: 'CONFLICT', message: 'other content', reasons: [], at: '2026-01-07T10:00:02.000Z' }],
  })
  t.deepEqual(
    history.map((h) => h.status),
    ['RECEIVED', 'PROCESSED', 'CONFLICT', 'PAID', 'NOTIFIED'],
  )
  t.deepEqual(orderHistory({ order_id: 'ORD-2', status: 'REJECTED', rejections: [] }), [])
})
