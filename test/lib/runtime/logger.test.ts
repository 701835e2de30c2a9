import test from 'ava'
import { Writable } from 'node:stream'
import { createLogger } from '../../../lib/runtime/logger.ts'
import { seed, seedText } from '../../helpers/fixtures.ts'

/** A logger writing to a stream whose lines the test reads back (pino writes synchronously to it). */
const collectingLogger = (level = 'info') => {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      lines.push(
        ...String(chunk)
          .split('\n')
          .filter((line) => line !== ''),
      )
      callback()
    },
  })
  return { log: createLogger({ name: 'tp-order-worker', level, destination }), lines }
}

/** Every personal value of the rich seed: customer e-mail, CPF, phone, names, home and shipping address. */
const PERSONAL = [
  'mariana.alves@example.com',
  '123.456.789-00',
  '+55 21 91234-5678',
  'Mariana',
  'Alves',
  'Avenida das Américas',
  'Bloco 2, Apt 301',
  'Barra da Tijuca',
  '22640-102',
]
const API_PERSONAL = ['john.doe@example.com', 'John Doe', '123 Main St', 'Anytown']

const onlyLine = (
  t: { is: (a: unknown, b: unknown) => void },
  lines: string[],
): { text: string; json: Record<string, unknown> } => {
  t.is(lines.length, 1)
  const text = lines[0] ?? ''
  return { text, json: JSON.parse(text) as Record<string, unknown> }
}

test('a rich order and a raw body logged by mistake leave no personal data in the line', (t) => {
  // Prepare
  const { log, lines } = collectingLogger()
  const order = seed('lab-rich-order.json')
  // Act
  log.info({ orderId: order.order_id, order, body: seedText('lab-rich-order.json') }, 'order received')
  // Assess
  const { text, json } = onlyLine(t, lines)
  for (const value of PERSONAL) t.false(text.includes(value), `${value} leaked: ${text}`)
  t.true(text.includes('[redacted]'))
  t.like(json, {
    level: 'info',
    orderId: 'ORD-20231001-0001',
    msg: 'order received',
    name: 'tp-order-worker',
    body: '[redacted]',
  })
  t.like(json.order, {
    order_id: 'ORD-20231001-0001',
    customer: '[redacted]',
    shipping: { address: '[redacted]', method: 'Express' },
  })
  t.regex(String(json.time), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
})

test('a rich order spread at the top of a log line is redacted too', (t) => {
  // Prepare
  const { log, lines } = collectingLogger()
  const order = seed('lab-rich-order.json')
  // Act
  log.warn({ ...order }, 'order rejected')
  // Assess
  const { text, json } = onlyLine(t, lines)
  for (const value of PERSONAL) t.false(text.includes(value), `${value} leaked: ${text}`)
  t.false(text.includes('12.345.678/0001-99'), 'the CNPJ leaked')
  t.like(json, {
    level: 'warn',
    order_id: 'ORD-20231001-0001',
    customer: '[redacted]',
    company: { cnpj: '[redacted]', name: 'Tech Solutions Ltda' },
  })
})

test('a normalised canonical order keeps its id and amounts but not its customer', (t) => {
  // Prepare
  const { log, lines } = collectingLogger()
  const order = {
    order_id: 'ORD-20231001-0001',
    amount: 2800,
    customer: {
      first_name: 'Mariana',
      last_name: 'Alves',
      email: 'mariana.alves@example.com',
      cpf: '123.456.789-00',
      phone: '+55 21 91234-5678',
    },
    shipping: { address: { street: 'Avenida das Américas', zip_code: '22640-102' }, cost: 50 },
  }
  // Act
  log.error({ order }, 'order failed')
  // Assess
  const { text, json } = onlyLine(t, lines)
  for (const value of PERSONAL) t.false(text.includes(value), `${value} leaked: ${text}`)
  t.like(json, {
    level: 'error',
    order: {
      order_id: 'ORD-20231001-0001',
      amount: 2800,
      customer: '[redacted]',
      shipping: { cost: 50, address: '[redacted]' },
    },
  })
})

test('an API body, at the top or one level down, leaves no personal data in the line', (t) => {
  // Prepare
  const { log, lines } = collectingLogger()
  const body = seed('api-create-order.json')
  // Act
  log.info(body, 'top')
  log.info({ request: body }, 'nested')
  // Assess
  t.is(lines.length, 2)
  for (const line of lines) {
    for (const value of API_PERSONAL) t.false(line.includes(value), `${value} leaked: ${line}`)
    t.true(line.includes('[redacted]'))
    t.true(line.includes('"paymentMethod":"CARD"'), 'non-personal fields stay')
  }
})

test('an event body is redacted whole', (t) => {
  // Prepare
  const { log, lines } = collectingLogger()
  // Act
  log.info({ event: { httpMethod: 'POST', body: seedText('api-create-order.json') } }, 'request')
  // Assess
  const { text, json } = onlyLine(t, lines)
  for (const value of API_PERSONAL) t.false(text.includes(value), `${value} leaked: ${text}`)
  t.like(json, { event: { httpMethod: 'POST', body: '[redacted]' } })
})

test('the logger writes JSON lines with a level label, an ISO time and no pid or hostname', (t) => {
  // Prepare
  const { log, lines } = collectingLogger()
  // Act
  log.info({ orderId: 'ORD-1', correlationId: 'c-1' }, 'order settled')
  // Assess
  const { json } = onlyLine(t, lines)
  t.deepEqual(Object.keys(json).sort(), ['correlationId', 'level', 'msg', 'name', 'orderId', 'time'])
  t.is(json.level, 'info')
  t.false(Number.isNaN(Date.parse(String(json.time))))
})

test('lines below the configured level are not written', (t) => {
  // Prepare
  const { log, lines } = collectingLogger('warn')
  // Act
  log.info({ orderId: 'ORD-1' }, 'quiet')
  log.warn({ orderId: 'ORD-2' }, 'loud')
  // Assess
  const { json } = onlyLine(t, lines)
  t.like(json, { level: 'warn', orderId: 'ORD-2' })
})

test('an unknown level is refused when the logger is built', (t) => {
  // Act / Assess
  t.throws(() => createLogger({ level: 'loud', destination: new Writable({ write: (_c, _e, cb) => cb() }) }), {
    message: /loud/,
  })
})

test('orders logged inside an array or two levels down are redacted too', (t) => {
  const lines: string[] = []
  const log = createLogger({
    level: 'info',
    destination: new Writable({
      write(c: Buffer, _e, cb) {
        lines.push(String(c))
        cb()
      },
    }),
  })
  const order = seed('lab-rich-order.json')
  log.info({ orders: [order] }, 'array')
  log.info({ record: { order } }, 'deep')
  t.is(lines.length, 2)
  for (const line of lines)
    for (const v of ['Mariana', 'Alves', 'Avenida das Américas', '22640-102', '12.345.678/0001-99'])
      t.false(line.includes(v), `${v} leaked`)
  t.true(lines[1]!.includes('ORD-20231001-0001'), 'ids stay')
})

test('every line names its function and keeps errors whole', (t) => {
  const lines: string[] = []
  const log = createLogger({
    name: 'tp-order-worker',
    level: 'info',
    destination: new Writable({
      write(c: Buffer, _e, cb) {
        lines.push(String(c))
        cb()
      },
    }),
  })
  log.error({ err: new Error('boom') }, 'failed')
  const line = JSON.parse(lines[0]!) as { name: string; err: { message: string; stack: string } }
  t.is(line.name, 'tp-order-worker')
  t.is(line.err.message, 'boom')
  t.regex(line.err.stack, /Error: boom/)
})
