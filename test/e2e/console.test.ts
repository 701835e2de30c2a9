/**
 * The console in a real browser (Debian's chromium, puppeteer-core) against the local stack: an order placed with
 * the form and followed to PROCESSED, counted on the dashboard; the API's field errors beside their fields; a
 * retried submit that stays one order; a DLQ message replayed from the page; a stock level edited; the order page;
 * and the stand-alone form on another origin, calling the API with CORS. Saves a screenshot of the dashboard to
 * .build/console-dashboard.png.
 */
import anyTest, { type TestFn } from 'ava'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { extname, join } from 'node:path'
import { SendMessageCommand } from '@aws-sdk/client-sqs'
import type { Browser, HTTPRequest, Page } from 'puppeteer-core'
import { getOrderStatus, getStock, setStock } from '../../lib/aws/table.ts'
import { program as consoleCommand, startConsole } from '../../scripts/console.ts'
import { SETTLED, type ConsoleServer } from '../../scripts/console/server.ts'
import { writeForm } from '../../scripts/console/web.ts'
import { queueArn } from '../../scripts/stack/deployment.ts'
import { runCommand } from '../helpers/cli.ts'
import { seed, tempDir } from '../helpers/fixtures.ts'
import { launchBrowser } from '../helpers/browser.ts'
import { deployLocalStack, waitFor, type LocalStack } from '../helpers/local-stack.ts'
import { depth } from '../helpers/moto.ts'

const test = anyTest as TestFn<{
  stack: LocalStack
  console: ConsoleServer
  browser: Browser
  page: Page
  site: { server: Server; origin: string; dir: string }
}>

const PREFIX = 'console'

/** A static file server for the stand-alone form: another origin than the console's and the API's. */
const serveFolder = async (dir: string) => {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' }
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const name = path === '/' ? 'index.html' : path.slice(1)
    try {
      const body = readFileSync(join(dir, name.replace(/\.\./g, '')))
      res.writeHead(200, { 'Content-Type': types[extname(name)] ?? 'application/json' })
      res.end(body)
    } catch {
      res.writeHead(404)
      res.end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, dir }
}

test.before(async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'order-form-'))
  t.context.site = await serveFolder(dir)
  // The API answers the stand-alone form's origin (the stack's CorsOrigin), as a shop's deployment would.
  t.context.stack = await deployLocalStack(PREFIX, { CorsOrigin: t.context.site.origin })
  const { stack } = t.context
  const now = new Date().toISOString()
  for (const [sku, n] of [
    ['SKU-ELEC-001', 10],
    ['SKU-ELEC-002', 5],
  ] as const)
    await setStock(stack.clients.dynamo, stack.runner.deployment.table, sku, n, now)
  t.context.console = await startConsole({
    endpoint: stack.moto.endpoint,
    region: 'eu-west-3',
    prefix: PREFIX,
    port: 0,
    apiUrl: stack.runner.apiUrl,
    logDir: stack.runner.logDir,
  })
  await writeForm(dir, {
    apiUrl: stack.runner.apiUrl,
    apiKey: 'shop-key',
    products: [{ sku: 'SKU-ELEC-001', name: 'Quillby Wireless Earbuds', price: 264.99, currency: 'EUR' }],
    settled: SETTLED.plain,
  })
  t.context.browser = await launchBrowser()
  t.context.page = await t.context.browser.newPage()
  t.context.page.setDefaultTimeout(30_000)
})

test.after.always(async (t) => {
  await t.context.browser?.close()
  await t.context.console?.close()
  await t.context.stack?.stop()
  t.context.site?.server.close()
  if (t.context.site) rmSync(t.context.site.dir, { recursive: true, force: true })
})

/** Loads `url` afresh (a goto that changes only the hash would keep the page and its state). */
const open = async (page: Page, url: string) => {
  await page.goto('about:blank')
  await page.goto(url, { waitUntil: 'networkidle0' })
}

const text = (page: Page, selector: string) => page.$eval(selector, (e) => e.textContent ?? '')

/** Waits until `selector`'s text matches `pattern`. */
const waitForText = (page: Page, selector: string, pattern: RegExp) =>
  page.waitForFunction(
    (s: string, source: string, flags: string) =>
      new RegExp(source, flags).test(document.querySelector(s)?.textContent ?? ''),
    {},
    selector,
    pattern.source,
    pattern.flags,
  )

const type = async (page: Page, selector: string, value: string) => {
  await page.click(selector, { count: 3 })
  await page.keyboard.press('Backspace')
  if (value) await page.type(selector, value)
}

