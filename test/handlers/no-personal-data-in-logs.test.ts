/**
 * Personal data never reaches a log line, whatever an order holds and however it fails: e-mail, CPF and phone
 * values are planted in malformed lines, rich orders, API orders (valid, invalid and malformed) and main-queue
 * messages, the three functions run over them at debug level, and every line they wrote is scanned.
 */
import anyTest, { type TestFn } from 'ava'
import type { APIGatewayProxyEvent, S3Event } from 'aws-lambda'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { buildApi } from '../../handlers/api.ts'
import { buildValidator } from '../../handlers/validator.ts'
import { buildWorker } from '../../handlers/worker.ts'
import { createLogger } from '../../lib/runtime/logger.ts'
import { awsEvent, fakeContext, seed, sqsEvent, sqsRecord } from '../helpers/fixtures.ts'
import { configFor, createResources, drain, useMoto, type Clients, type Moto } from '../helpers/moto.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients }>
useMoto(test)

const EMAIL = 'ana.pii@exemplo.br'
const CPF = '987.654.321-00'
const PHONE = '+55 11 98765-4321'
/** What must not appear, not even a piece of it (V8's JSON errors quote a window of about ten characters). */
const PLANTED = [EMAIL, CPF, PHONE, 'ana.pii', '987.654', '98765']

const richOrder = (id: string, amount: number) => ({
  ...seed('lab-rich-order.json'),
  order_id: id,
  customer: { first_name: 'Ana', email: EMAIL, cpf: CPF, phone: PHONE },
  payment: { method: 'PIX', amount },
})

test('no log line of the validator, the worker or the API holds an e-mail, CPF or phone value it was given', async (t) => {
  // Prepare: one logger at debug for all three functions, every line kept
  const lines: string[] = []
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } })
  const { clients } = t.context
  const r = await createResources(clients, 'pii')
  const config = configFor(r)
  const validator = buildValidator({ config, ...clients, s3: clients.objects, logger })
  const worker = buildWorker({ config, ...clients, logger })
  const api = buildApi({ config, ...clients, logger })

  // Act: a file of malformed lines quoting the values, a rich order that is valid and one that is not
  const file = [
    `{"customer": {"email": ${EMAIL}, "cpf": "${CPF}"}}`,
    `{"customer": {"phone": "${PHONE}", "email": "${EMAIL}"`,
    `${EMAIL} ${CPF} ${PHONE}`,
    JSON.stringify(richOrder('PII-1', 2800)),
    JSON.stringify(richOrder('PII-2', 1)),
    `{"order_id": "PII-3", "customer": {"email": "${EMAIL}"}, "notes": "call ${PHONE}", "x": ${'['.repeat(40)}${']'.repeat(40)}}`,
  ].join('\n')
  const { VersionId } = await clients.s3.send(
    new PutObjectCommand({ Bucket: r.bucket, Key: 'orders/pii.jsonl', Body: file }),
  )
  const s3 = {
    bucket: { name: r.bucket },
    object: { key: 'orders/pii.jsonl', versionId: VersionId, size: file.length },
  }
  await validator(sqsEvent(sqsRecord({ Records: [{ eventName: 'ObjectCreated:Put', s3 }] })), fakeContext())
  await validator(
    { Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3 }] } as unknown as S3Event,
    fakeContext(),
  )

  // the API: a valid order, one missing a field, a body that is not JSON, and a deep one
  const post = async (body: string, key?: string) => {
    const event = awsEvent<APIGatewayProxyEvent>('apigw-rest-post-orders.json')
    event.body = body
    event.headers = { ...event.headers, 'Idempotency-Key': key ?? `k-${body.length}` }
    return api(event as never, fakeContext() as never)
  }
  const apiOrder = {
    customerName: 'Ana',
    customerEmail: EMAIL,
    items: [{ productId: 'p1', quantity: 1, price: 5 }],
    notes: PHONE,
  }
  await post(JSON.stringify(apiOrder))
  await post(JSON.stringify({ ...apiOrder, items: [] }))
  await post(`{"customerEmail": ${EMAIL}, "cpf": ${CPF}}`)
  await post(`{"customerEmail": "${EMAIL}", "x": ${deepArray(5000)}}`)

  // the worker: what was queued, plus bodies that are not JSON or not canonical
  const queued = (await drain(clients.sqs, r.mainQueueUrl)).map((m) => sqsRecord(m.Body!))
  await worker(
    sqsEvent(...queued, sqsRecord(`{"email": ${EMAIL}}`), sqsRecord(JSON.stringify(richOrder('PII-4', 2800)))),
    fakeContext() as never,
  )

  // Assess
  t.true(lines.length > 15, `the run wrote its lines (${lines.length})`)
  t.true(
    lines.some((l) => l.includes('not valid JSON')),
    'the malformed lines were logged, by position',
  )
  for (const line of lines) {
    for (const value of PLANTED) t.false(line.includes(value), `a log line holds ${value}: ${line.slice(0, 300)}`)
  }
})

const deepArray = (levels: number): string => `${'['.repeat(levels)}${']'.repeat(levels)}`
