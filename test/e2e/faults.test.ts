/**
 * Faults on the local stack, with a deployment of short timeouts (1 s functions, 6 s visibility, maxReceiveCount 2)
 * so that retries take seconds: a transient failure retried until the queue's redrive policy parks the message,
 * and an S3 object gone before it was read.
 */
import anyTest, { type TestFn } from 'ava'
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb'
import { SendMessageCommand } from '@aws-sdk/client-sqs'
import { seed } from '../helpers/fixtures.ts'
import { drain } from '../helpers/moto.ts'
import { deployLocalStack, waitFor, type LocalStack } from '../helpers/local-stack.ts'

const test = anyTest as TestFn<{ stack: LocalStack }>

test.before(async (t) => {
  t.context.stack = await deployLocalStack('faults', {
    FunctionTimeout: 1,
    QueueVisibilityTimeout: 6,
    MaxReceiveCount: 2,
  })
})
test.after.always(async (t) => t.context.stack?.stop())

test.serial('an S3 object gone before it was read is parked in the ingest DLQ with a FileError', async (t) => {
  const { stack } = t.context
  const d = stack.runner.deployment
  // What S3 delivers for an object version deleted before the validator read it.
  const notification = {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'eu-west-3',
        eventName: 'ObjectCreated:Put',
        s3: {
          bucket: { name: d.bucket, arn: `arn:aws:s3:::${d.bucket}` },
          object: { key: 'orders/gone.json', versionId: 'no-such-version', size: 10 },
        },
      },
    ],
  }
  // Act
  await stack.clients.sqs.send(
    new SendMessageCommand({ QueueUrl: d.ingestQueueUrl, MessageBody: JSON.stringify(notification) }),
  )
  // Assess
  const [parked] = await waitFor('the ingest DLQ', async () => {
    const m = await drain(stack.clients.sqs, d.ingestDlqUrl)
    return m.length > 0 && m
  })
  t.deepEqual(JSON.parse(parked!.Body!), notification)
  t.like(JSON.parse(parked!.MessageAttributes!.error!.StringValue!), { class: 'FileError' })
})

test.serial(
  'a message that keeps failing transiently lands in the DLQ after maxReceiveCount, never parked as permanent',
  async (t) => {
    const { stack } = t.context
    const d = stack.runner.deployment
    const failures = () => stack.logs.filter((l) => l.includes('"message will be retried"')).length
    await stack.clients.dynamo.send(new DeleteTableCommand({ TableName: d.table }))
    // Act
    await stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: d.mainQueueUrl,
        MessageBody: JSON.stringify({ ...seed('tp-valid.json'), intake: undefined }),
      }),
    )
    // Assess
    const [parked] = await waitFor(
      'the redrive to the main DLQ',
      async () => {
        const m = await drain(stack.clients.sqs, d.mainDlqUrl)
        return m.length > 0 && m
      },
      40,
    )
    t.is(JSON.parse(parked!.Body!).order_id, 'ORD-2026-001')
    t.is(parked!.MessageAttributes?.error, undefined, 'moved by the redrive policy, not parked by the worker')
    t.is(failures(), 2, 'one failed delivery per receive, maxReceiveCount 2')
  },
)
