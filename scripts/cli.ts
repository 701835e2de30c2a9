/**
 * What every user command shares: the AWS options (--region, --endpoint, --profile, --prefix, --table, --json) and
 * one way to run, so that every failure is one clear line and exit code 1. Clients: lib/aws/clients.ts, given these
 * options. Output helpers: format.ts.
 */
import { Command, Option } from 'commander'

export interface AwsOptions {
  region: string
  endpoint?: string
  profile?: string
  prefix: string
  table?: string
  json?: boolean
}

/** --region, --endpoint, --profile and --prefix, with their environment defaults: where a deployment is. */
export const withDeploymentOptions = (command: Command): Command =>
  command
    .addOption(new Option('--region <region>', 'AWS region').env('AWS_REGION').default('eu-west-3'))
    .addOption(
      new Option('--endpoint <url>', 'AWS endpoint, e.g. the local moto server http://localhost:5000').env(
        'AWS_ENDPOINT_URL',
      ),
    )
    .addOption(
      new Option('--profile <name>', 'AWS profile of your config files, for its credentials (default: AWS_PROFILE)'),
    )
    .addOption(
      new Option('--prefix <prefix>', 'name prefix of the deployment (resources are <prefix>-orders, ...)')
        .env('NAME_PREFIX')
        .default('tp'),
    )

/** The deployment's options (withDeploymentOptions), --table and --json. */
export const withAwsOptions = (command: Command): Command =>
  withDeploymentOptions(command)
    .addOption(new Option('--table <name>', 'orders table (default <prefix>-orders)').env('ORDERS_TABLE'))
    .option('--json', 'print JSON instead of a table')

export const tableName = (options: AwsOptions): string => options.table ?? `${options.prefix}-orders`

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
