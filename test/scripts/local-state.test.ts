/**
 * How the commands find the local stack (scripts/stack/local-state.ts, cli.ts useLocalStack): the state file npm
 * start writes, used only while its process lives, never over an endpoint or a profile the user gave; --local
 * requires it; and the message when neither a local stack nor AWS credentials are there.
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { run, withAwsOptions, type AwsOptions } from '../../scripts/cli.ts'
import {
  readLocalState,
  removeLocalState,
  resolveDeployment,
  runningLocalStack,
  writeLocalState,
  type GivenOptions,
  type LocalStackState,
} from '../../scripts/stack/local-state.ts'

const dir = mkdtempSync(join(tmpdir(), 'local-state-'))
test.after.always(() => {
  rmSync(dir, { recursive: true, force: true })
})

const state = (overrides: Partial<LocalStackState> = {}): LocalStackState => ({
  endpoint: 'http://localhost:5123',
  prefix: 'demo',
  region: 'eu-west-3',
  stackName: 'demo-order-pipeline',
  stage: 'local',
  apiUrl: 'http://localhost:3123',
  consoleUrl: 'http://127.0.0.1:3124',
  logDir: '/tmp/demo/logs',
  pid: process.pid,
  startedAt: '2026-01-07T10:00:00.000Z',
  ...overrides,
})

/** Nothing given: the defaults, as commander reports them. */
const nothing: GivenOptions = { prefix: 'tp', prefixSource: 'default', region: 'eu-west-3', regionSource: 'default' }

/** A pid that was alive a moment ago and is not any more. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid!

test('a live stack is used when nothing names another, and says so', (t) => {
  const r = resolveDeployment(nothing, state())
  t.like(r, { endpoint: 'http://localhost:5123', prefix: 'demo', stackName: 'demo-order-pipeline' })
  t.is(r.apiUrl, 'http://localhost:3123')
  t.regex(
    r.note ?? '',
    /^using the local stack at http:\/\/localhost:5123 \(npm start, prefix demo\); --endpoint or --profile for another$/,
  )
})

test('the state file counts only while its pid lives, and is absent or broken without harm', (t) => {
  const file = join(dir, 'live.json')
  writeLocalState(state(), file)
  t.is(runningLocalStack(file)?.endpoint, 'http://localhost:5123')
  const dead = join(dir, 'dead.json')
  writeLocalState(state({ pid: deadPid() }), dead)
  t.is(runningLocalStack(dead), undefined, 'a killed npm start leaves a file that names a dead pid')
  t.is(runningLocalStack(join(dir, 'absent.json')), undefined)
  const broken = join(dir, 'broken.json')
  writeFileSync(broken, '{"endpoint": 5')
  t.is(readLocalState(broken), undefined)
  t.deepEqual(resolveDeployment(nothing, undefined), {}, 'no stack: AWS, as before')
})

test('an explicit endpoint or profile wins over the local stack', (t) => {
  t.deepEqual(resolveDeployment({ ...nothing, endpoint: 'http://localhost:9999', endpointSource: 'cli' }, state()), {})
  t.deepEqual(resolveDeployment({ ...nothing, endpoint: 'http://localhost:9999', endpointSource: 'env' }, state()), {})
  t.deepEqual(resolveDeployment({ ...nothing, profile: 'prod', profileSource: 'cli' }, state()), {})
  // The local stack's own endpoint, given: its API and logs come along, silently.
  const same = resolveDeployment({ ...nothing, endpoint: 'http://localhost:5123/', endpointSource: 'cli' }, state())
  t.like(same, { apiUrl: 'http://localhost:3123', note: undefined })
  // A prefix the user chose stands, and the stack's name is then not the local stack's.
  const prefixed = resolveDeployment({ ...nothing, prefix: 'ops', prefixSource: 'cli' }, state())
  t.is(prefixed.prefix, undefined)
  t.is(prefixed.stackName, undefined)
})

test('--local requires a running stack, and must agree with --endpoint', (t) => {
  t.throws(() => resolveDeployment({ ...nothing, local: true }, undefined), {
    message: /^--local: no local stack is running \(start it with npm start;/,
  })
  t.like(resolveDeployment({ ...nothing, local: true }, state()), {
    endpoint: 'http://localhost:5123',
    note: undefined,
  })
  t.throws(
    () =>
      resolveDeployment({ ...nothing, local: true, endpoint: 'http://localhost:1', endpointSource: 'cli' }, state()),
    { message: /--local uses the local stack at http:\/\/localhost:5123, but --endpoint .* says http:\/\/localhost:1/ },
  )
})

test("removing the state file leaves another process's file alone", (t) => {
  const file = join(dir, 'owned.json')
  writeLocalState(state({ pid: process.pid + 1 }), file)
  removeLocalState(file)
  t.true(existsSync(file))
  writeLocalState(state(), file)
  removeLocalState(file)
  t.false(existsSync(file))
})

/** A command with the deployment options, run with the state file at `file`; what its action got, and stderr. */
const parse = async (file: string, args: string[], env: Record<string, string | undefined> = {}) => {
  let got: (AwsOptions & { apiUrl?: string; logDir?: string }) | undefined
  const command = withAwsOptions(new Command('probe'))
    .option('--api-url <url>')
    .option('--log-dir <dir>', 'logs', '.build/local/logs')
    .exitOverride()
    .action((options: AwsOptions & { apiUrl?: string }) => {
      got = { ...options }
    })
  const saved = { ...process.env }
  const errors: string[] = []
  const error = console.error
  console.error = (...parts: unknown[]) => errors.push(parts.join(' '))
  Object.assign(process.env, { LOCAL_STACK_FILE: file })
  delete process.env.AWS_ENDPOINT_URL
  delete process.env.NAME_PREFIX
  for (const [k, v] of Object.entries(env))
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  try {
    await command.parseAsync(['node', 'probe', ...args])
  } finally {
    console.error = error
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
    Object.assign(process.env, saved)
  }
  return { options: got!, errors }
}

