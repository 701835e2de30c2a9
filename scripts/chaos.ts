/**
 * npm run chaos: a fault run of the whole pipeline on the local stack. It starts an emulator of its own, deploys the
 * stacks to it, runs the functions behind a fault-injecting proxy (throttling and 5xx on DynamoDB and SQS,
 * CloudWatch down, function processes killed), sends a seeded mix of valid, invalid, duplicate, conflicting and
 * malformed orders through both doors (the API and S3 files), waits for the queues to drain and counts what became
 * of every order. Exit 0 only when nothing was lost and no stock was reserved twice.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { paginateScan } from '@aws-sdk/lib-dynamodb'
import { Command, Option } from 'commander'
import { dynamoClient, s3Client, sqsClient } from '../lib/aws/clients.ts'
import { describeMessage } from '../lib/aws/dlq.ts'
import { queueDepth } from '../lib/aws/queue.ts'
import { setStock, ORDER_SK, STOCK_SK } from '../lib/aws/table.ts'
import { OUTCOME } from '../lib/orders/outcomes.ts'
import { run } from './cli.ts'
import { formatTable } from './format.ts'
import { OutcomeLog } from './local/demo.ts'
import { deployToEmulator } from './local/deploy.ts'
import { seededRandom, startFaultProxy, type FaultCounts } from './local/fault-proxy.ts'
import { freePort, startMotoServer } from './local/moto.ts'
import { stopProcess } from './local/process.ts'
import { startRunner } from './local/runner.ts'
import { receiveAll } from './ops/dlq.ts'
import { stackNameOf } from './stack/deployment.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const REGION = 'eu-west-3'
const SKUS = Array.from({ length: 8 }, (_, i) => `CHAOS-${i + 1}`)

export interface ChaosOptions {
  orders: number
  seed: number
  throttle: number
  serverErrors: number
  kills: number
  timeoutSeconds: number
  /** Build the bundles first (npm run build), as the command does unless --no-build. */
  build?: boolean
  log?: (line: string) => void
}

type Kind = 'valid' | 'duplicate' | 'conflict' | 'invalid' | 'malformed'
interface Sent {
  kind: Kind
  door: 'api' | 's3'
  orderId?: string
  body: string
}

export interface ChaosReport {
  sent: Record<Kind, number>
  /** Distinct order ids sent as valid orders (a conflict's id among them). */
  expectedIds: number
  storedOnce: number
  duplicates: number
  rejected: number
  parked: Record<string, number>
  /** The API answered a 5xx after the client's retries: the client knows, nothing is lost. */
  refusedAtTheDoor: number
  lost: string[]
  /** SKUs whose reserved count exceeds what the stored orders reserve. */
  reservedTwice: string[]
  faults: FaultCounts & { killed: number }
  drained: boolean
  drainSeconds: number
}

const money = (cents: number) => cents / 100

/** The seeded mix: what is sent, through which door, in which order. */
export const orderMix = (count: number, seed: number): Sent[] => {
  const random = seededRandom(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const door = (): 'api' | 's3' => (random() < 0.5 ? 'api' : 's3')
  const order = (id: string, extraCents = 0) => {
    const items = Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({
      sku: pick(SKUS),
      qty: 1 + Math.floor(random() * 3),
      unit_price: money(100 + Math.floor(random() * 9900)),
    }))
    const cents = items.reduce((sum, i) => sum + i.qty * Math.round(i.unit_price * 100), 0)
    return {
      order_id: id,
      customer_id: `CUST-${Math.floor(random() * 50)}`,
      created_at: '2026-01-07T10:00:00Z',
      currency: 'EUR',
      amount: money(cents + extraCents),
      items,
    }
  }
  const sent: Sent[] = []
  const valid: Sent[] = []
  const counts = { valid: 0.65, duplicate: 0.1, conflict: 0.05, invalid: 0.1 }
  for (let i = 0; i < count; i++) {
    const roll = random()
    if (roll < counts.valid || valid.length === 0) {
      const id = `CH-${seed}-${i}`
      const s: Sent = { kind: 'valid', door: door(), orderId: id, body: JSON.stringify(order(id)) }
      valid.push(s)
      sent.push(s)
    } else if (roll < counts.valid + counts.duplicate) {
      const original = pick(valid)
      sent.push({ ...original, kind: 'duplicate', door: original.door === 'api' ? 's3' : 'api' })
    } else if (roll < counts.valid + counts.duplicate + counts.conflict) {
      const original = pick(valid)
      const id = original.orderId!
      sent.push({ kind: 'conflict', door: door(), orderId: id, body: JSON.stringify(order(id)) })
    } else if (roll < counts.valid + counts.duplicate + counts.conflict + counts.invalid) {
      const id = `CH-BAD-${seed}-${i}`
      sent.push({ kind: 'invalid', door: door(), orderId: id, body: JSON.stringify(order(id, 1)) })
    } else {
      sent.push({ kind: 'malformed', door: door(), body: `{"order_id": "CH-BROKEN-${i}", "items": [` })
    }
  }
  return sent
}

