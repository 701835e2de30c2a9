/**
 * npm run logs -- <function>: a function's log lines, filtered; from CloudWatch Logs on AWS, from the local
 * runner's log files with --endpoint (the local stack, which is also found by itself while npm start runs).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { createReadStream, existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Command, Option } from 'commander'
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { run, withDeploymentOptions, type AwsOptions } from './cli.ts'
import { cloudWatchLogsClient } from '../lib/aws/clients.ts'
import { parseDuration } from './format.ts'
import { LAMBDA_NAME, lambdaName, pathOption, shown } from './ops/paths.ts'

interface LogsOptions extends Pick<AwsOptions, 'region' | 'endpoint' | 'profile' | 'prefix' | 'json'> {
  filter?: string
  since: string
  follow?: boolean
  logDir: string
}

/** `worker` → `tp-order-worker` (api, validator, worker, generator); a full name stays as it is. */
export const functionName = (fn: string, prefix: string): string =>
  ['api', 'validator', 'worker', 'generator'].includes(fn) ? `${prefix}-order-${fn}` : fn

/** Whether a pino line is newer than `since` and contains `filter`. */
export const wanted = (line: string, since: number, filter?: string): boolean => {
  if (filter && !line.includes(filter)) return false
  const time = /"time":"([^"]+)"/.exec(line)?.[1]
  return time === undefined || Date.parse(time) >= since
}

/** A pino line as a person reads it: `time level message key=value …`; other lines as they are. */
export const readable = (line: string): string => {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line) as Record<string, unknown>
  } catch {
    return line
  }
  const { time, level, msg, name: _name, ...rest } = entry
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
  return [
    String(time ?? '')
      .replace('T', ' ')
      .replace('Z', ''),
    String(level ?? '')
      .toUpperCase()
      .padEnd(5),
    msg,
    ...fields,
  ]
    .filter((x) => x !== undefined && x !== '')
    .join(' ')
}

const readLocal = async (
  file: string,
  from: number,
  since: number,
  print: (line: string) => void,
  filter?: string,
): Promise<number> => {
  const size = statSync(file).size
  if (size <= from) return size
  for await (const line of createInterface({ input: createReadStream(file, { start: from, end: size - 1 }) })) {
    if (wanted(line, since, filter)) print(line)
  }
  return size
}

// The deployment options (cli.ts): with a local --endpoint, or the running local stack, the runner's files are read.
const program = withDeploymentOptions(new Command('logs'))
  .description("Print a function's log lines: CloudWatch Logs on AWS, the local runner's files locally.")
  .argument('<function>', 'api, validator, worker, generator, or a full function name')
  .option(
    '--filter <text>',
    'only lines containing this text (on AWS: a CloudWatch Logs filter pattern, e.g. "order rejected")',
  )
  .option('--since <duration>', 'how far back (e.g. 10m, 1h, 1d)', '1h')
  .option('--follow', 'keep printing new lines until Ctrl-C')
  .addOption(
    new Option('--log-dir <dir>', "the local runner's log folder")
      .default(join('.build', 'local', 'logs'))
      .argParser(pathOption('--log-dir')),
  )
  .option('--json', 'print the JSON lines as the function wrote them')
  .action(async (fn: string, options: LogsOptions) => {
    const name = functionName(lambdaName('<function>', fn), options.prefix)
    // A short name (worker) has --prefix in it: the name must still be one, as it names a file and a log group.
    if (!LAMBDA_NAME.test(name))
      throw new Error(
        `--prefix must be letters, digits, - and _ (it makes the function name ${shown(name)}), got ${shown(options.prefix)}`,
      )
    const since = Date.now() - parseDuration(options.since)
    const print = (line: string) => console.log(options.json ? line : readable(line))
    if (options.endpoint) {
      const file = join(options.logDir, `${name}.log`)
      if (!existsSync(file))
        throw new Error(`no local log for ${name} at ${file} (is npm start running, with --prefix ${options.prefix}?)`)
      let offset = await readLocal(file, 0, since, print, options.filter)
      while (options.follow) {
        await sleep(1000)
        offset = await readLocal(file, offset, since, print, options.filter)
      }
      return
    }
    const logs = cloudWatchLogsClient(options)
    let startTime = since
    do {
      let nextToken: string | undefined
      do {
        const page = await logs.send(
          new FilterLogEventsCommand({
            logGroupName: `/aws/lambda/${name}`,
            startTime,
            filterPattern: options.filter,
            nextToken,
          }),
        )
        for (const e of page.events ?? []) {
          print(e.message?.trimEnd() ?? '')
          startTime = Math.max(startTime, (e.timestamp ?? 0) + 1)
        }
        nextToken = page.nextToken
      } while (nextToken)
      if (options.follow) await sleep(2000)
    } while (options.follow)
  })

if (import.meta.url === `file://${process.argv[1]}`) await run(program)
export { program }
