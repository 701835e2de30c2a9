/** What every user command shares: AWS options, client set-up against AWS or a local endpoint, and table output. */
import { Command, Option } from 'commander'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'

export interface AwsOptions { region: string, endpoint?: string, prefix: string, table?: string, json?: boolean }

/** --region, --endpoint, --prefix, --table and --json, with their environment defaults. */
export const withAwsOptions = (command: Command): Command => command
  .addOption(new Option('--region <region>', 'AWS region').env('AWS_REGION').default('eu-west-3'))
  .addOption(new Option('--endpoint <url>', 'AWS endpoint, e.g. the local moto server http://localhost:5000').env('AWS_ENDPOINT_URL'))
  .addOption(new Option('--prefix <prefix>', 'name prefix of the deployment (resources are <prefix>-orders, ...)').env('NAME_PREFIX').default('tp'))
  .addOption(new Option('--table <name>', 'orders table (default <prefix>-orders)').env('ORDERS_TABLE'))
  .option('--json', 'print JSON instead of a table')

export const tableName = (options: AwsOptions): string => options.table ?? `${options.prefix}-orders`

export const documentClient = (options: AwsOptions): DynamoDBDocumentClient => {
  const local = options.endpoint !== undefined && /localhost|127\.0\.0\.1/.test(options.endpoint)
  return DynamoDBDocumentClient.from(new DynamoDBClient({
    region: options.region,
    endpoint: options.endpoint,
    // A local emulator takes any credentials; AWS uses the standard chain (environment, profile, SSO, role).
    ...(local && !process.env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  }))
}

/** Rows as aligned columns under a header. */
export const formatTable = (rows: Record<string, unknown>[], columns: string[]): string => {
  const cells = [columns, ...rows.map((row) => columns.map((c) => String(row[c] ?? '')))]
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)))
  return cells.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')
}

/** Runs a command, turning errors into one clear line and exit code 1. */
export const run = async (program: Command, argv = process.argv): Promise<void> => {
  try {
    await program.parseAsync(argv)
  } catch (err) {
    const e = err as Error & { name?: string }
    const hint = e.name === 'ResourceNotFoundException' ? ' (is the stack deployed, and are --prefix/--table and --endpoint right?)'
      : e.name === 'CredentialsProviderError' ? ' (no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID, or use --endpoint for the local stack)'
        : ''
    console.error(`${program.name()}: ${e.message}${hint}`)
    process.exitCode = 1
  }
}
