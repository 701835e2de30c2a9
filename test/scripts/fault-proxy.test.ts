import test from 'ava'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch'
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb'
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs'
import { startFaultProxy, type FaultRates } from '../../scripts/local/fault-proxy.ts'

/** A stand-in for the emulator that answers every request with an empty JSON object. */
const upstream = async (): Promise<{ url: string; server: Server; hits: string[] }> => {
  const hits: string[] = []
  const server = createServer((request, response) => {
    hits.push(String(request.headers['x-amz-target']))
    request.resume()
    response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{}')
  })
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve))
  return { url: `http://localhost:${(server.address() as AddressInfo).port}`, server, hits }
}

const through = async (t: { teardown: (fn: () => unknown) => void }, rates: FaultRates) => {
  const target = await upstream()
  const proxy = await startFaultProxy(target.url, rates, 7)
  t.teardown(async () => {
    await proxy.stop()
    target.server.close()
  })
  const config = {
    endpoint: proxy.url,
    region: 'eu-west-3',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  }
  return { proxy, target, config }
}

test('the SDKs read injected faults as throttling and server errors, and CloudWatch as down', async (t) => {
  // Prepare: every DynamoDB and SQS call throttled
  const { proxy, config } = await through(t, { throttle: 1, serverError: 0, cloudWatchDown: true })
  // Act
  const dynamo = await t.throwsAsync(
    new DynamoDBClient(config).send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } })),
  )
  const sqs = await t.throwsAsync(
    new SQSClient({ ...config, useQueueUrlAsEndpoint: false }).send(
      new SendMessageCommand({ QueueUrl: 'https://sqs.eu-west-3.amazonaws.com/123456789012/q', MessageBody: 'x' }),
    ),
  )
  const cloudWatch = await t.throwsAsync(
    new CloudWatchClient(config).send(
      new PutMetricDataCommand({ Namespace: 'N', MetricData: [{ MetricName: 'm', Value: 1 }] }),
    ),
  )
  // Assess
  t.is(dynamo?.name, 'ProvisionedThroughputExceededException')
  t.is(sqs?.name, 'RequestThrottled')
  t.is((cloudWatch as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode, 503)
  t.like(proxy.counts, { throttled: 2, cloudWatchRefused: 1, forwarded: 0 })
})

test('server errors answer 500 with the service fault; with no fault rates every call is forwarded', async (t) => {
  const faulty = await through(t, { throttle: 0, serverError: 1, cloudWatchDown: false })
  const err = await t.throwsAsync(
    new DynamoDBClient(faulty.config).send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } })),
  )
  t.is(err?.name, 'InternalServerError')
  t.is((err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode, 500)

  const clean = await through(t, { throttle: 0, serverError: 0, cloudWatchDown: false })
  await new DynamoDBClient(clean.config).send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } }))
  await new CloudWatchClient(clean.config).send(
    new PutMetricDataCommand({ Namespace: 'N', MetricData: [{ MetricName: 'm', Value: 1 }] }),
  )
  t.deepEqual(clean.target.hits, ['DynamoDB_20120810.GetItem', 'GraniteServiceVersion20100801.PutMetricData'])
  t.is(clean.proxy.counts.forwarded, 2)
})
