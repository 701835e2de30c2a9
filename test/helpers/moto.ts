/**
 * A moto server of the test file's own (a free port on localhost), and the resources the handlers need, created
 * through the real SDK: tests of AWS behaviour (conditional writes, transactions, queues, metrics) run against it.
 */
import type { TestFn } from 'ava'
import { spawnSync } from 'node:child_process'
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch'
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3'
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns'
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { objectStore, type ObjectStore } from '../../lib/aws/objects.ts'
import { queueDepth } from '../../lib/aws/queue.ts'
import { loadConfig, type Config } from '../../lib/runtime/config.ts'
import { freePort, startMotoServer } from '../../scripts/local/moto.ts'

export { freePort }

if (spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).error) {
  throw new Error("moto_server not found: install it with `pip install 'moto[server]'` (see README, Requirements)")
}

export interface Moto {
  endpoint: string
  stop: () => void
}

/** `env`: the server's extra environment (MOTO_LAMBDA_ENDPOINT: where its Step Functions invoke Lambda tasks). */
export const startMoto = async (env: NodeJS.ProcessEnv = {}): Promise<Moto> => {
  const { endpoint, child } = await startMotoServer(await freePort(), undefined, false, env)
  process.env.AWS_ENDPOINT_URL = endpoint
  process.env.AWS_ACCESS_KEY_ID = 'testing'
  process.env.AWS_SECRET_ACCESS_KEY = 'testing'
  process.env.AWS_REGION = 'eu-west-3'
  return { endpoint, stop: () => child?.kill() }
}

export interface Clients {
  dynamo: DynamoDBDocumentClient
  sqs: SQSClient
  s3: S3Client
  /** The object store the validator reads and writes through (lib/aws/objects.ts). */
  objects: ObjectStore
  sns: SNSClient
  cloudWatch: CloudWatchClient
}

export const clientsFor = (endpoint: string): Clients => {
  const common = { endpoint, region: 'eu-west-3', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } }
  return {
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient(common), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    sqs: new SQSClient(common),
    s3: new S3Client({ ...common, forcePathStyle: true }),
    objects: objectStore(common),
    sns: new SNSClient(common),
    cloudWatch: new CloudWatchClient(common),
  }
}

export interface Resources {
  ordersTable: string
  mainQueueUrl: string
  mainDlqUrl: string
  ingestQueueUrl: string
  ingestDlqUrl: string
  alertsQueueUrl: string
  alertTopicArn: string
  bucket: string
  metricsNamespace: string
  stage: string
}

/** The functions' configuration for these resources, read as a function reads it (the defaults for the rest). */
export const configFor = (r: Resources): Config =>
  loadConfig([], {
    ORDERS_TABLE: r.ordersTable,
    MAIN_QUEUE_URL: r.mainQueueUrl,
    MAIN_DLQ_URL: r.mainDlqUrl,
    INGEST_DLQ_URL: r.ingestDlqUrl,
    INGEST_QUEUE_URL: r.ingestQueueUrl,
    ALERT_TOPIC_ARN: r.alertTopicArn,
    METRICS_NAMESPACE: r.metricsNamespace,
    STAGE: r.stage,
  })

/** A fresh set of resources named from `prefix`, so that tests do not see each other's data. */
export const createResources = async (clients: Clients, prefix: string): Promise<Resources> => {
  const ordersTable = `${prefix}-orders`
  await clients.dynamo.send(
    new CreateTableCommand({
      TableName: ordersTable,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'customer_id', AttributeType: 'S' },
        { AttributeName: 'processed_at', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      // As storage.yaml has them: the customer index and the stream.
      GlobalSecondaryIndexes: [
        {
          IndexName: 'by_customer',
          KeySchema: [
            { AttributeName: 'customer_id', KeyType: 'HASH' },
            { AttributeName: 'processed_at', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['order_id', 'amount_cents', 'currency'] },
        },
      ],
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
    }),
  )
  const queue = async (name: string) => (await clients.sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!
  const [mainQueueUrl, mainDlqUrl, ingestQueueUrl, ingestDlqUrl, alertsQueueUrl] = await Promise.all(
    ['main', 'main-dlq', 'ingest', 'ingest-dlq', 'alerts'].map((n) => queue(`${prefix}-orders-${n}`)),
  )
  const { TopicArn } = await clients.sns.send(new CreateTopicCommand({ Name: `${prefix}-order-alerts` }))
  await clients.sns.send(
    new SubscribeCommand({
      TopicArn,
      Protocol: 'sqs',
      Endpoint: `arn:aws:sqs:eu-west-3:123456789012:${prefix}-orders-alerts`,
      Attributes: { RawMessageDelivery: 'true' },
    }),
  )
  const bucket = `${prefix}-orders-intake`
  await clients.s3.send(
    new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-3' } }),
  )
  await clients.s3.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  )
  return {
    ordersTable,
    mainQueueUrl: mainQueueUrl!,
    mainDlqUrl: mainDlqUrl!,
    ingestQueueUrl: ingestQueueUrl!,
    ingestDlqUrl: ingestDlqUrl!,
    alertsQueueUrl: alertsQueueUrl!,
    alertTopicArn: TopicArn!,
    bucket,
    metricsNamespace: `${prefix}/Orders`,
    stage: 'test',
  }
}

/** Every message now in a queue, received and deleted. */
export const drain = async (sqs: SQSClient, queueUrl: string): Promise<Message[]> => {
  const all: Message[] = []
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        AttributeNames: ['All'],
        WaitTimeSeconds: 0,
      }),
    )
    if (Messages.length === 0) return all
    all.push(...Messages)
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    )
  }
}

/** Messages in a queue, waiting or in flight. */
export const depth = queueDepth

/** The sum of a metric around now, as CloudWatch reports it (GetMetricStatistics: moto's GetMetricData ignores the namespace). */
export const metricSum = async (cloudWatch: CloudWatchClient, r: Resources, name: string): Promise<number> => {
  const { Datapoints = [] } = await cloudWatch.send(
    new GetMetricStatisticsCommand({
      Namespace: r.metricsNamespace,
      MetricName: name,
      Dimensions: [{ Name: 'Stage', Value: r.stage }],
      StartTime: new Date(Date.now() - 7_200_000),
      EndTime: new Date(Date.now() + 7_200_000),
      Period: 3600,
      Statistics: ['Sum'],
    }),
  )
  return Datapoints.reduce((a, b) => a + (b.Sum ?? 0), 0)
}

/** A moto server for the test file (started before its tests, stopped after) and clients pointed at it. */
export const useMoto = <C extends { moto: Moto; clients: Clients }>(test: TestFn<C>): void => {
  test.before(async (t) => {
    t.context.moto = await startMoto()
    t.context.clients = clientsFor(t.context.moto.endpoint)
  })
  test.after.always((t) => t.context.moto?.stop())
}
