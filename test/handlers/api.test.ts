import anyTest, { type TestFn } from 'ava'
import type { APIGatewayProxyEvent, APIGatewayProxyResult, SQSEvent } from 'aws-lambda'
import { buildApi, type ApiConfig } from '../../handlers/api.ts'
import { buildWorker } from '../../handlers/worker.ts'
import { awsEvent, fakeContext, seed, seedText, sqsEvent, sqsRecord } from '../helpers/fixtures.ts'
import { createResources, drain, metricSum, useMoto, type Clients, type Moto, type Resources } from '../helpers/moto.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients }>

let prefixes = 0
useMoto(test)

const setup = async (t: { context: { clients: Clients } }) => {
  const { clients } = t.context
  const r: Resources = await createResources(clients, `a${++prefixes}`)
  const config: ApiConfig = {
    ordersTable: r.ordersTable,
    mainQueueUrl: r.mainQueueUrl,
    metricsNamespace: r.metricsNamespace,
    stage: r.stage,
    defaultCurrency: 'EUR',
    maxOrderAmount: 10000,
    corsOrigins: ['https://shop.example.com'],
    alertTopicArn: r.alertTopicArn,
  }
  const api = buildApi({
    config,
    dynamo: clients.dynamo,
    sqs: clients.sqs,
    sns: clients.sns,
    cloudWatch: clients.cloudWatch,
  })
  const call = async (event: unknown) => {
    const response = (await api(structuredClone(event) as never, fakeContext() as never)) as APIGatewayProxyResult
    return { ...response, json: (response.body ? JSON.parse(response.body) : {}) as Record<string, unknown> }
  }
  const worker = buildWorker({
    config: { ...config, mainDlqUrl: r.mainDlqUrl, alertTopicArn: undefined, stockTracking: false },
    dynamo: clients.dynamo,
    sqs: clients.sqs,
    sns: clients.sns,
    cloudWatch: clients.cloudWatch,
  })
  /** Runs the worker over what the API queued. */
  const work = async () => {
    const messages = await drain(clients.sqs, r.mainQueueUrl)
    const event: SQSEvent = sqsEvent(
      ...messages.map((m) =>
        sqsRecord(m.Body!, {
          messageAttributes: Object.fromEntries(
            Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
              k,
              { stringValue: v.StringValue, dataType: 'String' },
            ]),
          ),
        }),
      ),
    )
    await worker(event, fakeContext() as never)
    return messages
  }
  return { r, call, work, clients }
}

const restPost = (body: string, headers: Record<string, string> = {}): APIGatewayProxyEvent => {
  const event = awsEvent<APIGatewayProxyEvent>('apigw-rest-post-orders.json')
  return { ...event, body, headers: { ...event.headers, ...headers } }
}

