import anyTest, { type TestFn } from 'ava'
import type { S3Event, SQSBatchResponse, SQSEvent } from 'aws-lambda'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { buildValidator, type ValidatorConfig } from '../../handlers/validator.ts'
import { getOrderStatus } from '../../lib/aws/table.ts'
import { fakeContext, seed, seedText, sqsEvent, sqsRecord } from '../helpers/fixtures.ts'
import { createResources, drain, metricSum, useMoto, type Clients, type Moto, type Resources } from '../helpers/moto.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients }>

let prefixes = 0
useMoto(test)

const setup = async (t: { context: { clients: Clients } }, clients: Partial<Clients> = {}) => {
  const all = { ...t.context.clients, ...clients }
  const r: Resources = await createResources(t.context.clients, `v${++prefixes}`)
  const config: ValidatorConfig = {
    ordersTable: r.ordersTable,
    mainQueueUrl: r.mainQueueUrl,
    mainDlqUrl: r.mainDlqUrl,
    ingestDlqUrl: r.ingestDlqUrl,
    alertTopicArn: r.alertTopicArn,
    metricsNamespace: r.metricsNamespace,
    stage: r.stage,
    defaultCurrency: 'EUR',
    maxOrderAmount: 10000,
  }
  const validator = buildValidator({ config, ...all })
  const run = async (event: SQSEvent | S3Event) => validator(event, fakeContext())
  /** Uploads an object and returns the ingest-queue event S3 would deliver for it (key URL-encoded as S3 does). */
  const upload = async (key: string, body: string): Promise<SQSEvent> => {
    const { VersionId } = await t.context.clients.s3.send(
      new PutObjectCommand({ Bucket: r.bucket, Key: key, Body: body }),
    )
    return sqsEvent(
      sqsRecord(notification(r.bucket, key, VersionId), {
        eventSourceARN: `arn:aws:sqs:eu-west-3:123456789012:${r.bucket}-ingest`,
      }),
    )
  }
  return { r, run, upload, clients: all }
}

const encodeKey = (key: string): string => encodeURIComponent(key).replace(/%20/g, '+')
const s3Record = (bucket: string, key: string, versionId?: string) => ({
  eventVersion: '2.1',
  eventSource: 'aws:s3',
  awsRegion: 'eu-west-3',
  eventTime: new Date().toISOString(),
  eventName: 'ObjectCreated:Put',
  s3: {
    s3SchemaVersion: '1.0',
    configurationId: 'orders',
    bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
    object: { key: encodeKey(key), size: 1, versionId },
  },
})
const notification = (bucket: string, key: string, versionId?: string) => ({
  Records: [s3Record(bucket, key, versionId)],
})

const parseOrText = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
const bodies = async (sqs: SQSClient, url: string) =>
  (await drain(sqs, url)).map((m) => ({
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    body: parseOrText(m.Body!) as Record<string, any>,
    attributes: m.MessageAttributes ?? {},
  }))

