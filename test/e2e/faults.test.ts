/**
 * Faults on the local stack, with a deployment of short timeouts (1 s functions, 6 s visibility, maxReceiveCount 2)
 * so that retries take seconds: a transient failure retried until the queue's redrive policy parks the message,
 * an S3 object gone before it was read, and a file that outlasts the validator's timeout.
 */
import anyTest, { type TestFn } from 'ava'
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb'
import { setTimeout as sleep } from 'node:timers/promises'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { SendMessageCommand } from '@aws-sdk/client-sqs'
import { seed } from '../helpers/fixtures.ts'
import { depth, drain } from '../helpers/moto.ts'
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

test.serial(
  'a file the validator cannot finish in time: the invocation is stopped, and nothing is sent behind it',
  async (t) => {
    // Prepare: 3,000 lines take the validator longer than its 1 s timeout on the emulator
    const { stack } = t.context
    const d = stack.runner.deployment
    const lines = Array.from({ length: 3000 }, (_, i) =>
      JSON.stringify({ ...seed('tp-valid.json'), order_id: `SLOW-${i}` }),
    )
    // Stopped by middy a moment before the timeout (the abort stops the file between two lines), or by the runner.
    const stopped = () =>
      stack.logs.filter(
        (l) =>
          l.includes('"name":"faults-order-validator"') &&
          (l.includes('"errorClass":"TimeoutError"') || l.includes('its process was stopped')),
      ).length
    /**
     * Orders that reached the main queue so far. The table is gone (the test before deleted it), so the worker fails
     * each and it stays in the queue (visible or not) for longer than this test waits.
     */
    const sent = async () =>
      (await depth(stack.clients.sqs, d.mainQueueUrl)) + (await depth(stack.clients.sqs, d.mainDlqUrl))
    // Act
    await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: d.bucket, Key: 'orders/slow.jsonl', Body: lines.join('\n') }),
    )
    await waitFor('the validator to time out', async () => stopped() > 0, 20)
    // The batches already on their way when it stopped (up to SENDS_IN_FLIGHT) land within a moment.
    await sleep(1000)
    const atStop = await sent()
    await sleep(2000)
    const later = await sent()
    // Assess: nothing after that (a validator that went on reading would add hundreds in 2 s)
    t.true(atStop < lines.length, `the file was not finished (${atStop} of ${lines.length} sent)`)
    t.true(later - atStop <= 10, `no order reached the main queue after the stop (${atStop}, then ${later})`)
  },
)
