/**
 * METRICS_MODE through the handlers, on the emulator: the same orders through the API and the worker built with
 * METRICS_MODE=api and with METRICS_MODE=emf read as the same figures, once the local runner's forwarder
 * (scripts/local/emf.ts) has put the EMF lines on the emulator, as `npm run status` reads them.
 */
import anyTest, { type TestFn } from 'ava'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { APIGatewayProxyEvent, APIGatewayProxyResult, SQSEvent } from 'aws-lambda'
import { buildApi } from '../../handlers/api.ts'
import { buildWorker } from '../../handlers/worker.ts'
import { buildGenerator, type GeneratedFile } from '../../handlers/generator.ts'
import { buildValidator } from '../../handlers/validator.ts'
import { loadConfig } from '../../lib/runtime/config.ts'
import { createLogger } from '../../lib/runtime/logger.ts'
import { emfForwarder } from '../../scripts/local/emf.ts'
import { outcomeMetrics } from '../../scripts/ops/observe.ts'
import { awsEvent, fakeContext, sqsEvent, sqsRecord, tempDir } from '../helpers/fixtures.ts'
import { createResources, drain, metricSum, useMoto, type Clients, type Moto, type Resources } from '../helpers/moto.ts'
import { captureStdout } from '../helpers/stdout.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients }>
useMoto(test)

const logger = createLogger({ level: 'silent' })

/** The API and the worker of one set of resources, configured from METRICS_MODE as a function reads it. */
const functionsIn = (clients: Clients, r: Resources, mode: 'api' | 'emf') => {
  const config = loadConfig([], {
    ORDERS_TABLE: r.ordersTable,
    MAIN_QUEUE_URL: r.mainQueueUrl,
    MAIN_DLQ_URL: r.mainDlqUrl,
    METRICS_NAMESPACE: r.metricsNamespace,
    STAGE: r.stage,
    METRICS_MODE: mode,
    STOCK_TRACKING: 'off',
  })
  // In emf mode no CloudWatch client is given: one built by mistake would reach the emulator (AWS_ENDPOINT_URL).
  const cloudWatch = mode === 'api' ? clients.cloudWatch : undefined
  const api = buildApi({ config, dynamo: clients.dynamo, sqs: clients.sqs, cloudWatch, logger })
  const worker = buildWorker({ config, dynamo: clients.dynamo, sqs: clients.sqs, sns: clients.sns, cloudWatch, logger })
  return {
    post: async (event: APIGatewayProxyEvent) =>
      (await api(structuredClone(event) as never, fakeContext() as never)) as APIGatewayProxyResult,
    work: async () => {
      const messages = await drain(clients.sqs, r.mainQueueUrl)
      const event: SQSEvent = sqsEvent(...messages.map((m) => sqsRecord(m.Body!)))
      await worker(event, fakeContext() as never)
    },
  }
}

/** The same traffic: one order accepted and processed (then posted again: a duplicate), one rejected. */
const traffic = async (fns: ReturnType<typeof functionsIn>) => {
  const order = awsEvent<APIGatewayProxyEvent>('apigw-rest-post-orders.json')
  const keyed = { ...order, headers: { ...order.headers, 'Idempotency-Key': 'k-1' } }
  const statuses = [(await fns.post(keyed)).statusCode]
  await fns.work()
  statuses.push((await fns.post(keyed)).statusCode)
  statuses.push((await fns.post(awsEvent('apigw-rest-post-orders-missing-email.json'))).statusCode)
  return statuses
}

const FIGURES = ['OrdersAccepted', 'OrdersProcessed', 'OrdersRejected', 'OrdersDuplicate', 'OrdersPendingStock']

