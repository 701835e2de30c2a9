/**
 * scripts/local/moto_server.py: moto with transactions that keep only the items they name. A cancelled transaction
 * still changes nothing (items and stream alike), one that commits changes all it names, and the stream shard a
 * reader holds is the table's own throughout.
 */
import anyTest, { type TestFn } from 'ava'
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams'
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb'
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs'
import { GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb'
import { spawn } from 'node:child_process'
import { motoAnswers, motoCommand } from '../../scripts/local/moto.ts'
import { createResources, freePort, useMoto, type Clients, type Moto } from '../helpers/moto.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients }>
useMoto(test)

/** A fresh orders table, a streams client, and the table's stream and its shard. */
const tableWithStream = async ({ clients, moto }: { clients: Clients; moto: Moto }, prefix: string) => {
  const TableName = (await createResources(clients, prefix)).ordersTable
  const streams = new DynamoDBStreamsClient({
    endpoint: moto.endpoint,
    region: 'eu-west-3',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  })
  const { Table } = await clients.dynamo.send(new DescribeTableCommand({ TableName }))
  const StreamArn = Table!.LatestStreamArn!
  const ShardId = (await streams.send(new DescribeStreamCommand({ StreamArn }))).StreamDescription!.Shards![0]!.ShardId!
  return { TableName, streams, StreamArn, ShardId }
}

test('the emulator is the patched moto_server.py, run by a Python that has moto', (t) => {
  const { command, args, patched } = motoCommand()
  t.true(patched, `${command} ${args.join(' ')}`)
  t.regex(args[0] ?? '', /scripts\/local\/moto_server\.py$/)
})

test('a cancelled transaction leaves its items and the stream as they were; a committed one changes them', async (t) => {
  const { clients } = t.context
  const { TableName, streams, StreamArn, ShardId } = await tableWithStream(t.context, 'tx')
  const iterator = await streams.send(
    new GetShardIteratorCommand({ StreamArn, ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
  )
  const keys = (records: { dynamodb?: { Keys?: Record<string, { S?: string }> } }[] | undefined) =>
    (records ?? []).map((rec) => rec.dynamodb?.Keys?.pk?.S)
  const get = async (pk: string) =>
    (await clients.dynamo.send(new GetCommand({ TableName, Key: { pk, sk: 'S' } }))).Item

  await clients.dynamo.send(new PutCommand({ TableName, Item: { pk: 'A', sk: 'S', n: 5 } }))
  await clients.dynamo.send(new PutCommand({ TableName, Item: { pk: 'D', sk: 'S', n: 1 } }))
  await clients.dynamo.send(new PutCommand({ TableName, Item: { pk: 'C', sk: 'S' } }))
  const writes = (check: string) =>
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName, Item: { pk: 'B', sk: 'S', n: 1 } } },
        {
          Update: {
            TableName,
            Key: { pk: 'A', sk: 'S' },
            UpdateExpression: 'SET n = n - :one',
            ExpressionAttributeValues: { ':one': 1 },
          },
        },
        { Delete: { TableName, Key: { pk: 'D', sk: 'S' } } },
        { ConditionCheck: { TableName, Key: { pk: check, sk: 'S' }, ConditionExpression: 'attribute_exists(pk)' } },
      ],
    })

  // Act: one that fails on its last item, after the first three ran
  await t.throwsAsync(clients.dynamo.send(writes('MISSING')), { name: 'TransactionCanceledException' })
  const afterCancel = { a: await get('A'), b: await get('B'), d: await get('D') }
  const first = await streams.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator! }))
  // Act: the same, whose check holds
  await clients.dynamo.send(writes('C'))
  const second = await streams.send(new GetRecordsCommand({ ShardIterator: first.NextShardIterator! }))

  // Assess
  t.deepEqual(afterCancel, { a: { pk: 'A', sk: 'S', n: 5 }, b: undefined, d: { pk: 'D', sk: 'S', n: 1 } })
  t.deepEqual(keys(first.Records), ['A', 'D', 'C'], 'the cancelled writes left no stream records')
  t.deepEqual(keys(second.Records), ['B', 'A', 'D'], 'the committed writes, read with the iterator held before')
  t.deepEqual(
    (second.Records ?? []).map((rec) => rec.eventName),
    ['INSERT', 'MODIFY', 'REMOVE'],
  )
  t.is((await get('A'))?.n, 4)
  t.is(await get('D'), undefined)
})

