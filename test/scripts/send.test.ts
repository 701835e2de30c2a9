/**
 * npm run send's input (scripts/ops/send-input.ts: a .json object or array, .jsonl, stdin; a bad line refused with
 * the file and line named, never quoted), the upload's key, and how --wait reads the table (judge, waitForOutcomes)
 * with the table faked. The doors themselves: test/e2e/operations.test.ts.
 */
import test from 'ava'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import type { OrderStatus } from '../../lib/aws/table.ts'
import { InputError, readSendInput, uploadName } from '../../scripts/ops/send-input.ts'
import { judge, uploadKey, waitForOutcomes, type SentOrder } from '../../scripts/send.ts'
import { intakeKey } from '../../scripts/ops/paths.ts'

const dir = mkdtempSync(join(tmpdir(), 'send-'))
test.after.always(() => {
  rmSync(dir, { recursive: true, force: true })
})

const file = (name: string, text: string): string => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

const order = (id: string) => ({
  order_id: id,
  customer_id: 'C-1',
  amount: 10,
  items: [{ sku: 'S', qty: 1, unit_price: 10 }],
})

test('a .json object is one order at line 1; a .json array is one order per element', async (t) => {
  const one = await readSendInput(file('one.json', JSON.stringify(order('A'), null, 2)))
  t.is(one.format, 'json')
  t.deepEqual(
    one.orders.map((o) => [o.line, (o.value as { order_id: string }).order_id]),
    [[1, 'A']],
  )
  const many = await readSendInput(file('many.json', JSON.stringify([order('A'), order('B')], null, 2)))
  t.deepEqual(
    many.orders.map((o) => [o.line, o.text]),
    [
      [1, JSON.stringify(order('A'))],
      [2, JSON.stringify(order('B'))],
    ],
  )
})

test('a .jsonl file is one order a line, numbered by physical line (blank lines, CRLF and a BOM tolerated)', async (t) => {
  const text = `\uFEFF${JSON.stringify(order('A'))}\r\n\n${JSON.stringify(order('B'))}\r\n`
  const input = await readSendInput(file('orders.jsonl', text))
  t.is(input.format, 'jsonl')
  t.deepEqual(
    input.orders.map((o) => [o.line, (o.value as { order_id: string }).order_id]),
    [
      [1, 'A'],
      [3, 'B'],
    ],
  )
})

test('stdin (-) is read as JSON or JSONL by its content', async (t) => {
  const lines = `${JSON.stringify(order('A'))}\n${JSON.stringify(order('B'))}\n`
  const jsonl = await readSendInput('-', { stdin: Readable.from([Buffer.from(lines)]) })
  t.is(jsonl.name, 'stdin')
  t.is(jsonl.format, 'jsonl')
  t.is(jsonl.orders.length, 2)
  const pretty = await readSendInput('-', { stdin: Readable.from([JSON.stringify(order('C'), null, 2)]) })
  t.is(pretty.format, 'json')
  t.is((pretty.orders[0]!.value as { order_id: string }).order_id, 'C')
  const array = await readSendInput('-', { stdin: Readable.from(['[', JSON.stringify(order('D')), ']']) })
  t.is(array.orders.length, 1)
  const forced = await readSendInput('-', { format: 'jsonl', stdin: Readable.from([JSON.stringify(order('E'))]) })
  t.is(forced.format, 'jsonl')
})

