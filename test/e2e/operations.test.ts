/**
 * Day-two operations on the local stack (1 s functions, 6 s visibility, maxReceiveCount 2): orders that fail into
 * the DLQ, their replay once the fault is gone, a dry run, an interrupted replay, permanent rejects, and the output
 * of status, scan, logs and destroy.
 */
import anyTest, { type TestFn } from 'ava'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb'
import { SendMessageCommand } from '@aws-sdk/client-sqs'
import { ListBucketsCommand } from '@aws-sdk/client-s3'
import { getOrderStatus } from '../../lib/aws/table.ts'
import { program as redrive } from '../../scripts/redrive.ts'
import { program as status } from '../../scripts/status.ts'
import { program as scan } from '../../scripts/scan.ts'
import { program as logs } from '../../scripts/logs.ts'
import { program as destroy } from '../../scripts/destroy.ts'
import { program as send } from '../../scripts/send.ts'
import { writeLocalState } from '../../scripts/stack/local-state.ts'
import { receiveAll, replay, sourceQueueOf } from '../../scripts/ops/dlq.ts'
import { describeMessage } from '../../lib/aws/dlq.ts'
import { LOG } from '../../lib/orders/outcomes.ts'
import { sqsClient } from '../../lib/aws/clients.ts'
import { seed, seedText, tempDir } from '../helpers/fixtures.ts'
import { runCommand } from '../helpers/cli.ts'
import { deployLocalStack, waitFor, type LocalStack } from '../helpers/local-stack.ts'
import { depth } from '../helpers/moto.ts'

const test = anyTest as TestFn<{ stack: LocalStack }>

test.before(async (t) => {
  t.context.stack = await deployLocalStack('ops', { FunctionTimeout: 1, QueueVisibilityTimeout: 6, MaxReceiveCount: 2 })
})
test.after.always(async (t) => t.context.stack?.stop())

const aws = (stack: LocalStack) => ['--endpoint', stack.moto.endpoint, '--prefix', 'ops']
const order = (id: string) => JSON.stringify({ ...seed('tp-valid.json'), order_id: id })
const processed = async (stack: LocalStack, id: string) =>
  (await getOrderStatus(stack.clients.dynamo, stack.runner.deployment.table, id))?.status === 'PROCESSED'

test.serial(
  'orders that fail into the DLQ are summarised, dry-run, partly replayed when interrupted, then replayed to PROCESSED',
  async (t) => {
    const { stack } = t.context
    const d = stack.runner.deployment
    const { Table } = await stack.clients.dynamo.send(new DescribeTableCommand({ TableName: d.table }))
    // Prepare: the table is gone, so three orders fail until the redrive policy parks them.
    await stack.clients.dynamo.send(new DeleteTableCommand({ TableName: d.table }))
    for (const id of ['ORD-R1', 'ORD-R2', 'ORD-R3'])
      await stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: d.mainQueueUrl, MessageBody: order(id) }))
    await waitFor(
      'three messages in the main DLQ',
      async () => (await depth(stack.clients.sqs, d.mainDlqUrl)) === 3,
      45,
    )

    // Summary: grouped by error class, nothing removed.
    const summary = JSON.parse(await runCommand(redrive, [...aws(stack), '--json'])) as {
      messages: number
      groups: { class: string; count: number; orders: string }[]
    }
    t.is(summary.messages, 3)
    t.like(summary.groups[0], { class: 'Retried', count: 3 })
    t.is(await depth(stack.clients.sqs, d.mainDlqUrl), 3, 'a summary leaves every message in the DLQ')

    // Dry run: says what it would do, changes nothing.
    const dry = JSON.parse(await runCommand(redrive, [...aws(stack), '--replay', '--dry-run', '--json'])) as {
      replayed: number
      messages: { action: string }[]
    }
    t.is(dry.replayed, 0)
    t.deepEqual(
      dry.messages.map((m) => m.action),
      ['would replay', 'would replay', 'would replay'],
    )
    t.is(await depth(stack.clients.sqs, d.mainDlqUrl), 3)
    t.is(await depth(stack.clients.sqs, d.mainQueueUrl), 0)

    // The fault is gone.
    await stack.clients.dynamo.send(
      new CreateTableCommand({
        TableName: d.table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: Table!.AttributeDefinitions,
        KeySchema: Table!.KeySchema,
        // As it was: its customer index and its stream (storage.yaml).
        GlobalSecondaryIndexes: Table!.GlobalSecondaryIndexes?.map((index) => ({
          IndexName: index.IndexName,
          KeySchema: index.KeySchema,
          Projection: index.Projection,
        })),
        StreamSpecification: Table!.StreamSpecification,
      }),
    )

    // Interrupted after the first replayed message: one replayed, two still parked, none lost, none doubled.
    const sqs = sqsClient({ region: 'eu-west-3', endpoint: stack.moto.endpoint })
    const abort = new AbortController()
    const messages = (await receiveAll(sqs, d.mainDlqUrl, 60)).map(describeMessage)
    const report = await replay({
      sqs,
      dlqUrl: d.mainDlqUrl,
      fallbackSourceUrl: await sourceQueueOf(sqs, `arn:aws:sqs:eu-west-3:123456789012:ops-orders-main-dlq`),
      messages,
      filters: { maxReplays: 3 },
      dryRun: false,
      rate: 100,
      signal: abort.signal,
      onProgress: (done) => {
        if (done === 1) abort.abort()
      },
    })
    t.like(report, { replayed: 1, interrupted: true, failed: 0 })
    t.is(await depth(stack.clients.sqs, d.mainDlqUrl), 2)
    const first = messages[0]!.orderId!
    await waitFor('the first replayed order', async () => processed(stack, first))

    // The rest, with the command.
    const out = await runCommand(redrive, [...aws(stack), '--replay'])
    t.regex(out, /replayed 2, skipped 0, failed 0/)
    for (const id of ['ORD-R1', 'ORD-R2', 'ORD-R3']) await waitFor(id, async () => processed(stack, id))
    t.is(await depth(stack.clients.sqs, d.mainDlqUrl), 0)
  },
)