test('every patch of moto_server.py applies to the moto installed here (none reports itself skipped)', async (t) => {
  const { command, args } = motoCommand()
  const port = await freePort()
  const child = spawn(command, [...args, '-H', 'localhost', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  t.teardown(() => child.kill())
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  for (let i = 0; i < 100 && !(await motoAnswers(`http://localhost:${port}`)); i++)
    await new Promise((resolve) => setTimeout(resolve, 100))
  t.true(await motoAnswers(`http://localhost:${port}`))
  t.notRegex(stderr, /not patched/, stderr)
})

test('conditional transactions on one item run one at a time: 40 at once take 5 units of 5, no more', async (t) => {
  const { clients } = t.context
  const r = await createResources(clients, 'tx-race')
  const TableName = r.ordersTable
  await clients.dynamo.send(new PutCommand({ TableName, Item: { pk: 'STOCK#RACE', sk: 'STOCK', n: 5 } }))
  const take = (i: number) =>
    clients.dynamo.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName,
              Key: { pk: 'STOCK#RACE', sk: 'STOCK' },
              UpdateExpression: 'SET n = n - :one',
              ConditionExpression: 'n >= :one',
              ExpressionAttributeValues: { ':one': 1 },
            },
          },
          { Put: { TableName, Item: { pk: `TAKE#${i}`, sk: 'TAKE' } } },
        ],
      }),
    )
  // Act
  const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => take(i)))
  // Assess
  t.is(results.filter((x) => x.status === 'fulfilled').length, 5)
  t.is((await clients.dynamo.send(new GetCommand({ TableName, Key: { pk: 'STOCK#RACE', sk: 'STOCK' } }))).Item?.n, 0)
})

// The race this guards against (a read between a failed transaction's write and its undo) is rare on two cores and
// did not show in runs without the lock either: the test holds the outcome a reader must get, not the race itself.
test('a stream reader going on after the last sequence it saw gets every committed record once, none cancelled', async (t) => {
  const { clients } = t.context
  const { TableName, streams, StreamArn, ShardId } = await tableWithStream(t.context, 'tx-stream')
  await clients.dynamo.send(new PutCommand({ TableName, Item: { pk: 'HERE', sk: 'S' } }))
  // Half the transactions put their order, then fail their check (moto writes, then undoes).
  const write = (i: number) =>
    clients.dynamo.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName, Item: { pk: `ORDER#${i}`, sk: 'S' } } },
          {
            ConditionCheck: {
              TableName,
              Key: { pk: i % 2 === 0 ? 'HERE' : 'MISSING', sk: 'S' },
              ConditionExpression: 'attribute_exists(pk)',
            },
          },
        ],
      }),
    )
  // A reader as the local stack's stream poller reads: after the last sequence number it saw.
  const seen = new Map<string, string>()
  let last: string | undefined
  let writing = true
  const read = async () => {
    while (writing || seen.size < 41) {
      const { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({
          StreamArn,
          ShardId,
          ...(last
            ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: last }
            : { ShardIteratorType: 'TRIM_HORIZON' }),
        }),
      )
      const { Records = [] } = await streams.send(new GetRecordsCommand({ ShardIterator }))
      for (const rec of Records) seen.set(rec.dynamodb!.SequenceNumber!, rec.dynamodb!.Keys!.pk!.S!)
      last = Records.at(-1)?.dynamodb?.SequenceNumber ?? last
      if (!writing && Records.length === 0) break
    }
  }
  // Act
  const reading = read()
  await Promise.allSettled(Array.from({ length: 80 }, (_, i) => write(i)))
  writing = false
  await reading
  // Assess: what was read is what the stream holds: the committed orders, each once
  const committed = ['HERE', ...Array.from({ length: 40 }, (_, i) => `ORDER#${2 * i}`)].sort()
  t.deepEqual([...seen.values()].sort(), committed)
})

test("a FIFO queue, as AWS runs one: a group's next message waits for the one in flight, and an id seen in 5 minutes is dropped even after its delete", async (t) => {
  const { sqs } = t.context.clients
  const QueueUrl = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: `fifo-${Date.now()}.fifo`,
        Attributes: { FifoQueue: 'true', DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' },
      }),
    )
  ).QueueUrl!
  const send = (body: string, group: string, dedup: string) =>
    sqs.send(
      new SendMessageCommand({ QueueUrl, MessageBody: body, MessageGroupId: group, MessageDeduplicationId: dedup }),
    )
  const receive = async () =>
    (
      await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl,
          MaxNumberOfMessages: 1,
          VisibilityTimeout: 30,
          MessageSystemAttributeNames: ['All'],
        }),
      )
    ).Messages ?? []
  // One group: the second waits while the first is in flight.
  await send('first', 'customer:C-1', 'd-1')
  await send('second', 'customer:C-1', 'd-2')
  const [first] = await receive()
  t.is(first?.Body, 'first')
  t.is(first?.Attributes?.MessageGroupId, 'customer:C-1')
  t.deepEqual(await receive(), [], 'the group is held while its first message is in flight')
  await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: first!.ReceiptHandle! }))
  const [second] = await receive()
  t.is(second?.Body, 'second')
  await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: second!.ReceiptHandle! }))
  // The first again, after its delete: AWS drops it (5 minutes); moto as installed would queue it again.
  const again = await send('first', 'customer:C-1', 'd-1')
  t.is(again.MessageId, first!.MessageId, 'answered with the first message')
  t.deepEqual(await receive(), [], 'not queued twice')
  await send('third', 'customer:C-1', 'd-3')
  t.is((await receive())[0]?.Body, 'third')
})
