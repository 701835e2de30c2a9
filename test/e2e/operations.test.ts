/**
 * Day-two operations on the local stack (1 s functions, 6 s visibility, maxReceiveCount 2): orders that fail into
 * the DLQ, their replay once the fault is gone, a dry run, an interrupted replay, permanent rejects, and the output
 * of status, scan, logs and destroy.
 */
import anyTest, { type TestFn } from 'ava'
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb'
import { SendMessageCommand } from '@aws-sdk/client-sqs'
import { ListBucketsCommand } from '@aws-sdk/client-s3'
import { getOrderStatus } from '../../lib/aws/table.ts'
import { program as redrive } from '../../scripts/redrive.ts'
import { program as status } from '../../scripts/status.ts'
import { program as scan } from '../../scripts/scan.ts'
import { program as logs } from '../../scripts/logs.ts'
import { program as destroy } from '../../scripts/destroy.ts'
import { receiveAll, replay, sourceQueueOf } from '../../scripts/ops/dlq.ts'
import { describeMessage } from '../../lib/aws/dlq.ts'
import { LOG } from '../../lib/orders/outcomes.ts'
import { sqsClient } from '../../lib/aws/clients.ts'
import { seed } from '../helpers/fixtures.ts'
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

test.serial('destroy empties the bucket and deletes the stack, keeping the table', async (t) => {
  const { stack } = t.context
  const out = await runCommand(destroy, [...aws(stack), '--yes'])
  t.regex(out, /deleted stack ops-order-pipeline/)
  t.regex(out, /kept table ops-orders/)
  const { Buckets = [] } = await stack.clients.s3.send(new ListBucketsCommand({}))
  t.false(Buckets.some((b) => b.Name === stack.runner.deployment.bucket))
})