test.serial('the commands take the live stack from the state file before their action', async (t) => {
  const file = join(dir, 'commands.json')
  writeLocalState(state(), file)
  const found = await parse(file, [])
  t.like(found.options, {
    endpoint: 'http://localhost:5123',
    prefix: 'demo',
    apiUrl: 'http://localhost:3123',
    logDir: '/tmp/demo/logs',
  })
  t.deepEqual(found.errors, [
    'probe: using the local stack at http://localhost:5123 (npm start, prefix demo); --endpoint or --profile for another',
  ])
  const explicit = await parse(file, ['--endpoint', 'http://localhost:7000', '--api-url', 'http://x'])
  t.like(explicit.options, { endpoint: 'http://localhost:7000', prefix: 'tp', apiUrl: 'http://x' })
  t.deepEqual(explicit.errors, [])
  const fromEnv = await parse(file, [], { AWS_ENDPOINT_URL: 'http://localhost:7001' })
  t.is(fromEnv.options.endpoint, 'http://localhost:7001')

  writeLocalState(state({ pid: deadPid() }), file)
  const dead = await parse(file, [])
  t.is(dead.options.endpoint, undefined)
  await t.throwsAsync(parse(file, ['--local']), { message: /no local stack is running \(start it with npm start/ })
  rmSync(file)
  t.is((await parse(file, [])).options.endpoint, undefined)
})

test.serial('without credentials or a local stack, the error names both ways out', async (t) => {
  const program = new Command('probe').action(() => {
    throw Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    })
  })
  const errors: string[] = []
  const error = console.error
  console.error = (...parts: unknown[]) => errors.push(parts.join(' '))
  try {
    await run(program, ['node', 'probe'])
  } finally {
    console.error = error
  }
  t.is(process.exitCode, 1)
  process.exitCode = undefined
  t.regex(errors[0] ?? '', /start the local stack with npm start/)
  t.regex(errors[0] ?? '', /configure AWS credentials: --profile, AWS_PROFILE or AWS_ACCESS_KEY_ID/)
})