test('a line that is not JSON refuses the file, naming the file, the line and the column, not quoting it', async (t) => {
  const path = file('bad.jsonl', `${JSON.stringify(order('A'))}\n\n{"order_id": "secret@example.com", oops}\n`)
  const err = await t.throwsAsync(readSendInput(path), { instanceOf: InputError })
  t.regex(err!.message, /^.*bad\.jsonl line 3, column \d+: not JSON \(/)
  t.false(err!.message.includes('secret@example.com'), 'the input is never quoted')
  const pretty = file('bad.json', '{\n  "order_id": "A",\n  "amount": 10,,\n}')
  await t.throwsAsync(readSendInput(pretty), { message: /bad\.json line 3, column \d+: not JSON/ })
  await t.throwsAsync(readSendInput('-', { stdin: Readable.from(['{"a": 1}\n{"b": \n']) }), {
    message: /^stdin line 2: not JSON \(unexpected end of input\)$/,
  })
})

test('an empty file, a file of no orders, a missing file and an oversized input are refused in one line', async (t) => {
  await t.throwsAsync(readSendInput(file('empty.jsonl', '\n\n')), { message: /empty\.jsonl: no orders/ })
  await t.throwsAsync(readSendInput(file('empty.json', '[]')), { message: /empty\.json: no orders \(an empty array\)/ })
  await t.throwsAsync(readSendInput(file('number.json', '42')), {
    message: /number\.json: a \.json file holds one order \(an object\) or an array of orders, got number/,
  })
  await t.throwsAsync(readSendInput(join(dir, 'nope.json')), { message: /nope\.json: no such file$/ })
  await t.throwsAsync(readSendInput(dir), { message: /: not a file$/ })
  await t.throwsAsync(readSendInput(file('big.jsonl', 'x'.repeat(2048)), { maxBytes: 1024 }), {
    message: /big\.jsonl is larger than .* MiB: upload it/,
  })
})

test('the s3 door uploads under orders/send/ with a safe name that says its format', (t) => {
  const at = new Date('2026-01-07T10:15:00.123Z')
  t.is(
    uploadKey({ name: 'data/orders.jsonl', format: 'jsonl' }, at),
    'orders/send/2026-01-07T10-15-00-123Z-orders.jsonl',
  )
  t.is(uploadName({ name: 'stdin', format: 'json' }), 'stdin.json')
  t.is(uploadName({ name: 'my orders (1).txt', format: 'jsonl' }), 'my-orders--1-.txt.jsonl')
  t.is(uploadName({ name: 'x.ndjson', format: 'jsonl' }), 'x.ndjson.jsonl')
  t.is(uploadName({ name: '../../..json', format: 'json' }), 'json.json')
  const key = uploadKey({ name: 'a.json', format: 'json' }, at)
  t.is(intakeKey('key', key), key)
})

const status = (s: Partial<OrderStatus>): OrderStatus => ({
  order_id: 'A',
  status: 'PROCESSED',
  rejections: [],
  history: [],
  ...s,
})

test('--wait judges what the table says against when the order was sent', (t) => {
  const sentAt = Date.parse('2026-01-07T10:00:00Z')
  const sent: SentOrder = { line: 1, orderId: 'A', outcome: 'QUEUED', detail: '', sentAt, hash: 'h1' }
  t.is(judge(sent, undefined, undefined), undefined, 'nothing yet')
  t.deepEqual(judge(sent, status({ processed_at: '2026-01-07T10:00:01Z', stock_status: 'RESERVED' }), 'h1'), {
    outcome: 'PROCESSED',
    detail: 'stock RESERVED',
  })
  t.like(judge(sent, status({ processed_at: '2026-01-06T09:00:00Z' }), 'h1'), { outcome: 'DUPLICATE' })
  t.like(judge(sent, status({ processed_at: '2026-01-06T09:00:00Z' }), 'h0'), { outcome: 'CONFLICT' })
  const rejection = (at: string) => ({
    status: 'REJECTED',
    message: 'amount must be below 10000',
    reasons: [{ path: '/amount', rule: 'maximum', message: 'amount must be below 10000' }],
    at,
  })
  t.deepEqual(judge(sent, status({ status: 'REJECTED', rejections: [rejection('2026-01-07T10:00:02Z')] }), undefined), {
    outcome: 'REJECTED',
    detail: 'amount must be below 10000',
  })
  t.is(
    judge(sent, status({ status: 'REJECTED', rejections: [rejection('2026-01-01T00:00:00Z')] }), undefined),
    undefined,
    "an earlier rejection of the id is not this order's",
  )
  t.like(judge(sent, status({ status: 'NOTIFIED', processed_at: '2026-01-07T10:00:01Z' }), 'h1'), {
    outcome: 'PROCESSED',
    detail: 'status NOTIFIED',
  })
})

test('--wait settles what the table answers, takes the report for lines without an id, and times the rest out', async (t) => {
  const now = Date.now()
  const orders: SentOrder[] = [
    { line: 1, orderId: 'A', outcome: 'ACCEPTED', detail: '', sentAt: now },
    { line: 2, orderId: 'B', outcome: 'ACCEPTED', detail: '', sentAt: now },
    { line: 3, outcome: 'UPLOADED', detail: '', sentAt: now },
    { line: 4, outcome: 'REJECTED', detail: 'at the door' },
  ]
  const progress: string[] = []
  await waitForOutcomes(orders, {
    status: async (id) => (id === 'A' ? status({ processed_at: new Date().toISOString() }) : undefined),
    storedHash: async () => undefined,
    report: async () => ({ rejects: [{ line: 3, class: 'MalformedOrderError', reason: 'not JSON' }] }) as never,
    timeoutMs: 300,
    intervalMs: 20,
    progress: (line) => progress.push(line),
  })
  t.deepEqual(
    orders.map((o) => o.outcome),
    ['PROCESSED', 'PENDING', 'REJECTED', 'REJECTED'],
  )
  t.regex(orders[1]!.detail, /^not settled after 0 s/)
  t.is(orders[2]!.detail, 'MalformedOrderError: not JSON')
  t.regex(progress[0]!, /^waiting: 1 of 4 settled \(1 REJECTED\), 0 s of 0 s$/)
  t.regex(progress.at(-1)!, /^waiting: 3 of 4 settled/)
})
