/**
 * The local stack's state file: `npm start` writes it once the stack is up (where the emulator answers, the
 * deployment's prefix and region, the API's and the console's URLs, the runner's log folder, and the pid of the
 * process that owns all of it) and removes it when it stops. The operations commands (cli.ts, withDeploymentOptions)
 * read it to find a running local stack by themselves: when neither --endpoint nor AWS_ENDPOINT_URL is given, and the
 * recorded process is still alive (a file left behind by a killed `npm start` names a dead pid and is ignored).
 *
 * The file is `.build/local/stack.json` under the repository, or LOCAL_STACK_FILE (the tests point it elsewhere, so
 * that a developer's running stack never answers for them).
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface LocalStackState {
  /** The emulator, e.g. http://localhost:5000. */
  endpoint: string
  prefix: string
  region: string
  stackName: string
  stage: string
  /** The order API the runner serves, e.g. http://localhost:3000. */
  apiUrl: string
  /** The web console, when npm start started it. */
  consoleUrl?: string
  /** The runner's log folder (the functions' log files). */
  logDir: string
  /** The process that owns the stack (npm start's node process). */
  pid: number
  startedAt: string
}

/** Where the state file is: LOCAL_STACK_FILE (relative to the repository), else .build/local/stack.json. */
export const localStateFile = (env: NodeJS.ProcessEnv = process.env): string =>
  env.LOCAL_STACK_FILE ? resolve(root, env.LOCAL_STACK_FILE) : join(root, '.build', 'local', 'stack.json')

/** Writes the state (whole, by a rename: a reader never sees half a file). */
export const writeLocalState = (state: LocalStackState, file = localStateFile()): void => {
  mkdirSync(dirname(file), { recursive: true })
  const partial = `${file}.${process.pid}.tmp`
  writeFileSync(partial, `${JSON.stringify(state, null, 2)}\n`)
  renameSync(partial, file)
}

/** The state in `file`, or undefined when there is none or it is not a state file (never throws). */
export const readLocalState = (file = localStateFile()): LocalStackState | undefined => {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    return undefined
  }
  const s = parsed as Partial<LocalStackState> | null
  const ok =
    s !== null &&
    typeof s === 'object' &&
    typeof s.endpoint === 'string' &&
    typeof s.prefix === 'string' &&
    typeof s.region === 'string' &&
    typeof s.apiUrl === 'string' &&
    Number.isInteger(s.pid) &&
    (s.pid ?? 0) > 0
  return ok ? (s as LocalStackState) : undefined
}

/** Removes the state file if it is `pid`'s (another npm start may have written its own since). */
export const removeLocalState = (file = localStateFile(), pid = process.pid): void => {
  if (readLocalState(file)?.pid === pid) rmSync(file, { force: true })
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The running local stack: the state file's, when its owner is alive; else undefined. */
export const runningLocalStack = (
  file = localStateFile(),
  alive: (pid: number) => boolean = pidAlive,
): LocalStackState | undefined => {
  const state = readLocalState(file)
  return state && alive(state.pid) ? state : undefined
}

/** Where a command's --endpoint, --prefix, --region and --profile came from (commander's value sources). */
export interface GivenOptions {
  endpoint?: string
  /** 'cli', 'env', 'default' or undefined (not given). */
  endpointSource?: string
  prefix: string
  prefixSource?: string
  region: string
  regionSource?: string
  profile?: string
  profileSource?: string
  /** --local: the local stack is required. */
  local?: boolean
}

/** What a command is to use instead of what it was given, and the line that says so. */
export interface Resolution {
  endpoint?: string
  prefix?: string
  region?: string
  /** The local stack's stack name, API and log folder, for the commands that have --stack-name, --api-url or --log-dir. */
  stackName?: string
  apiUrl?: string
  logDir?: string
  /** One line for stderr, when the local stack was chosen without being named. */
  note?: string
}

/** The command that starts the local stack, named in every message that asks for it. */
const START = 'npm start'

/**
 * Decides whether a command talks to the running local stack:
 * - --local: it must (an error when none runs; --endpoint, if given too, must be the local stack's);
 * - an endpoint given (--endpoint, AWS_ENDPOINT_URL): that one; when it is the local stack's, the stack's API URL,
 *   log folder and (unless given) prefix come along;
 * - --profile on the command line: AWS, as asked;
 * - otherwise the running local stack, said in `note`; with none, nothing changes (AWS with the usual credentials).
 */
export const resolveDeployment = (given: GivenOptions, state: LocalStackState | undefined): Resolution => {
  const endpoint = given.endpoint === '' ? undefined : given.endpoint
  const defaulted = (source: string | undefined) => source === 'default' || source === undefined
  const fromState = (s: LocalStackState): Resolution => {
    // A prefix or region the user chose (flag or environment) stands; the defaults give way to the stack's.
    const prefix = defaulted(given.prefixSource) ? s.prefix : given.prefix
    return {
      endpoint: s.endpoint,
      ...(prefix !== given.prefix ? { prefix } : {}),
      ...(defaulted(given.regionSource) && s.region !== given.region ? { region: s.region } : {}),
      // The stack's name is the stack's only for its own prefix.
      ...(prefix === s.prefix && s.stackName ? { stackName: s.stackName } : {}),
      apiUrl: s.apiUrl,
      logDir: s.logDir,
    }
  }
  if (given.local) {
    if (!state)
      throw new Error(
        `--local: no local stack is running (start it with ${START}; ${localStateFile()} names none alive)`,
      )
    if (endpoint !== undefined && !sameEndpoint(endpoint, state.endpoint))
      throw new Error(
        `--local uses the local stack at ${state.endpoint}, but --endpoint (or AWS_ENDPOINT_URL) says ${endpoint}: give one of them`,
      )
    return fromState(state)
  }
  if (endpoint !== undefined) return state && sameEndpoint(endpoint, state.endpoint) ? fromState(state) : {}
  if (given.profileSource === 'cli' || !state) return {}
  return {
    ...fromState(state),
    note: `using the local stack at ${state.endpoint} (${START}, prefix ${state.prefix}); --endpoint or --profile for another`,
  }
}

/** http://localhost:5000 and http://localhost:5000/ are the same endpoint. */
const sameEndpoint = (a: string, b: string): boolean => a.replace(/\/+$/, '') === b.replace(/\/+$/, '')
