/**
 * npm run redrive: what is in a dead-letter queue and why, and its replay to the source queue.
 * Without --replay it only summarises (messages are made visible again at once).
 */
import { Command, Option } from 'commander'
import { SingleBar } from 'cli-progress'
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs'
import { peekAll, replayDlq, summarise, type DlqReplay, type Filters } from './ops/dlq.ts'
import { describeMessage } from '../lib/aws/dlq.ts'
import { notFound, run, withAwsOptions, type AwsOptions } from './cli.ts'
import { sqsClient } from '../lib/aws/clients.ts'
import { formatTable, parseDuration } from './format.ts'
import { eachOf, orderId } from './ops/paths.ts'

interface RedriveOptions extends AwsOptions {
  queue: 'main' | 'ingest'
  replay?: boolean
  dryRun?: boolean
  errorClass?: string[]
  orderId?: string[]
  olderThan?: string
  newerThan?: string
  max?: number
  includePermanent?: boolean
  maxReplays: number
  rate: number
}

const program = withAwsOptions(new Command('redrive'))
  .description('Summarise a dead-letter queue by error class, and replay its messages to their source queue.')
  .addOption(new Option('--queue <queue>', 'which DLQ').choices(['main', 'ingest']).default('main'))
  .option('--replay', 'replay the selected messages (without it: summary only)')
  .option('--dry-run', 'with --replay: show what would be replayed, change nothing')
  .option('--error-class <class...>', 'only these error classes (e.g. Retried TransientError)')
  .addOption(new Option('--order-id <id...>', 'only these order ids').argParser(eachOf(orderId, '--order-id')))
  .option('--older-than <duration>', 'only messages parked at least this long ago (e.g. 30m, 2h, 1d)')
  .option('--newer-than <duration>', 'only messages parked at most this long ago')
  .addOption(new Option('--max <n>', 'consider at most n messages').argParser(Number))
  .option('--include-permanent', 'replay permanent rejects too (validation, conflict, malformed, file errors)')
  .addOption(
    new Option('--max-replays <n>', 'skip messages replayed this many times already').default(3).argParser(Number),
  )
  .addOption(new Option('--rate <n>', 'messages per second').default(10).argParser(Number))
  .addHelpText(
    'after',
    `
Permanent rejects are not replayed unless --include-permanent: replaying them only parks them again, unless the
code or the data they depend on changed. A message leaves the DLQ only after its copy was sent to the source queue.
Ctrl-C stops between two messages; the rest stay in the DLQ.

Examples:
  npm run redrive                                       # what is in the main DLQ, by error class
  npm run redrive -- --replay --dry-run                 # what a replay would do
  npm run redrive -- --replay --error-class Retried --older-than 10m --rate 5
  npm run redrive -- --queue ingest --endpoint http://localhost:5000`,
  )
  .action(async (options: RedriveOptions) => {
    const sqs = sqsClient(options)
    const name = `${options.prefix}-orders-${options.queue}-dlq`
    const { QueueUrl: dlqUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name })).catch((err: unknown) => {
      throw notFound(
        err,
        `queue ${name} not found (is the stack deployed, and are --prefix, --region and --endpoint right?)`,
      )
    })
    const filters: Filters = {
      errorClasses: options.errorClass,
      orderIds: options.orderId,
      includePermanent: options.includePermanent,
      maxReplays: options.maxReplays,
      olderThanMs: options.olderThan ? parseDuration(options.olderThan) : undefined,
      newerThanMs: options.newerThan ? parseDuration(options.newerThan) : undefined,
    }
    if (!(options.rate > 0)) throw new Error('--rate must be a positive number')

    if (!options.replay) {
      const messages = (await peekAll(sqs, dlqUrl!, options.max)).map(describeMessage)
      const groups = summarise(messages)
      if (options.json) console.log(JSON.stringify({ queue: name, messages: messages.length, groups }, null, 2))
      else
        console.log(
          messages.length === 0
            ? `${name} is empty`
            : `${name}: ${messages.length} messages\n${formatTable(groups, ['class', 'count', 'oldest', 'newest', 'example', 'orders'])}`,
        )
      return
    }

    const abort = new AbortController()
    const onSignal = () => abort.abort()
    process.once('SIGINT', onSignal)
    const bar = new SingleBar({
      format: 'replaying [{bar}] {value}/{total} {outcome}',
      stream: process.stderr,
      noTTYOutput: false,
    })
    let result: DlqReplay
    try {
      result = await replayDlq({
        sqs,
        dlqUrl: dlqUrl!,
        filters,
        dryRun: Boolean(options.dryRun),
        rate: options.rate,
        max: options.max,
        signal: abort.signal,
        onStart: (total) => {
          if (!options.json) bar.start(total, 0, { outcome: '' })
        },
        onProgress: (done, planned) => bar.update(done, { outcome: planned.action }),
      })
    } finally {
      bar.stop()
      process.removeListener('SIGINT', onSignal)
    }
    const { messages: planned, ...report } = result
    const summary = { queue: name, ...report }
    if (options.json) {
      console.log(JSON.stringify({ ...summary, messages: planned }, null, 2))
    } else {
      if (planned.length > 0) console.log(formatTable(planned, ['messageId', 'class', 'order', 'action']))
      console.log(
        `${options.dryRun ? 'dry run: nothing changed. ' : ''}replayed ${report.replayed}, skipped ${report.skipped}, failed ${report.failed}${report.interrupted ? ' (interrupted: the rest stay in the DLQ)' : ''}`,
      )
      for (const f of report.failures) console.log(`failed ${f.messageId}: ${f.error}`)
    }
    if (report.failed > 0 || report.interrupted) process.exitCode = report.interrupted ? 130 : 1
  })

if (import.meta.url === `file://${process.argv[1]}`) await run(program)
export { program }