test('the API order is accepted with a new id, queued normalised, then PROCESSED', async (t) => {
  const { r, call, work, clients } = await setup(t)
  // Act
  const response = await call(awsEvent('apigw-rest-post-orders.json'))
  // Assess
  t.is(response.statusCode, 202)
  t.is(response.json.message, 'Order accepted for processing')
  t.regex(String(response.json.orderId), /^API-[0-9a-f-]{36}$/)
  const [queued] = await work()
  const order = JSON.parse(queued!.Body!)
  t.like(order, {
    order_id: response.json.orderId,
    currency: 'EUR',
    amount: 99.99,
    items: [{ sku: 'p123', qty: 1, unit_price: 99.99 }],
  })
  t.is(queued!.MessageAttributes?.correlation_id?.StringValue, 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef')
  const status = await call({
    ...awsEvent<APIGatewayProxyEvent>('apigw-rest-post-orders.json'),
    httpMethod: 'GET',
    resource: '/orders/{id}',
    path: `/orders/${String(response.json.orderId)}`,
    pathParameters: { id: String(response.json.orderId) },
    body: null,
  })
  t.is(status.statusCode, 200)
  t.like(status.json, { order_id: response.json.orderId, status: 'PROCESSED' })
  t.false(JSON.stringify(status.json).includes('john.doe'), 'no personal data in the answer')
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersAccepted'), 1)
})

test('the missing-email order gets 400 with the seed message', async (t) => {
  const { r, call, clients } = await setup(t)
  const response = await call(awsEvent('apigw-rest-post-orders-missing-email.json'))
  t.is(response.statusCode, 400)
  t.is(response.json.message, 'Missing required field: customerEmail')
  t.deepEqual(response.json.errors, [
    { path: '/customerEmail', rule: 'required', message: 'Missing required field: customerEmail' },
  ])
  t.is((await drain(clients.sqs, r.mainQueueUrl)).length, 0)
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersRejected'), 1)
})

test('the form order is not a dialect: 400 naming the missing fields', async (t) => {
  const { call } = await setup(t)
  const response = await call(restPost(seedText('form-order.json')))
  t.is(response.statusCode, 400)
  t.is(
    response.json.message,
    'Missing required fields: order_id, customer_id, created_at, amount, items; Unknown field: order',
  )
})

test('the invalid seed gets 400 listing each failed field', async (t) => {
  const { call } = await setup(t)
  const response = await call(restPost(seedText('tp-invalid.json')))
  t.is(response.statusCode, 400)
  t.deepEqual(
    (response.json.errors as { path: string }[]).map((e) => e.path),
    ['/amount', '/items', '/amount'],
  )
})

test('a base64 canonical body and an HTTP API v2 rich order are accepted with their own ids', async (t) => {
  const { call, work } = await setup(t)
  const rest = await call(awsEvent('apigw-rest-post-orders-base64.json'))
  const v2 = await call(awsEvent('apigw-http-v2-post-orders.json'))
  t.is(rest.statusCode, 202)
  t.is(rest.json.orderId, 'ORD-2026-001')
  t.is(v2.statusCode, 202)
  t.is(v2.json.orderId, 'ORD-20231001-0001')
  t.is((await work()).length, 2)
})

test('a POST retried with the same Idempotency-Key is a duplicate: 409 once the order is known', async (t) => {
  const { r, call, work, clients } = await setup(t)
  const first = await call(restPost(seedText('api-create-order.json'), { 'Idempotency-Key': 'c0ffee-1' }))
  await work()
  // Act
  const retry = await call(restPost(seedText('api-create-order.json'), { 'Idempotency-Key': 'c0ffee-1' }))
  const other = await call(
    restPost(JSON.stringify({ ...seed('api-create-order.json'), paymentMethod: 'PAYPAL' }), {
      'Idempotency-Key': 'c0ffee-1',
    }),
  )
  // Assess
  t.is(first.statusCode, 202)
  t.deepEqual([retry.statusCode, retry.json.status, retry.json.orderId], [409, 'DUPLICATE', first.json.orderId])
  t.deepEqual([other.statusCode, other.json.status], [409, 'CONFLICT'])
  t.is((await drain(clients.sqs, r.mainQueueUrl)).length, 0)
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersDuplicate'), 1)
})

test('malformed JSON is 400, a wrong content type 415, an oversized body 413', async (t) => {
  const { call } = await setup(t)
  const malformed = await call(restPost('{"order_id": '))
  const text = await call(restPost(seedText('tp-valid.json'), { 'Content-Type': 'text/plain' }))
  const huge = await call(restPost(JSON.stringify({ ...seed('tp-valid.json'), notes: 'x'.repeat(70_000) })))
  t.is(malformed.statusCode, 400)
  t.regex(String(malformed.json.message), /^Body is not valid JSON/)
  t.is(text.statusCode, 415)
  t.is(huge.statusCode, 413)
  t.regex(String(huge.json.message), /at most 65536/)
})

test('GET of an unknown id is 404, of a malformed one 400', async (t) => {
  const { call } = await setup(t)
  const get = (id: string) =>
    call({
      ...awsEvent<APIGatewayProxyEvent>('apigw-rest-post-orders.json'),
      httpMethod: 'GET',
      resource: '/orders/{id}',
      path: `/orders/${id}`,
      pathParameters: { id },
      body: null,
    })
  const missing = await get('ORD-NOPE')
  const bad = await get('no spaces allowed')
  t.is(missing.statusCode, 404)
  t.deepEqual(missing.json, { message: 'Order ORD-NOPE not found' })
  t.is(bad.statusCode, 400)
  t.deepEqual(bad.json, { message: 'Not an order id: no spaces allowed' })
})

test('an Idempotency-Key over 255 characters is a 400 naming the header', async (t) => {
  const { call } = await setup(t)
  const response = await call(restPost(seedText('api-create-order.json'), { 'Idempotency-Key': 'k'.repeat(256) }))
  t.is(response.statusCode, 400)
  t.deepEqual(response.json, {
    message: 'Idempotency-Key must be 1 to 255 characters',
    errors: [
      { path: 'header:Idempotency-Key', rule: 'maxLength', message: 'Idempotency-Key must be 1 to 255 characters' },
    ],
  })
})

test("a CORS preflight from the order form's origin is answered 204 with the headers the form sends", async (t) => {
  const { call } = await setup(t)
  const response = await call({
    ...awsEvent<APIGatewayProxyEvent>('apigw-rest-post-orders.json'),
    httpMethod: 'OPTIONS',
    body: null,
    headers: {
      Origin: 'https://shop.example.com',
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type,idempotency-key,x-api-key',
    },
  })
  t.is(response.statusCode, 204)
  t.is(response.headers?.['Access-Control-Allow-Origin'], 'https://shop.example.com')
  t.regex(String(response.headers?.['Access-Control-Allow-Headers']), /Idempotency-Key.*X-Api-Key/)
  t.regex(String(response.headers?.['Access-Control-Allow-Methods']), /POST/)
})

test('CORS headers are set for the order form', async (t) => {
  const { call } = await setup(t)
  const response = await call(restPost(seedText('api-create-order.json'), { Origin: 'https://shop.example.com' }))
  t.is(response.headers?.['Access-Control-Allow-Origin'], 'https://shop.example.com')
})

test('POST /orders/{id}/cancel: 200 and CANCELLED once, counted and announced; again 409 with the status; unknown 404', async (t) => {
  const { r, call, work, clients } = await setup(t)
  const accepted = await call(awsEvent('apigw-rest-post-orders.json'))
  await work()
  const id = String(accepted.json.orderId)
  const cancel = (orderId: string) =>
    call({
      ...awsEvent<APIGatewayProxyEvent>('apigw-rest-post-orders.json'),
      httpMethod: 'POST',
      resource: '/orders/{id}/cancel',
      path: `/orders/${orderId}/cancel`,
      pathParameters: { id: orderId },
      body: null,
    })
  // Act
  const first = await cancel(id)
  const second = await cancel(id)
  const unknown = await cancel('ORD-NOT-STORED')
  // Assess
  t.is(first.statusCode, 200)
  t.like(first.json, { orderId: id, status: 'CANCELLED' })
  t.is(second.statusCode, 409)
  t.like(second.json, { orderId: id, status: 'CANCELLED' })
  t.regex(String(second.json.message), /cancelled already/)
  t.is(unknown.statusCode, 404)
  t.is(await metricSum(clients.cloudWatch, r, 'OrdersCancelled'), 1)
  const alerts = await drain(clients.sqs, r.alertsQueueUrl)
  t.is(alerts.length, 1, 'one alert for one cancel')
  t.like(JSON.parse(alerts[0]!.Body!), { type: 'ORDER_CANCELLED', order_id: id })
})
