import anyTest, { type TestFn } from 'ava'
import type { S3Event, SQSBatchResponse, SQSEvent } from 'aws-lambda'
import { gzipSync } from 'node:zlib'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { buildValidator, type ValidatorConfig } from '../../handlers/validator.ts'
import { getOrderStatus } from '../../lib/aws/table.ts'
import type { FileReport } from '../../lib/intake/report.ts'
import { program as reportCommand } from '../../scripts/report.ts'
import { runCommand } from '../helpers/cli.ts'
import { fakeContext, seed, seedText, sqsEvent, sqsRecord } from '../helpers/fixtures.ts'
import {
  configFor,
  createResources,
  drain,
  metricSum,
  useMoto,
  type Clients,
  type Moto,
  type Resources,
} from '../helpers/moto.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients }>

let prefixes = 0
useMoto(test)

const setup = async (t: { context: { clients: Clients } }, clients: Partial<Clients> = {}) => {
  const all = { ...t.context.clients, ...clients }
  const r: Resources = await createResources(t.context.clients, `v${++prefixes}`)
  const config: ValidatorConfig = configFor(r)
  const validator = buildValidator({ config, ...all, s3: all.objects })
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
  // One alert for the file, not one per rejected line: it names the counts and the report
  const alerts = await bodies(clients.sqs, r.alertsQueueUrl)
  t.is(alerts.length, 1)
  t.like(alerts[0]?.body, {
    type: 'FILE_REJECTS',
    rejected: 2,
    accepted: 2,
    report: `s3://${r.bucket}/reports/orders/lot de commandes été.jsonl.json`,
  })
  // The report, beside the file: counts by reason and each reject with its line
  const report = JSON.parse(
    await (
      await clients.s3.send(
        new GetObjectCommand({ Bucket: r.bucket, Key: 'reports/orders/lot de commandes été.jsonl.json' }),
      )
    ).Body!.transformToString(),
  ) as FileReport
  t.like(report, { key: 'orders/lot de commandes été.jsonl', accepted: 2, rejected: 2 })
  t.deepEqual(report.rejectedByReason, {
    MalformedOrderError: 1,
    'ValidationError:exclusiveMinimum': 1,
    'ValidationError:minItems': 1,
    'ValidationError:sum': 1,
  })
  t.deepEqual(
    report.rejects.map((x) => [x.line, x.class]),
    [
      [2, 'ValidationError'],
      [4, 'MalformedOrderError'],
    ],
  )
  t.true(report.linesPerSecond > 0 && report.durationMs > 0)
  // npm run report prints it
  const printed = await runCommand(reportCommand, [
    'orders/lot de commandes été.jsonl',
    '--bucket',
    r.bucket,
    '--endpoint',
    t.context.moto.endpoint,
  ])
  t.regex(printed, /^s3:\/\/.*orders\/lot de commandes été\.jsonl \(version .*\)\n2 accepted, 2 rejected, \d+ lines\/s/)
  t.regex(printed, /ValidationError:sum\s+1/)
  t.regex(printed, /\n2\s+ValidationError\s+amount must be greater than 0/)
  await t.throwsAsync(
    runCommand(reportCommand, ['orders/none.jsonl', '--bucket', r.bucket, '--endpoint', t.context.moto.endpoint]),
    { message: /^no report for orders\/none\.jsonl in / },
  )
  // The same file again (a re-delivered event): its report is written again, its alert not sent twice
  await run(event)
  t.is((await bodies(clients.sqs, r.alertsQueueUrl)).length, 0)
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

// ---------- hostile lines: each costs its own reject, never its neighbours' outcome ----------

const deep = (levels: number): string => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`
const order = (id: string) => JSON.stringify({ ...seed('tp-valid.json'), order_id: id })

test('a line nested 5,000 levels deep is parked alone, with its raw text; the lines after it are read', async (t) => {
  // Prepare
  const { r, run, upload, clients } = await setup(t)
  const event = await upload('orders/deep.jsonl', [order('D-1'), deep(5000), order('D-3')].join('\n'))
  // Act
  const response = (await run(event)) as SQSBatchResponse
  // Assess
  t.deepEqual(response, { batchItemFailures: [] })
  t.deepEqual(
    (await bodies(clients.sqs, r.mainQueueUrl)).map((m) => m.body.order_id),
    ['D-1', 'D-3'],
  )
  const parked = await drain(clients.sqs, r.mainDlqUrl)
  t.is(parked.length, 1)
  const error = JSON.parse(parked[0]!.MessageAttributes!.error!.StringValue!) as { class: string; message: string }
  t.is(error.class, 'MalformedOrderError')
  t.regex(error.message, /line 2 is nested deeper than 32 levels/)
  t.is(parked[0]!.Body, deep(5000).slice(0, 8 * 1024), 'the first 8 KB of the raw line')
  t.is((await drain(clients.sqs, r.ingestDlqUrl)).length, 0, 'the file is not parked')
})

test('a .json array element nested 5,000 levels deep is parked alone; its neighbours are queued', async (t) => {
  const { r, run, upload, clients } = await setup(t)
  const event = await upload('orders/deep.json', `[${order('E-1')},${deep(5000)},${order('E-3')}]`)
  t.deepEqual(await run(event), { batchItemFailures: [] })
  t.deepEqual(
    (await bodies(clients.sqs, r.mainQueueUrl)).map((m) => m.body.order_id),
    ['E-1', 'E-3'],
  )
  const [parked] = await drain(clients.sqs, r.mainDlqUrl)
  t.regex(JSON.parse(parked!.MessageAttributes!.error!.StringValue!).message, /element 2 is nested deeper/)
  t.is(parked!.Body, deep(5000).slice(0, 8 * 1024), 'the first 8 KB of the element, as of a .jsonl line')
})

test('an order over 1 MiB inside a .json array is rejected as too long, parked as a bounded excerpt with its source', async (t) => {
  // Prepare: 1.2 MB of notes, past what SQS takes in one message
  const { r, run, upload, clients } = await setup(t)
  const huge = JSON.stringify({ ...seed('tp-valid.json'), order_id: 'BIG-1', notes: 'n'.repeat(1_200_000) })
  const event = await upload('orders/big.json', `[${order('B-0')},${huge},${order('B-2')}]`)
  // Act
  t.deepEqual(await run(event), { batchItemFailures: [] })
  // Assess
  t.deepEqual(
    (await bodies(clients.sqs, r.mainQueueUrl)).map((m) => m.body.order_id),
    ['B-0', 'B-2'],
  )
  const [parked, ...others] = await drain(clients.sqs, r.mainDlqUrl)
  t.is(others.length, 0)
  t.is(parked!.Body, huge.slice(0, 8 * 1024), 'the first 8 KB of the element, never the whole of it')
  t.regex(parked!.MessageAttributes!.source!.StringValue!, /^s3:\/\/.*\/orders\/big\.json\?versionId=.*#2$/)
  const error = JSON.parse(parked!.MessageAttributes!.error!.StringValue!) as { class: string; message: string }
  t.is(error.class, 'MalformedOrderError')
  t.regex(error.message, /element 2 is larger than \d+ bytes/)
})

test('a number the DynamoDB marshaller would refuse is the line’s reject, not a failure of the worker later', async (t) => {
  const { r, run, upload, clients } = await setup(t)
  const unsafe = order('U-1').replace('"qty":1', '"qty":1e300')
  const event = await upload('orders/unsafe.jsonl', [unsafe, order('U-2')].join('\n'))
  t.deepEqual(await run(event), { batchItemFailures: [] })
  t.deepEqual(
    (await bodies(clients.sqs, r.mainQueueUrl)).map((m) => m.body.order_id),
    ['U-2'],
  )
  const [parked] = await drain(clients.sqs, r.mainDlqUrl)
  const error = JSON.parse(parked!.MessageAttributes!.error!.StringValue!) as {
    fields: { path: string; rule: string }[]
  }
  t.deepEqual(error.fields, [
    {
      path: '/items/0/qty',
      rule: 'safeNumber',
      message: 'items[0].qty must be a finite number within ±9007199254740991',
    },
  ])
})

test('a gzipped JSONL file under raw/year=…/month=…/day=… is read as it streams, every line its own outcome', async (t) => {
  // Prepare: the data lake's layout, gzipped as data lakes hold it
  const { r, run, clients } = await setup(t)
  const key = 'raw/year=2026/month=01/day=07/orders.jsonl.gz'
  const body = gzipSync([order('Z-1'), '{"order_id": "Z-2", "items": [', order('Z-3')].join('\n'))
  const { VersionId } = await t.context.clients.s3.send(
    new PutObjectCommand({ Bucket: r.bucket, Key: key, Body: body }),
  )
  // Act
  const response = await run(
    sqsEvent(sqsRecord(notification(r.bucket, key, VersionId), { eventSourceARN: 'arn:aws:sqs:eu-west-3:1:ingest' })),
  )
  // Assess
  t.deepEqual(response, { batchItemFailures: [] })
  t.deepEqual(
    (await bodies(clients.sqs, r.mainQueueUrl)).map((m) => m.body.order_id),
    ['Z-1', 'Z-3'],
  )
  const [parked] = await drain(clients.sqs, r.mainDlqUrl)
  t.regex(parked!.MessageAttributes!.source!.StringValue!, /orders\.jsonl\.gz\?versionId=.*#2$/)
  t.is(parked!.Body, '{"order_id": "Z-2", "items": [')
})