/** Runs the whole fault run and returns what became of every order. */
export const runChaos = async (options: ChaosOptions): Promise<ChaosReport> => {
  const log = options.log ?? ((line: string) => console.log(line))
  if (options.build) {
    log('building the bundles (npm run build)')
    const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, encoding: 'utf8' })
    if (build.status !== 0) throw new Error(`npm run build failed: ${build.stderr.slice(-500)}`)
  }
  if (!existsSync(join(root, 'dist/worker/index.mjs'))) throw new Error('dist/ is missing: run npm run build first')
  const workDir = mkdtempSync(join(tmpdir(), 'chaos-'))
  const moto = await startMotoServer(await freePort(), join(workDir, 'moto.log'))
  const prefix = 'chaos'
  const stackName = stackNameOf(prefix)
  let runnerStop: (() => Promise<void>) | undefined
  let proxyStop: (() => Promise<void>) | undefined
  try {
    log(`emulator at ${moto.endpoint}; deploying ${stackName}`)
    await deployToEmulator({
      endpoint: moto.endpoint,
      prefix,
      stage: 'chaos',
      parameters: { FunctionTimeout: 2, QueueVisibilityTimeout: 12, MaxReceiveCount: 5 },
    })

    const proxy = await startFaultProxy(
      moto.endpoint,
      { throttle: options.throttle, serverError: options.serverErrors, cloudWatchDown: true },
      options.seed,
    )
    proxyStop = proxy.stop
    const outcomes = new OutcomeLog()
    const runner = await startRunner({
      endpoint: moto.endpoint,
      functionEndpoint: proxy.url,
      region: REGION,
      stackName,
      prefix,
      stage: 'chaos',
      apiPort: await freePort(),
      workDir,
      onLog: (fn, line) => outcomes.record(fn, line),
    })
    runnerStop = runner.stop
    const d = runner.deployment
    const where = { region: REGION, endpoint: moto.endpoint }
    const [sqs, s3, dynamo] = [sqsClient(where), s3Client(where), dynamoClient(where)]
    const now = new Date().toISOString()
    for (const sku of SKUS) await setStock(dynamo, d.table, sku, 1_000_000, now)
    log(
      `faults: ${options.throttle * 100}% throttled and ${options.serverErrors * 100}% 5xx on DynamoDB and SQS, ` +
        `CloudWatch down, ${options.kills} function processes killed`,
    )

    // Killed function processes, one at a time, while the orders go through.
    const random = seededRandom(options.seed + 1)
    let killed = 0
    let sending = true
    const functions = Object.values(d.functions)
    const killing = (async () => {
      while (killed < options.kills && sending) {
        await sleep(500 + random() * 1500)
        if (runner.crash(functions[Math.floor(random() * functions.length)]!)) killed++
      }
    })()

    // The mix, through both doors: S3 files of 25 lines, and POSTs a client retries on a 5xx.
    const mix = orderMix(options.orders, options.seed)
    const started = Date.now()
    let refusedAtTheDoor = 0
    let duplicates = 0
    let rejectedAtTheDoor = 0
    const s3Lines = mix.filter((m) => m.door === 's3')
    for (let i = 0; i < s3Lines.length; i += 25) {
      const body = s3Lines
        .slice(i, i + 25)
        .map((m) => m.body)
        .join('\n')
      await s3.send(
        new PutObjectCommand({ Bucket: d.bucket, Key: `orders/chaos/file-${i / 25 + 1}.jsonl`, Body: body }),
      )
    }
    const posts = mix.filter((m) => m.door === 'api')
    for (const [n, m] of posts.entries()) {
      let status = 0
      let answer: { status?: string } = {}
      for (let attempt = 0; attempt < 5; attempt++) {
        const response = await fetch(`${runner.apiUrl}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: m.body,
        })
        status = response.status
        answer = (await response.json().catch(() => ({}))) as { status?: string }
        if (status < 500) break
        await sleep(100 * 2 ** attempt)
      }
      if (status >= 500) refusedAtTheDoor++
      else if (status === 409 && answer.status === OUTCOME.DUPLICATE) duplicates++
      else if (status === 400 || status === 409) rejectedAtTheDoor++
      if ((n + 1) % 50 === 0) log(`posted ${n + 1} of ${posts.length}`)
    }
    log(`sent ${mix.length} (${s3Lines.length} in ${Math.ceil(s3Lines.length / 25)} S3 files, ${posts.length} POSTs)`)

    // Drained: both queues empty, visible or not, three seconds in a row.
    let quiet = 0
    let drained = false
    const deadline = Date.now() + options.timeoutSeconds * 1000
    while (Date.now() < deadline) {
      const depths = await Promise.all([queueDepth(sqs, d.ingestQueueUrl), queueDepth(sqs, d.mainQueueUrl)])
      quiet = depths.every((x) => x === 0) ? quiet + 1 : 0
      if (quiet >= 3) {
        drained = true
        break
      }
      if (quiet === 0) log(`waiting for the queues: ingest ${depths[0]}, main ${depths[1]}`)
      await sleep(1000)
    }
    sending = false
    await killing
    const drainSeconds = (Date.now() - started) / 1000

    // What the table and the DLQs hold.
    const stored = new Map<string, Record<string, unknown>>()
    const reserved = new Map<string, number>()
    for await (const page of paginateScan({ client: dynamo }, { TableName: d.table })) {
      for (const item of page.Items ?? []) {
        if (item.sk === ORDER_SK) stored.set(String(item.order_id), item)
        if (item.sk === STOCK_SK) reserved.set(String(item.sku), Number(item.reserved ?? 0))
      }
    }
    const parked: Record<string, number> = {}
    const parkedIds = new Set<string>()
    for (const url of [d.mainDlqUrl, d.ingestDlqUrl]) {
      // Received hidden (the run is over): a peek with visibility 0 sees the same first messages again on moto.
      for (const m of (await receiveAll(sqs, url, 300)).map(describeMessage)) {
        parked[m.errorClass] = (parked[m.errorClass] ?? 0) + 1
        if (m.orderId) parkedIds.add(m.orderId)
      }
    }
    const expected = new Set(mix.filter((m) => m.kind === 'valid').map((m) => m.orderId!))
    const lost = [...expected].filter((id) => !stored.has(id) && !parkedIds.has(id))
    const wanted = new Map<string, number>()
    for (const item of stored.values()) {
      const order = item.order as { items: { sku: string; qty: number; stock: string }[] }
      for (const line of order.items) {
        if (line.stock === 'RESERVED') wanted.set(line.sku, (wanted.get(line.sku) ?? 0) + line.qty)
      }
    }
    const reservedTwice = SKUS.filter((sku) => (reserved.get(sku) ?? 0) > (wanted.get(sku) ?? 0))
    const sent = { valid: 0, duplicate: 0, conflict: 0, invalid: 0, malformed: 0 } satisfies Record<Kind, number>
    for (const m of mix) sent[m.kind]++
    const settled = [...expected].flatMap((id) => outcomes.all(id))
    return {
      sent,
      expectedIds: expected.size,
      storedOnce: [...expected].filter((id) => stored.has(id)).length,
      duplicates: duplicates + settled.filter((o) => o === OUTCOME.DUPLICATE).length,
      rejected: rejectedAtTheDoor + Object.values(parked).reduce((a, b) => a + b, 0) - (parked.Retried ?? 0),
      parked,
      refusedAtTheDoor,
      lost,
      reservedTwice,
      faults: { ...proxy.counts, killed },
      drained,
      drainSeconds,
    }
  } finally {
    await runnerStop?.()
    await proxyStop?.()
    await stopProcess(moto.child)
    rmSync(workDir, { recursive: true, force: true })
  }
}

/** The report as a person reads it. */
export const formatReport = (r: ChaosReport): string => {
  const rows = [
    {
      figure: 'sent',
      value: Object.entries(r.sent)
        .map(([k, v]) => `${v} ${k}`)
        .join(', '),
    },
    { figure: 'distinct valid orders', value: r.expectedIds },
    { figure: 'stored exactly once', value: r.storedOnce },
    { figure: 'duplicates (409 DUPLICATE, or DUPLICATE in the worker)', value: r.duplicates },
    { figure: 'rejected (400, 409 CONFLICT, or parked with a reason)', value: r.rejected },
    {
      figure: 'parked in a DLQ, by class',
      value:
        Object.entries(r.parked)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || '-',
    },
    { figure: 'refused at the door (5xx after retries)', value: r.refusedAtTheDoor },
    { figure: 'lost', value: r.lost.length === 0 ? 0 : `${r.lost.length}: ${r.lost.slice(0, 5).join(', ')}` },
    { figure: 'stock reserved twice', value: r.reservedTwice.length === 0 ? 0 : r.reservedTwice.join(', ') },
    {
      figure: 'faults injected',
      value: `${r.faults.throttled} throttled, ${r.faults.serverErrors} 5xx, ${r.faults.cloudWatchRefused} CloudWatch calls refused, ${r.faults.killed} processes killed`,
    },
    {
      figure: 'time to drain',
      value: r.drained ? `${r.drainSeconds.toFixed(1)} s` : `not drained after ${r.drainSeconds.toFixed(0)} s`,
    },
  ]
  return formatTable(rows, ['figure', 'value'])
}

const rate = (name: string) => (text: string) => {
  const value = Number(text)
  if (!(value >= 0 && value < 1)) throw new Error(`${name} must be a number from 0 to below 1, got "${text}"`)
  return value
}
const count = (name: string) => (text: string) => {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, got "${text}"`)
  return value
}

const program = new Command('chaos')
  .description(
    'Run the pipeline on a local stack of its own behind injected faults and count what became of every order. ' +
      'Exit 0 only when nothing is lost or reserved twice.',
  )
  .addOption(new Option('--orders <n>', 'orders to send').default(200).argParser(count('--orders')))
  .addOption(new Option('--seed <s>', 'seed of the mix and of the faults').default(1).argParser(count('--seed')))
  .addOption(
    new Option('--throttle <rate>', 'share of DynamoDB and SQS calls throttled')
      .default(0.1)
      .argParser(rate('--throttle')),
  )
  .addOption(
    new Option('--server-errors <rate>', 'share answered with a 500').default(0.05).argParser(rate('--server-errors')),
  )
  .addOption(
    new Option('--kills <n>', 'function processes killed during the run').default(12).argParser(count('--kills')),
  )
  .addOption(
    new Option('--timeout <seconds>', 'longest wait for the queues to drain')
      .default(300)
      .argParser(count('--timeout')),
  )
  .option('--json', 'print the report as JSON')
  .option('--no-build', 'use the bundles in dist/ as they are')
  .addHelpText(
    'after',
    '\nNeeds moto_server; builds the bundles first (--no-build: use dist/ as it is). Uses an emulator of its own on a free port.',
  )
  .action(
    async (o: {
      build: boolean
      orders: number
      seed: number
      throttle: number
      serverErrors: number
      kills: number
      timeout: number
      json?: boolean
    }) => {
      const report = await runChaos({ ...o, timeoutSeconds: o.timeout, log: (line) => console.error(line) })
      console.log(o.json ? JSON.stringify(report, null, 2) : formatReport(report))
      process.exitCode = report.lost.length === 0 && report.reservedTwice.length === 0 && report.drained ? 0 : 1
    },
  )

if (import.meta.url === `file://${process.argv[1]}`) await run(program)
export { program }