test('a JSON array of the three dialects is queued normalised, each with its source', async (t) => {
  const { r, run, upload, clients } = await setup(t)
  const event = await upload(
    'orders/batch.json',
    JSON.stringify([seed('tp-valid.json'), seed('lab-rich-order.json'), seed('api-create-order.json')]),
  )
  // Act
  const response = await run(event)
  // Assess
  t.deepEqual(response, { batchItemFailures: [] })
  const queued = await bodies(clients.sqs, r.mainQueueUrl)
  t.deepEqual(queued.map((q) => q.body.intake.dialect).sort(), ['api', 'canonical', 'rich'])
  const api = queued.find((q) => q.body.intake.dialect === 'api')!
  t.regex(api.body.order_id, /^S3-[0-9a-f]{32}$/)
  t.regex(api.attributes.source!.StringValue!, /^s3:\/\/v\d+-orders-intake\/orders\/batch\.json\?versionId=.+#3$/)
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersAccepted'), 3)
})

test('a re-delivered S3 event gives the orders without id the same ids', async (t) => {
  const { r, run, upload, clients } = await setup(t)
  const event = await upload('orders/api.json', seedText('api-create-order.json'))
  await run(event)
  await run(event)
  const ids = (await bodies(clients.sqs, r.mainQueueUrl)).map((q) => q.body.order_id as string)
  t.is(ids.length, 2)
  t.is(ids[0], ids[1])
})

test('a JSONL file: valid lines queued, invalid and broken lines parked with their line, rejections recorded', async (t) => {
  const { r, run, upload, clients } = await setup(t)
  const lines = [
    JSON.stringify(seed('tp-valid.json')),
    JSON.stringify(seed('tp-invalid.json')),
    '',
    '{"order_id": "ORD-BROKEN", ',
    JSON.stringify(seed('tp-valid.json')),
  ]
  const event = await upload('orders/lot de commandes été.jsonl', `\uFEFF${lines.join('\r\n')}\r\n`)
  // Act
  const response = await run(event)
  // Assess
  t.deepEqual(response, { batchItemFailures: [] })
  t.is((await bodies(clients.sqs, r.mainQueueUrl)).length, 2, 'the duplicate line is queued: the worker settles it')
  const parked = await bodies(clients.sqs, r.mainDlqUrl)
  t.deepEqual(parked.map((p) => p.attributes.source!.StringValue!.split('#')[1]).sort(), ['2', '4'])
  t.true(parked.every((p) => p.attributes.source!.StringValue!.includes('orders/lot de commandes été.jsonl')))
  t.deepEqual(parked.map((p) => JSON.parse(p.attributes.error!.StringValue!).class).sort(), [
    'MalformedOrderError',
    'ValidationError',
  ])
  const status = await getOrderStatus(clients.dynamo, r.ordersTable, 'ORD-2026-002')
  t.is(status?.status, 'REJECTED')
  t.deepEqual(
    status?.rejections[0]?.reasons.map((f) => f.rule),
    ['exclusiveMinimum', 'minItems', 'sum'],
  )
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersRejected'), 2)
  const alerts = await bodies(clients.sqs, r.alertsQueueUrl)
  t.is(alerts.length, 2)
  t.true(alerts.every((a) => a.body.type === 'REJECTED'))
})

test('the S3 test event is acknowledged and ignored', async (t) => {
  const { r, run, clients } = await setup(t)
  const event = sqsEvent(
    sqsRecord({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: new Date().toISOString(), Bucket: r.bucket }),
  )
  t.deepEqual(await run(event), { batchItemFailures: [] })
  t.is((await drain(clients.sqs, r.mainQueueUrl)).length, 0)
  t.is((await drain(clients.sqs, r.ingestDlqUrl)).length, 0)
})

test('an object deleted before it was read is a permanent file failure: ingest DLQ, acknowledged', async (t) => {
  const { r, run, clients } = await setup(t)
  const gone = notification(r.bucket, 'orders/gone.json')
  const event = sqsEvent(sqsRecord(gone))
  // Act
  const response = await run(event)
  // Assess
  t.deepEqual(response, { batchItemFailures: [] })
  const [parked] = await bodies(clients.sqs, r.ingestDlqUrl)
  t.is(JSON.parse(parked!.attributes.error!.StringValue!).class, 'FileError')
  t.deepEqual(parked!.body, JSON.parse(JSON.stringify(gone)), 'the notification itself is parked, ready for a replay')
})

test('an unknown extension and a neighbour: only the bad file fails', async (t) => {
  const { r, run, upload, clients } = await setup(t)
  const good = await upload('orders/one.json', seedText('tp-valid.json'))
  const bad = await upload('orders/notes.txt', 'hello')
  const response = await run(sqsEvent(...good.Records, ...bad.Records))
  t.deepEqual(response, { batchItemFailures: [] })
  t.is((await drain(clients.sqs, r.mainQueueUrl)).length, 1)
  t.is((await drain(clients.sqs, r.ingestDlqUrl)).length, 1)
})

test('SendMessageBatch entries that come back Failed are retried, never dropped', async (t) => {
  const { sqs } = t.context.clients
  let refusals = 0
  const flaky = Object.create(sqs) as SQSClient
  flaky.send = (async (command: unknown) => {
    if (command instanceof SendMessageBatchCommand && command.input.QueueUrl?.endsWith('-main') && refusals === 0) {
      refusals++
      const [first, ...rest] = command.input.Entries ?? []
      const sent = await sqs.send(new SendMessageBatchCommand({ ...command.input, Entries: rest }))
      return { ...sent, Failed: [{ Id: first!.Id, Code: 'InternalError', SenderFault: false, Message: 'try again' }] }
    }
    return sqs.send(command as never)
  }) as never
  const { r, run, upload, clients } = await setup(t, { sqs: flaky })
  const event = await upload(
    'orders/three.jsonl',
    [1, 2, 3].map((n) => JSON.stringify({ ...seed('tp-valid.json'), order_id: `ORD-${n}` })).join('\n'),
  )
  // Act
  const response = await run(event)
  // Assess
  t.deepEqual(response, { batchItemFailures: [] })
  t.is(refusals, 1)
  t.deepEqual((await bodies(clients.sqs, r.mainQueueUrl)).map((q) => q.body.order_id).sort(), [
    'ORD-1',
    'ORD-2',
    'ORD-3',
  ])
})

test("an entry the queue refuses as the sender's fault is parked as a reject, not retried", async (t) => {
  const { sqs } = t.context.clients
  const refusing = Object.create(sqs) as SQSClient
  refusing.send = (async (command: unknown) => {
    if (command instanceof SendMessageBatchCommand && command.input.QueueUrl?.endsWith('-main')) {
      const [first, ...rest] = command.input.Entries ?? []
      const sent = await sqs.send(new SendMessageBatchCommand({ ...command.input, Entries: rest }))
      return {
        ...sent,
        Failed: [{ Id: first!.Id, Code: 'InvalidMessageContents', SenderFault: true, Message: 'bad characters' }],
      }
    }
    return sqs.send(command as never)
  }) as never
  const { r, run, upload, clients } = await setup(t, { sqs: refusing })
  const event = await upload(
    'orders/two.jsonl',
    [1, 2].map((n) => JSON.stringify({ ...seed('tp-valid.json'), order_id: `ORD-${n}` })).join('\n'),
  )
  // Act
  const response = await run(event)
  // Assess
  t.deepEqual(response, { batchItemFailures: [] })
  t.deepEqual(
    (await bodies(clients.sqs, r.mainQueueUrl)).map((q) => q.body.order_id),
    ['ORD-2'],
  )
  const [parked] = await bodies(clients.sqs, r.mainDlqUrl)
  t.is(parked!.body.order_id, 'ORD-1')
  t.like(JSON.parse(parked!.attributes.error!.StringValue!), { class: 'ValidationError', fields: [{ rule: 'queue' }] })
})

test('a direct S3 trigger event is handled like the queued one', async (t) => {
  const { r, run, clients } = await setup(t)
  const { VersionId } = await t.context.clients.s3.send(
    new PutObjectCommand({ Bucket: r.bucket, Key: 'orders/direct.json', Body: seedText('tp-valid.json') }),
  )
  const result = await run(notification(r.bucket, 'orders/direct.json', VersionId) as unknown as S3Event)
  t.deepEqual(result as unknown, [[{ accepted: 1, rejected: 0 }]])
  t.is((await drain(clients.sqs, r.mainQueueUrl)).length, 1)
})

test('a direct S3 event for a missing object parks it in the ingest DLQ', async (t) => {
  const { r, run, clients } = await setup(t)
  const result = (await run(
    notification(r.bucket, 'orders/missing.json') as unknown as S3Event,
  )) as unknown as SQSBatchResponse
  t.deepEqual(result as unknown, [[]])
  t.is((await drain(clients.sqs, r.ingestDlqUrl)).length, 1)
})