test.serial(
  'METRICS_MODE=emf: no PutMetricData, and its EMF lines, put by the runner, read as the figures of api mode',
  async (t) => {
    // Prepare
    const { clients } = t.context
    const viaApi = await createResources(clients, 'mode-api')
    const viaEmf = await createResources(clients, 'mode-emf')
    // Act
    const apiStatuses = await traffic(functionsIn(clients, viaApi, 'api'))
    const { result: emfStatuses, lines } = await captureStdout(async () => traffic(functionsIn(clients, viaEmf, 'emf')))
    // Assess: the same answers; nothing of emf mode on the emulator until its lines are replayed
    t.deepEqual(apiStatuses, [202, 409, 400])
    t.deepEqual(emfStatuses, apiStatuses)
    t.is(lines.length, 4, 'one EMF line per invocation that counted (three API calls, one worker batch)')
    for (const name of FIGURES) t.is(await metricSum(clients.cloudWatch, viaEmf, name), 0, `no ${name} put in emf mode`)
    const forwarder = emfForwarder(clients.cloudWatch)
    for (const line of lines) forwarder.line('tp-order-api', line)
    await forwarder.settled()
    const figures = async (r: Resources, logDir?: string) =>
      Object.fromEntries(
        (await outcomeMetrics(clients.cloudWatch, r.metricsNamespace, r.stage, logDir)).map((row) => [
          row.metric,
          row['last hour'],
        ]),
      )
    const expected = await figures(viaApi)
    t.like(expected, { OrdersAccepted: 1, OrdersProcessed: 1, OrdersRejected: 1, OrdersDuplicate: 1 })
    // status reads the runner's log folder too: the EMF lines there must not count a second time
    const logDir = tempDir(t, 'mode-logs-')
    writeFileSync(join(logDir, 'tp-order-api.log'), `${lines.join('\n')}\n`)
    t.deepEqual(await figures(viaEmf, logDir), expected)
    for (const name of ['OrdersRejected', 'OrdersDuplicate'])
      t.is(await metricSum(clients.cloudWatch, viaEmf, name), await metricSum(clients.cloudWatch, viaApi, name))
  },
)

test.serial(
  'METRICS_MODE=emf reaches the generator and the validator too: their counts as EMF lines, none put',
  async (t) => {
    // Prepare
    const { clients } = t.context
    const r = await createResources(clients, 'mode-files')
    const config = loadConfig([], {
      ORDERS_TABLE: r.ordersTable,
      MAIN_QUEUE_URL: r.mainQueueUrl,
      MAIN_DLQ_URL: r.mainDlqUrl,
      INGEST_DLQ_URL: r.ingestDlqUrl,
      INTAKE_BUCKET: r.bucket,
      METRICS_NAMESPACE: r.metricsNamespace,
      STAGE: r.stage,
      METRICS_MODE: 'emf',
      GENERATED_ORDERS: '5',
      GENERATOR_SEED: '7',
    })
    const generator = buildGenerator({ config, s3: clients.objects, logger })
    const validator = buildValidator({
      config,
      sqs: clients.sqs,
      dynamo: clients.dynamo,
      s3: clients.objects,
      sns: clients.sns,
      logger,
    })
    // Act
    const { lines } = await captureStdout(async () => {
      const file = (await generator({}, fakeContext() as never)) as GeneratedFile
      await validator(
        {
          Records: [
            {
              eventVersion: '2.1',
              eventSource: 'aws:s3',
              awsRegion: 'eu-west-3',
              eventTime: new Date().toISOString(),
              eventName: 'ObjectCreated:Put',
              s3: { s3SchemaVersion: '1.0', bucket: { name: r.bucket }, object: { key: file.key, size: 1 } },
            },
          ],
        } as never,
        fakeContext(),
      )
    })
    // Assess
    const values = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
    t.like(values, [
      { Stage: r.stage, OrdersGenerated: 5 },
      { Stage: r.stage, OrdersAccepted: 5 },
    ])
    for (const name of ['OrdersGenerated', 'OrdersAccepted'])
      t.is(await metricSum(clients.cloudWatch, r, name), 0, `no ${name} put in emf mode`)
  },
)