test.serial(
  'permanent rejects are replayed only when asked, and a message replayed too often is skipped',
  async (t) => {
    const { stack } = t.context
    const d = stack.runner.deployment
    await stack.clients.sqs.send(
      new SendMessageCommand({ QueueUrl: d.mainQueueUrl, MessageBody: JSON.stringify(seed('tp-invalid.json')) }),
    )
    await waitFor('the parked reject', async () => (await depth(stack.clients.sqs, d.mainDlqUrl)) === 1)
    // Act
    const skipped = JSON.parse(await runCommand(redrive, [...aws(stack), '--replay', '--json'])) as {
      skipped: number
      messages: { action: string }[]
    }
    const forced = JSON.parse(
      await runCommand(redrive, [
        ...aws(stack),
        '--replay',
        '--include-permanent',
        '--error-class',
        'ValidationError',
        '--json',
      ]),
    ) as { replayed: number }
    await waitFor('parked again', async () => (await depth(stack.clients.sqs, d.mainDlqUrl)) === 1)
    const again = JSON.parse(
      await runCommand(redrive, [...aws(stack), '--replay', '--include-permanent', '--max-replays', '1', '--json']),
    ) as { skipped: number; messages: { action: string }[] }
    // Assess
    t.is(skipped.skipped, 1)
    t.regex(skipped.messages[0]!.action, /permanent reject/)
    t.is(forced.replayed, 1)
    t.regex(again.messages[0]!.action, /replayed 1 times already/)
    const [parked] = await receiveAll(stack.clients.sqs, d.mainDlqUrl, 0)
    t.is(parked!.MessageAttributes?.replay_count?.StringValue, '1', 'the replay count travels with the message')
  },
)

