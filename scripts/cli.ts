/**
 * What every user command shares: the AWS options (--region, --endpoint, --profile, --prefix, --local, --table,
 * --json) and one way to run, so that every failure is one clear line and exit code 1. Clients: lib/aws/clients.ts,
 * given these options. Output helpers: format.ts.
 *
 * A command with these options finds a running local stack by itself (stack/local-state.ts): given no endpoint
 * (neither --endpoint nor AWS_ENDPOINT_URL) and no --profile, it uses the stack `npm start` runs, if one runs, and
 * says so in one line on stderr; --local requires it.
 */
import { Command, Option } from 'commander'
import { isNotFound } from './stack/deployment.ts'
import { localStateFile, resolveDeployment, runningLocalStack } from './stack/local-state.ts'

export interface AwsOptions {
  region: string
  endpoint?: string
  profile?: string
  prefix: string
  /** --local: the running local stack, required. */
  local?: boolean
  table?: string
  json?: boolean
}

/**
 * Before the action: the running local stack's endpoint, prefix, region, API URL and log folder replace what was not
 * given (resolveDeployment says when). `stateFile` is for the tests.
 */
export const useLocalStack = (command: Command, stateFile = localStateFile()): void => {
  const o = command.opts<AwsOptions>()
  const source = (key: string) => command.getOptionValueSource(key) as string | undefined
  const resolved = resolveDeployment(
    {
      endpoint: o.endpoint,
      endpointSource: source('endpoint'),
      prefix: o.prefix,
      prefixSource: source('prefix'),
      region: o.region,
      regionSource: source('region'),
      profile: o.profile,
      profileSource: source('profile'),
      local: o.local,
    },
    runningLocalStack(stateFile),
  )
  const has = (key: string) => command.options.some((option) => option.attributeName() === key)
  const set = (key: string, value: string | undefined, onlyUnset: boolean) => {
    if (value === undefined || !has(key)) return
    const current = command.getOptionValue(key) as unknown
    if (onlyUnset && current !== undefined && source(key) !== 'default') return
    command.setOptionValueWithSource(key, value, 'local-stack')
  }
  set('endpoint', resolved.endpoint, false)
  set('prefix', resolved.prefix, false)
  set('region', resolved.region, false)
  // Only for the commands that have them, and only where the user gave none.
  set('stackName', resolved.stackName, true)
  set('apiUrl', resolved.apiUrl, true)
  set('logDir', resolved.logDir, true)
  if (resolved.note) console.error(`${command.name()}: ${resolved.note}`)
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
    .option(
      '--local',
      'require the local stack npm start runs (an error if none; without --endpoint or --profile a running one is used anyway)',
    )
    .hook('preAction', (thisCommand) => useLocalStack(thisCommand))

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
export const notFound = (err: unknown, fallback: string): Error =>
  isNotFound(err) ? new Error(fallback, { cause: err }) : (err as Error)

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
          ? ` (no AWS credentials, and no local stack running: start the local stack with npm start, which the commands then find by themselves, or configure AWS credentials: --profile, AWS_PROFILE or AWS_ACCESS_KEY_ID)`
          : unreachable
            ? ' (nothing answers at that address: for the local stack, is npm start running, and is --endpoint right?)'
            : ''
    console.error(`${program.name()}: ${e.message}${hint}`)
    process.exitCode = 1
  }
}