/** Fills the order form (the console's or the stand-alone one) with a valid order, `overrides` per field id. */
const fillForm = async (page: Page, overrides: Record<string, string> = {}) => {
  const fields = {
    customerName: 'Ada Lovelace',
    customerEmail: 'ada@example.com',
    'quantity-0': '2',
    street: '1 Analytical Row',
    city: 'London',
    postalCode: 'N1 7AA',
    country: 'UK',
    ...overrides,
  }
  for (const [id, value] of Object.entries(fields)) await type(page, `#${id}`, value)
}

let placedOrderId = ''

test.serial(
  'an order placed with the form is accepted, followed to PROCESSED and counted on the dashboard',
  async (t) => {
    const { page, stack } = t.context
    const d = stack.runner.deployment
    await open(page, `${t.context.console.url}/#/new`)
    await page.waitForSelector('#customerName')
    await page.select('#product-0', 'SKU-ELEC-002')
    await fillForm(page)
    await page.click('button[type=submit]')

    await waitForText(page, '[data-testid=order-id]', /\S/)
    placedOrderId = await text(page, '[data-testid=order-id]')
    await waitForText(page, '[data-testid=order-status]', /PROCESSED/)
    const stored = await getOrderStatus(stack.clients.dynamo, d.table, placedOrderId)
    t.is(stored?.status, 'PROCESSED')
    t.deepEqual(stored?.items, [{ sku: 'SKU-ELEC-002', qty: 2, stock: 'RESERVED' }])
    t.is((await getStock(stack.clients.dynamo, d.table, 'SKU-ELEC-002'))?.available, 3)

    await open(page, `${t.context.console.url}/#/`)
    await waitForText(page, '[data-outcome=PROCESSED] .count', /^1$/)
    t.is(await text(page, '[data-outcome=REJECTED] .count'), '0')
  },
)

test.serial(
  "an invalid order gets the API's field errors beside the fields they name, and nothing is queued",
  async (t) => {
    const { page, stack } = t.context
    await open(page, `${t.context.console.url}/#/new`)
    await page.waitForSelector('#customerName')
    await fillForm(page, { customerEmail: '', 'quantity-0': '0' })
    await page.click('button[type=submit]')

    await page.waitForSelector('[data-error-for="/customerEmail"]')
    const beside = (input: string, path: string) =>
      page.$eval(
        input,
        (e, p) => {
          const error = e.closest('.field')?.querySelector(`[data-error-for="${p}"]`)
          return {
            error: error?.textContent ?? '',
            invalid: e.getAttribute('aria-invalid'),
            describedBy: e.getAttribute('aria-describedby') === error?.id,
          }
        },
        path,
      )
    const email = await beside('#customerEmail', '/customerEmail')
    t.regex(email.error, /customerEmail/)
    t.like(email, { invalid: 'true', describedBy: true })
    const quantity = await beside('#quantity-0', '/items/0/quantity')
    t.regex(quantity.error, /1|minimum|at least/i)
    t.is(quantity.invalid, 'true')
    t.regex(await text(page, '[role=alert]'), /customerEmail/)
    t.is(await page.evaluate(() => document.activeElement?.getAttribute('role')), 'alert', 'focus moves to the errors')
    t.is(await depth(stack.clients.sqs, stack.runner.deployment.mainQueueUrl), 0)
  },
)

test.serial('a submit retried after a lost request sends the same Idempotency-Key: one order, not two', async (t) => {
  const { page, stack } = t.context
  const d = stack.runner.deployment
  await open(page, `${t.context.console.url}/#/new`)
  await page.waitForSelector('#customerName')
  await fillForm(page, { customerName: 'Grace Hopper', 'quantity-0': '1' })

  const keys: string[] = []
  let dropped = false
  await page.setRequestInterception(true)
  const onRequest = (r: HTTPRequest) => {
    if (r.method() === 'POST' && r.url().endsWith('/order-api/orders')) {
      keys.push(r.headers()['idempotency-key'] ?? '')
      if (!dropped) {
        dropped = true
        return void r.abort('connectionreset')
      }
    }
    void r.continue()
  }
  page.on('request', onRequest)
  try {
    await page.click('button[type=submit]')
    await waitForText(page, '[role=alert]', /network error/)
    await page.click('button[type=submit]')
    await waitForText(page, '[data-testid=order-status]', /PROCESSED/)
  } finally {
    page.off('request', onRequest)
    await page.setRequestInterception(false)
  }
  const orderId = await text(page, '[data-testid=order-id]')
  t.is(keys.length, 2)
  t.regex(keys[0]!, /^[0-9a-f-]{36}$/)
  t.is(keys[1], keys[0], 'the retry reuses the key of the same content')

  // The same key once more is the same order: a duplicate, not a second order.
  const again = await page.evaluate(
    async (key: string, body: string) => {
      const r = await fetch('/order-api/orders', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
        body,
      })
      return { status: r.status, body: (await r.json()) as { status?: string; orderId?: string } }
    },
    keys[0]!,
    JSON.stringify({
      customerName: 'Grace Hopper',
      customerEmail: 'ada@example.com',
      currency: 'EUR',
      items: [{ productId: 'SKU-ELEC-001', productName: 'Quillby Wireless Earbuds', price: 264.99, quantity: 1 }],
      shippingAddress: { street: '1 Analytical Row', city: 'London', postalCode: 'N1 7AA', country: 'UK' },
      paymentMethod: 'CARD',
    }),
  )
  t.deepEqual([again.status, again.body.status, again.body.orderId], [409, 'DUPLICATE', orderId])
  t.is((await getStock(stack.clients.dynamo, d.table, 'SKU-ELEC-001'))?.reserved, 1, 'one reservation, not two')
})

