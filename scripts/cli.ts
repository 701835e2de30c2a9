/** What every user command shares: AWS options, client set-up against AWS or a local endpoint, and table output. */
import { Command, Option } from 'commander'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { S3Client } from '@aws-sdk/client-s3'
import { SQSClient } from '@aws-sdk/client-sqs'

export interface AwsOptions {
  region: string
  endpoint?: string
  prefix: string
  table?: string
  json?: boolean
}

/** --region, --endpoint, --prefix, --table and --json, with their environment defaults. */
export const withAwsOptions = (command: Command): Command =>
  command
    .addOption(new Option('--region <region>', 'AWS region').env('AWS_REGION').default('eu-west-3'))
    .addOption(
      new Option('--endpoint <url>', 'AWS endpoint, e.g. the local moto server http://localhost:5000').env(
        'AWS_ENDPOINT_URL',
      ),
    )
    .addOption(
      new Option('--prefix <prefix>', 'name prefix of the deployment (resources are <prefix>-orders, ...)')
        .env('NAME_PREFIX')
        .default('tp'),
    )
    .addOption(new Option('--table <name>', 'orders table (default <prefix>-orders)').env('ORDERS_TABLE'))
    .option('--json', 'print JSON instead of a table')

export const tableName = (options: AwsOptions): string => options.table ?? `${options.prefix}-orders`

/** Client settings for AWS (the standard credential chain: environment, profile, SSO, role) or a local emulator. */
export const clientConfig = (options: Pick<AwsOptions, 'region' | 'endpoint'>) => {
  const local = options.endpoint !== undefined && /localhost|127\.0\.0\.1/.test(options.endpoint)
  return {
    region: options.region,
    endpoint: options.endpoint,
    // A local emulator takes any credentials.
    ...(local && !process.env.AWS_ACCESS_KEY_ID
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  }
}

export const documentClient = (options: Pick<AwsOptions, 'region' | 'endpoint'>): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(options)))

/** With a local endpoint, queue URLs keep their AWS form: requests go to the endpoint. */
export const sqsClient = (options: Pick<AwsOptions, 'region' | 'endpoint'>): SQSClient =>
  new SQSClient({ ...clientConfig(options), useQueueUrlAsEndpoint: options.endpoint === undefined })

/** Path-style addressing on an emulator (its buckets are not DNS names). */
export const s3Client = (options: Pick<AwsOptions, 'region' | 'endpoint'>): S3Client =>
  new S3Client({ ...clientConfig(options), forcePathStyle: options.endpoint !== undefined })

/** `90s`, `30m`, `2h`, `1d` → milliseconds. */
export const parseDuration = (text: string): number => {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(text.trim())
  if (!match) throw new Error(`not a duration: "${text}" (expected a number and s, m, h or d, e.g. 30m)`)
  return Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd']
}

/** 95000 → "1m 35s". */
export const formatAge = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`
}

/** Rows as aligned columns under a header. */
export const formatTable = (rows: Record<string, unknown>[], columns: string[]): string => {
  const cells = [columns, ...rows.map((row) => columns.map((c) => String(row[c] ?? '')))]
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)))
  return cells
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

/**
 * `fallback` when `err` says the resource does not exist (a stack, a queue, a table), else `err` itself: an
 * unreachable endpoint or missing credentials must not read as "not found".
 */
export const notFound = (err: unknown, fallback: string): Error => {
  const name = (err as { name?: string }).name ?? ''
  const missing = [
    'ValidationError',
    'ResourceNotFoundException',
    'AWS.SimpleQueueService.NonExistentQueue',
    'QueueDoesNotExist',
  ].includes(name)
  return missing ? new Error(fallback, { cause: err }) : (err as Error)
}

/** Runs a command, turning errors into one clear line and exit code 1. */
export const run = async (program: Command, argv = process.argv): Promise<void> => {
  try {
    await program.parseAsync(argv)
  } catch (err) {
    const e = err as Error & { name?: string }
    const unreachable = /ECONNREFUSED|ENOTFOUND/.test(`${e.message} ${(e as { code?: string }).code ?? ''}`)
    const hint =
      e.name === 'ResourceNotFoundException'
        ? ' (is the stack deployed, and are --prefix/--table and --endpoint right?)'
        : e.name === 'CredentialsProviderError'
          ? ' (no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID, or use --endpoint for the local stack)'
          : unreachable
            ? ' (nothing answers at that address: for the local stack, is npm start running, and is --endpoint right?)'
            : ''
    console.error(`${program.name()}: ${e.message}${hint}`)
    process.exitCode = 1
  }
}
