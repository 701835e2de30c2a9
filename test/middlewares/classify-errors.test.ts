import test from 'ava'
import middy from '@middy/core'
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure'
import { mockClient } from 'aws-sdk-client-mock'
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs'
import type { SQSEvent, SQSRecord } from 'aws-lambda'
import { classifyErrors } from '../../middlewares/classify-errors.ts'
import { TransientError, ValidationError } from '../../lib/orders/errors.ts'
import { createLogger } from '../../lib/runtime/logger.ts'
import { fakeContext, sqsEvent, sqsRecord } from '../helpers/fixtures.ts'

const silent = createLogger({ level: 'silent' })

/** The SQS chain as the handlers build it, around a core that settles each record as `outcomes` says. */
const chain = (outcomes: ((record: SQSRecord) => unknown)[]) => {
  const client = new SQSClient({ region: 'eu-west-3' })
  const sqs = mockClient(client)
  const handler = middy<SQSEvent>()
    .use(sqsPartialBatchFailure({ logger: () => undefined }))
    .use(
      classifyErrors({
        dlqUrl: 'https://sqs.eu-west-3.amazonaws.com/123456789012/tp-orders-main-dlq',
        client,
        logger: silent,
      }),
    )
    .handler(async (event) => Promise.allSettled(event.Records.map(async (record, i) => outcomes[i]!(record))))
  return { sqs, invoke: async (event: SQSEvent) => handler(event, fakeContext()) }
}

const invalid = () => {
  throw new ValidationError([{ path: '/amount', rule: 'sum', message: 'amount must equal the items' }])
}
const throttled = () => {
  throw new TransientError('throttled')
}

test('permanent failures are parked with why and acknowledged; transient ones are retried', async (t) => {
  // Prepare
  const { sqs, invoke } = chain([() => 'ok', invalid, throttled])
  sqs
    .on(SendMessageBatchCommand)
    .resolves({ Successful: [{ Id: '1', MessageId: 'm', MD5OfMessageBody: '' }], Failed: [] })
  const records = [
    sqsRecord('{}'),
    sqsRecord('{"order_id":"X"}', {
      messageAttributes: { correlation_id: { stringValue: 'corr-1', dataType: 'String' } },
    }),
    sqsRecord('{}'),
  ]
  // Act
  const response = await invoke(sqsEvent(...records))
  // Assess
  t.deepEqual(response, { batchItemFailures: [{ itemIdentifier: records[2]!.messageId }] })
  const entries = sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.Entries!
  t.is(entries.length, 1)
  t.is(entries[0]!.MessageBody, '{"order_id":"X"}')
  t.is(entries[0]!.MessageAttributes?.correlation_id?.StringValue, 'corr-1')
  t.like(JSON.parse(entries[0]!.MessageAttributes!.error!.StringValue!), {
    class: 'ValidationError',
    message: 'amount must equal the items',
    fields: [{ path: '/amount', rule: 'sum' }],
    source_queue: 'arn:aws:sqs:eu-west-3:123456789012:tp-orders-main',
    message_id: records[1]!.messageId,
    receive_count: 1,
  })
})

test('a record the DLQ refused stays failed, and so does every record when the DLQ is down', async (t) => {
  const refused = chain([invalid, invalid])
  refused.sqs.on(SendMessageBatchCommand).resolves({
    Successful: [{ Id: '0', MessageId: 'm', MD5OfMessageBody: '' }],
    Failed: [{ Id: '1', Code: 'InvalidParameterValue', SenderFault: true }],
  })
  const records = [sqsRecord('{}'), sqsRecord('{}')]
  t.deepEqual(await refused.invoke(sqsEvent(...records)), {
    batchItemFailures: [{ itemIdentifier: records[1]!.messageId }],
  })

  const down = chain([invalid, invalid])
  down.sqs.on(SendMessageBatchCommand).rejects(new Error('connect ECONNREFUSED'))
  t.deepEqual(await down.invoke(sqsEvent(...records)), {
    batchItemFailures: records.map((r) => ({ itemIdentifier: r.messageId })),
  })
})

test('a SyntaxError (a body that is not JSON) is permanent; a thrown string is transient', async (t) => {
  const { sqs, invoke } = chain([
    () => JSON.parse('{'),
    () => {
      throw 'oops'
    },
  ]) // eslint-disable-line @typescript-eslint/only-throw-error
  sqs
    .on(SendMessageBatchCommand)
    .resolves({ Successful: [{ Id: '0', MessageId: 'm', MD5OfMessageBody: '' }], Failed: [] })
  const records = [sqsRecord('{'), sqsRecord('{}')]
  t.deepEqual(await invoke(sqsEvent(...records)), { batchItemFailures: [{ itemIdentifier: records[1]!.messageId }] })
  t.is(
    JSON.parse(
      sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.Entries![0]!.MessageAttributes!.error!.StringValue!,
    ).class,
    'MalformedOrderError',
  )
})

test('a dlqUrl is required at factory time', (t) => {
  t.throws(() => classifyErrors({ dlqUrl: '' }), { instanceOf: TypeError })
})

test('with rethrow, what is still failed after parking fails the invocation; a custom parking sets the body', async (t) => {
  // Prepare: a direct S3 event has no partial batch response
  const client = new SQSClient({ region: 'eu-west-3' })
  const sqs = mockClient(client)
  sqs
    .on(SendMessageBatchCommand)
    .resolves({ Successful: [{ Id: '0', MessageId: 'm', MD5OfMessageBody: '' }], Failed: [] })
  const records = [{ eventSource: 'aws:s3', s3: { object: { key: 'orders/a.json' } } }, { eventSource: 'aws:s3' }]
  const handler = middy<{ Records: unknown[] }>()
    .use(
      classifyErrors<{ Records: unknown[] }>({
        dlqUrl: 'https://sqs.eu-west-3.amazonaws.com/123456789012/tp-orders-ingest-dlq',
        client,
        logger: silent,
        parking: (record) => ({ body: JSON.stringify({ Records: [record] }) }),
        rethrow: true,
      }),
    )
    .handler(async () => Promise.allSettled([invalid, throttled].map(async (fail) => fail())))
  // Act
  const err = await t.throwsAsync(handler({ Records: records }, fakeContext()), { instanceOf: AggregateError })
  // Assess
  t.is(err?.errors.length, 1)
  t.true(err?.errors[0] instanceof TransientError)
  const entries = sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.Entries!
  t.is(entries.length, 1, 'only the permanent failure is parked')
  t.deepEqual(JSON.parse(entries[0]!.MessageBody!), { Records: [records[0]] })
})