test.serial(
  'status, scan and logs show the deployment, its orders and its log lines; a wrong prefix is named',
  async (t) => {
    const { stack } = t.context
    const s = JSON.parse(await runCommand(status, [...aws(stack), '--json'])) as {
      stack: { status: string }
      queues: { queue: string; waiting: number }[]
      orders: Record<string, number>
      metrics: { metric: string; 'last hour': number }[]
    }
    t.regex(s.stack.status, /COMPLETE/)
    t.deepEqual(
      s.queues.map((q) => q.queue),
      ['ingest', 'ingest DLQ', 'main', 'main DLQ'],
    )
    t.true(s.orders.PROCESSED! >= 3)
    t.true(s.metrics.find((m) => m.metric === 'OrdersProcessed')!['last hour'] >= 3)
    const text = await runCommand(status, aws(stack))
    t.regex(text, /main DLQ\s+1\s+0\s+\d+s/, 'the parked reject and its age')

    const nope = ['--endpoint', stack.moto.endpoint, '--prefix', 'nope']
    await t.throwsAsync(runCommand(status, nope), { message: /^stack nope-order-pipeline not found/ })
    await t.throwsAsync(runCommand(redrive, nope), { message: /^queue nope-orders-main-dlq not found/ })

    const rows = JSON.parse(await runCommand(scan, [...aws(stack), '--status', 'PROCESSED', '--json'])) as {
      order_id: string
      status: string
    }[]
    t.deepEqual(rows.map((r) => r.order_id).sort(), ['ORD-R1', 'ORD-R2', 'ORD-R3'])
    t.false(JSON.stringify(rows).includes('CUST-1001') && JSON.stringify(rows).includes('email'), 'no personal data')

    const lines = (
      await runCommand(logs, [
        'worker',
        ...aws(stack),
        '--log-dir',
        stack.runner.logDir,
        '--filter',
        LOG.ORDER_SETTLED,
        '--json',
      ])
    ).split('\n')
    t.true(lines.length >= 3)
    t.true(lines.every((l) => JSON.parse(l).msg === LOG.ORDER_SETTLED))
    t.regex(
      await runCommand(logs, ['worker', ...aws(stack), '--log-dir', stack.runner.logDir, '--filter', 'ORD-R1']),
      /^\d{4}-\d\d-\d\d [\d:.]+ INFO {2}order settled .*orderId=ORD-R1 .*outcome=PROCESSED/m,
    )
  },
)