test.serial(
  'a DLQ message is previewed, then replayed from the page: the DLQ count drops, the order is stored',
  async (t) => {
    const { page, stack } = t.context
    const d = stack.runner.deployment
    await stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: d.mainDlqUrl,
        MessageBody: JSON.stringify({ ...seed('tp-valid.json'), order_id: 'ORD-CONSOLE-DLQ' }),
        MessageAttributes: {
          error: {
            DataType: 'String',
            StringValue: JSON.stringify({
              class: 'TransientError',
              message: 'DynamoDB throttled the write',
              parked_at: new Date(Date.now() - 120_000).toISOString(),
              source_queue: queueArn(d.mainQueueUrl, 'eu-west-3'),
            }),
          },
          source: { DataType: 'String', StringValue: 'api' },
        },
      }),
    )
    await setStock(stack.clients.dynamo, d.table, 'SKU-1', 10, new Date().toISOString())
    await setStock(stack.clients.dynamo, d.table, 'SKU-2', 10, new Date().toISOString())
    await open(page, `${t.context.console.url}/#/`)
    await waitForText(page, '[data-testid=dlq-main-count]', /^1$/)
    t.regex(await text(page, '#dlq-main table'), /TransientError.*DynamoDB throttled the write.*ORD-CONSOLE-DLQ.*api/s)

    const [preview, replay] = await page.$$('#dlq-main .inline button')
    await preview!.click()
    await waitForText(page, '[data-testid=dlq-main-result]', /Dry run, nothing changed: replayed 0, skipped 0/)
    t.regex(await text(page, '#dlq-main .replay details'), /ORD-CONSOLE-DLQ \(TransientError\): would replay/)
    t.is(await depth(stack.clients.sqs, d.mainDlqUrl), 1, 'a preview leaves the message in the DLQ')

    await replay!.click()
    await waitForText(page, '[data-testid=dlq-main-result]', /^replayed 1, skipped 0, failed 0/)
    t.is(await page.$eval('#dlq-main progress', (e) => (e as HTMLProgressElement).value), 1)
    await waitForText(page, '[data-testid=dlq-main-count]', /^0$/)
    await waitFor(
      'the replayed order stored',
      async () => (await getOrderStatus(stack.clients.dynamo, d.table, 'ORD-CONSOLE-DLQ'))?.status === 'PROCESSED',
    )
    t.pass()
  },
)

test.serial(
  'a stock level edited on the dashboard is stored; a wrong one is refused with the field named',
  async (t) => {
    const { page, stack } = t.context
    const d = stack.runner.deployment
    await open(page, `${t.context.console.url}/#/`)
    const row = '#stock tr[data-sku="SKU-ELEC-002"]'
    await page.waitForSelector(`${row} input`)
    await type(page, `${row} input`, '42')
    await page.click(`${row} button`)
    await waitForText(page, `${row} .note`, /saved: 42/)
    t.is((await getStock(stack.clients.dynamo, d.table, 'SKU-ELEC-002'))?.available, 42)

    await type(page, `${row} input`, '-3')
    await page.click(`${row} button`)
    await waitForText(page, `${row} .note`, /available: expected a whole number/)
    t.is((await getStock(stack.clients.dynamo, d.table, 'SKU-ELEC-002'))?.available, 42)

    mkdirSync('.build', { recursive: true })
    await page.setViewport({ width: 1280, height: 900 })
    await page.screenshot({ path: join('.build', 'console-dashboard.png'), fullPage: true })
  },
)

test.serial('the order page shows what GET /orders/{id} says, with its history', async (t) => {
  const { page } = t.context
  await open(page, `${t.context.console.url}/#/orders`)
  await page.waitForSelector('#order-id')
  await type(page, '#order-id', placedOrderId)
  await page.keyboard.press('Enter')
  await waitForText(page, '[data-testid=status]', /PROCESSED/)
  t.is(await page.evaluate(() => location.hash), `#/orders/${placedOrderId}`)
  t.deepEqual(await page.$$eval('[data-testid=history] li strong', (items) => items.map((i) => i.textContent)), [
    'RECEIVED',
    'PROCESSED',
  ])
  await type(page, '#order-id', 'ORD-NOT-THERE')
  await page.keyboard.press('Enter')
  await waitForText(page, '[role=alert]', /Order ORD-NOT-THERE not found/)
})