test.serial(
  'send: the api and queue doors with --wait, one line per order; the local stack found by its state file',
  async (t) => {
    const { stack } = t.context
    const dir = tempDir(t, 'send-')
    const file = (name: string, lines: unknown[]) => {
      writeFileSync(join(dir, name), lines.map((l) => JSON.stringify(l)).join('\n'))
      return join(dir, name)
    }
    type Sent = { orders: { line: number; orderId?: string; outcome: string; detail: string }[] }
    const sent = async (args: string[]) => {
      const out = await runCommand(send, args)
      const exitCode = process.exitCode
      process.exitCode = undefined
      return { exitCode, out }
    }
    // The api door: a canonical order, an API order (its id the API's), and an invalid one (400, named fields).
    const apiFile = file('api.jsonl', [
      { ...seed('tp-valid.json'), order_id: 'ORD-SEND-1' },
      JSON.parse(seedText('api-create-order.json')),
      { ...seed('tp-valid.json'), order_id: 'ORD-SEND-BAD', amount: -5 },
    ])
    const api = await sent([
      ...aws(stack),
      apiFile,
      '--api-url',
      stack.runner.apiUrl,
      '--wait',
      '--timeout',
      '30',
      '--json',
    ])
    const viaApi = (JSON.parse(api.out) as Sent).orders
    t.deepEqual(
      viaApi.map((o) => [o.line, o.outcome]),
      [
        [1, 'PROCESSED'],
        [2, 'PROCESSED'],
        [3, 'REJECTED'],
      ],
      stack.failedBatches.join('\n'),
    )
    t.regex(viaApi[1]!.orderId!, /^API-/)
    t.regex(viaApi[2]!.detail, /amount/)
    t.is(api.exitCode, 1, 'a rejected order makes the exit code 1')

    // The queue door, with the stack found by the state file npm start writes (no --endpoint, no --prefix, no
    // --api-url): a valid order queued and stored, an invalid one refused with its field errors, never sent.
    const saved = { file: process.env.LOCAL_STACK_FILE, endpoint: process.env.AWS_ENDPOINT_URL }
    process.env.LOCAL_STACK_FILE = join(dir, 'stack.json')
    // The moto helper sets AWS_ENDPOINT_URL for the whole file: without it, nothing names the endpoint.
    delete process.env.AWS_ENDPOINT_URL
    const errors: string[] = []
    const error = console.error
    console.error = (...parts: unknown[]) => errors.push(parts.join(' '))
    writeLocalState({
      endpoint: stack.moto.endpoint,
      prefix: 'ops',
      region: 'eu-west-3',
      stackName: 'ops-order-pipeline',
      stage: 'test',
      apiUrl: stack.runner.apiUrl,
      logDir: stack.runner.logDir,
      pid: process.pid,
      startedAt: new Date().toISOString(),
    })
    try {
      const queueFile = file('queue.jsonl', [
        { ...seed('tp-valid.json'), order_id: 'ORD-SEND-Q1' },
        { order_id: 'ORD-SEND-Q2', customer_id: 'C-1', created_at: '2026-01-07T10:00:00Z', amount: 10 },
      ])
      const queue = await sent([queueFile, '--door', 'queue', '--wait', '--timeout', '30'])
      t.regex(
        queue.out,
        /^2 orders from .*queue\.jsonl → https:\/\/sqs\.eu-west-3\.amazonaws\.com\/123456789012\/ops-orders-main$/m,
      )
      t.regex(queue.out, /^line\s+order\s+outcome\s+detail$/m)
      t.regex(queue.out, /^1\s+ORD-SEND-Q1\s+PROCESSED\s+stock \w+$/m)
      t.regex(queue.out, /^2\s+ORD-SEND-Q2\s+REFUSED\s+not sent: .*items/m)
      t.is(queue.exitCode, 1)
      t.is(await getOrderStatus(stack.clients.dynamo, stack.runner.deployment.table, 'ORD-SEND-Q2'), undefined)

      // The same valid order again, through the api door found the same way: a DUPLICATE, exit code 0.
      const again = await sent([file('again.json', [{ ...seed('tp-valid.json'), order_id: 'ORD-SEND-Q1' }]), '--wait'])
      t.regex(again.out, /^1\s+ORD-SEND-Q1\s+DUPLICATE\s+/m)
      t.is(again.exitCode, undefined)
      // The s3 door: the file uploaded under orders/send/, each line followed (the API order by the id the
      // validator gives it), the invalid one rejected by the validator with its reasons.
      const s3 = await sent([
        file('s3.jsonl', [
          { ...seed('tp-valid.json'), order_id: 'ORD-SEND-S1' },
          { ...JSON.parse(seedText('api-create-order.json')), notes: 'through s3' },
          { ...seed('tp-valid.json'), order_id: 'ORD-SEND-S3', amount: -5 },
        ]),
        '--door',
        's3',
        '--wait',
        '--timeout',
        '30',
        '--json',
      ])
      const viaS3 = JSON.parse(s3.out) as Sent & { to: string }
      t.regex(viaS3.to, /^s3:\/\/ops-orders-intake-[^/]+\/orders\/send\/\d{4}-\d\d-\d\dT[\d-]+Z-s3\.jsonl$/)
      t.deepEqual(
        viaS3.orders.map((o) => [o.line, o.outcome]),
        [
          [1, 'PROCESSED'],
          [2, 'PROCESSED'],
          [3, 'REJECTED'],
        ],
        stack.failedBatches.join('\n'),
      )
      t.regex(viaS3.orders[1]!.orderId!, /^S3-/)
      t.regex(viaS3.orders[2]!.detail, /amount/)
      // status finds the stack the same way.
      const s = JSON.parse(await runCommand(status, ['--json'])) as { stack: { name: string } }
      t.is(s.stack.name, 'ops-order-pipeline')
      t.true(
        errors.includes(
          `status: using the local stack at ${stack.moto.endpoint} (npm start, prefix ops); --endpoint or --profile for another`,
        ),
        errors.join('\n'),
      )
    } finally {
      console.error = error
      if (saved.file === undefined) delete process.env.LOCAL_STACK_FILE
      else process.env.LOCAL_STACK_FILE = saved.file
      process.env.AWS_ENDPOINT_URL = saved.endpoint
    }
  },
)

test.serial('destroy empties the bucket and deletes the stack, keeping the table', async (t) => {
  const { stack } = t.context
  const out = await runCommand(destroy, [...aws(stack), '--yes'])
  t.regex(out, /deleted stack ops-order-pipeline/)
  t.regex(out, /kept table ops-orders/)
  const { Buckets = [] } = await stack.clients.s3.send(new ListBucketsCommand({}))
  t.false(Buckets.some((b) => b.Name === stack.runner.deployment.bucket))
})