test.serial('the stand-alone form, hosted on another origin, orders through the API with CORS', async (t) => {
  const { page, stack, site } = t.context
  await page.setViewport({ width: 390, height: 844 })
  await open(page, `${site.origin}/`)
  await page.waitForSelector('#customerName')
  t.false(
    await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth),
    'no sideways scrolling at phone width',
  )
  // Every control has a label, and the keyboard alone goes from field to field and submits.
  t.deepEqual(
    await page.$$eval('form input, form select', (controls) =>
      controls.filter((c) => ((c as HTMLInputElement).labels?.length ?? 0) === 0).map((c) => c.outerHTML),
    ),
    [],
  )
  await page.focus('#customerName')
  await page.keyboard.press('Tab')
  t.is(await page.evaluate(() => document.activeElement?.id), 'customerEmail')
  await fillForm(page, { customerName: 'Katherine Johnson', 'quantity-0': '1' })
  const sent: { url: string; headers: Record<string, string> }[] = []
  const onRequest = (r: HTTPRequest) => {
    if (r.method() === 'POST') sent.push({ url: r.url(), headers: r.headers() })
  }
  page.on('request', onRequest)
  await page.focus('#country')
  await page.keyboard.press('Enter')
  await waitForText(page, '[data-testid=order-status]', /PROCESSED/)
  page.off('request', onRequest)
  const id = await text(page, '[data-testid=order-id]')
  t.is((await getOrderStatus(stack.clients.dynamo, stack.runner.deployment.table, id))?.status, 'PROCESSED')
  // Straight to the API on its own origin (not through the console), with the key of config.json.
  t.is(sent[0]?.url, `${stack.runner.apiUrl}/orders`)
  t.is(sent[0]?.headers['x-api-key'], 'shop-key')
})

/** A raw request to the console, with the headers a hostile page or a rebinding DNS name would send. */
const raw = (url: string, method: string, headers: Record<string, string>, body = '') =>
  new Promise<number>((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end(body)
  })

test.serial(
  'the console answers its own pages only: a foreign Host, a foreign Origin, a form post are refused',
  async (t) => {
    const { url } = t.context.console
    const host = new URL(url).host
    const json = { 'Content-Type': 'application/json' }
    const body = JSON.stringify({ sku: 'SKU-ELEC-001', available: 0 })
    const d = t.context.stack.runner.deployment
    const before = await getStock(t.context.stack.clients.dynamo, d.table, 'SKU-ELEC-001')
    t.is(await raw(`${url}/api/stock`, 'GET', { Host: 'evil.example.com' }), 403)
    t.is(await raw(`${url}/api/stock`, 'POST', { ...json, Host: `evil.example.com:${new URL(url).port}` }, body), 403)
    t.is(await raw(`${url}/api/stock`, 'POST', { ...json, Host: host, Origin: 'https://evil.example.com' }, body), 403)
    t.is(await raw(`${url}/api/stock`, 'POST', { 'Content-Type': 'text/plain', Host: host }, body), 415)
    t.is(await raw(`${url}/api/stock`, 'POST', { ...json, Host: host, Origin: url }, '{"sku":"SKU-ELEC-001"}'), 400)
    t.deepEqual(await getStock(t.context.stack.clients.dynamo, d.table, 'SKU-ELEC-001'), before, 'nothing changed')
  },
)

test.serial(
  "--write-form writes the stand-alone form with the deployment's API and its stocked products",
  async (t) => {
    const { stack } = t.context
    const dir = tempDir(t, 'write-form-')
    const out = await runCommand(consoleCommand, [
      ...['--endpoint', stack.moto.endpoint, '--prefix', PREFIX, '--api-url', stack.runner.apiUrl],
      ...['--write-form', dir],
    ])
    t.regex(out, /wrote .*index\.html, .*form\.js, .*style\.css, .*config\.json/)
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {
      apiUrl: string
      products: { sku: string; name: string; price: number }[]
      settled: string[]
    }
    t.is(config.apiUrl, stack.runner.apiUrl)
    t.deepEqual(
      config.products.map((p) => [p.sku, p.name, p.price]),
      [
        ['SKU-ELEC-001', 'Quillby Wireless Earbuds', 264.99],
        ['SKU-ELEC-002', 'Quillby Smart Speaker', 74.99],
      ],
    )
    t.deepEqual(config.settled, SETTLED.plain)
    t.regex(readFileSync(join(dir, 'index.html'), 'utf8'), /<script type="module" src="form.js">/)
  },
)
