/**
 * npm run buildspec: runs a CodeBuild buildspec's phases on this machine, as the delivery pipeline's build would
 * (install, pre_build, build, post_build, in that order), then checks that the artifact and report files exist.
 *
 * Each command runs in a bash process of its own, in the buildspec's directory (CodeBuild's CODEBUILD_SRC_DIR),
 * with the environment and working directory the previous command left: exported variables and `cd` carry over,
 * as in CodeBuild's one shell; shell options and unexported variables do not (put `set -o pipefail; ...` on the
 * command's own line). The first failing command stops the run, after its phase's `finally` commands.
 */
import { spawn } from 'node:child_process'
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Command } from 'commander'
import { parse } from 'yaml'
import { isObject } from '../../lib/orders/json.ts'

export const PHASES = ['install', 'pre_build', 'build', 'post_build'] as const
export type Phase = (typeof PHASES)[number]

export interface PhaseSpec {
  'run-as'?: string
  'on-failure'?: string
  'runtime-versions'?: Record<string, unknown>
  commands?: string[]
  finally?: string[]
}
export interface FileGroup {
  files: string[]
  'base-directory'?: string
  'discard-paths'?: unknown
  name?: string
  'file-format'?: string
}
export interface Buildspec {
  version: unknown
  env?: {
    shell?: string
    variables?: Record<string, unknown>
    'parameter-store'?: unknown
    'secrets-manager'?: unknown
    'exported-variables'?: unknown
  }
  phases: Partial<Record<Phase, PhaseSpec>>
  artifacts?: FileGroup & { 'secondary-artifacts'?: unknown }
  reports?: Record<string, FileGroup>
  cache?: { paths: string[] }
}

const TOP_LEVEL = ['version', 'run-as', 'env', 'proxy', 'batch', 'phases', 'artifacts', 'reports', 'cache']
const ENV_KEYS = [
  'shell',
  'variables',
  'parameter-store',
  'secrets-manager',
  'exported-variables',
  'git-credential-helper',
]
const PHASE_KEYS = ['run-as', 'on-failure', 'runtime-versions', 'commands', 'finally']
const ARTIFACT_KEYS = [
  'files',
  'name',
  'discard-paths',
  'base-directory',
  'exclude-paths',
  'enable-symlinks',
  's3-prefix',
  'secondary-artifacts',
]
const REPORT_FORMATS = [
  'JUNITXML',
  'CUCUMBERJSON',
  'TESTNGXML',
  'VISUALSTUDIOTRX',
  'NUNITXML',
  'NUNIT3XML',
  'CLOVERXML',
  'COBERTURAXML',
  'JACOCOXML',
  'SIMPLECOV',
]

const isMap = isObject
const isScalar = (value: unknown): boolean => ['string', 'number', 'boolean'].includes(typeof value)

/** A list of non-empty strings, or what is wrong with it. */
const stringListProblem = (value: unknown, where: string, allowEmpty = false): string | undefined => {
  if (!Array.isArray(value)) return `${where}: a list of strings`
  if (value.length === 0 && !allowEmpty) return `${where}: an empty list`
  const bad = value.findIndex((v) => typeof v !== 'string' || v.trim() === '')
  return bad >= 0 ? `${where}[${bad}]: not a non-empty string (${JSON.stringify(value[bad])})` : undefined
}

const relativeDirProblem = (value: unknown, where: string): string | undefined => {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.trim() === '') return `${where}: a directory name`
  if (isAbsolute(value) || value.split('/').includes('..'))
    return `${where}: must stay inside the source directory (${value})`
  return undefined
}

const fileGroupProblems = (group: unknown, where: string, keys: string[]): string[] => {
  if (!isMap(group)) return [`${where}: a mapping with files`]
  return [
    ...Object.keys(group)
      .filter((k) => !keys.includes(k))
      .map((k) => `${where}.${k}: unknown key`),
    stringListProblem(group.files, `${where}.files`),
    relativeDirProblem(group['base-directory'], `${where}.base-directory`),
  ].filter((p): p is string => p !== undefined)
}

/** What CodeBuild would refuse, or what would make the build fail in AWS rather than here: one line per problem. */
export const checkBuildspec = (spec: unknown): string[] => {
  if (!isMap(spec)) return ['the buildspec is not a YAML mapping']
  const problems: string[] = []
  for (const key of Object.keys(spec)) if (!TOP_LEVEL.includes(key)) problems.push(`${key}: unknown top-level key`)
  if (String(spec.version) !== '0.2') problems.push(`version: must be 0.2 (found ${JSON.stringify(spec.version)})`)
  if (spec.env !== undefined) {
    if (!isMap(spec.env)) problems.push('env: a mapping')
    else {
      for (const key of Object.keys(spec.env)) if (!ENV_KEYS.includes(key)) problems.push(`env.${key}: unknown key`)
      const variables = spec.env.variables
      if (variables !== undefined && !isMap(variables)) problems.push('env.variables: a mapping of names to values')
      if (isMap(variables)) {
        for (const [name, value] of Object.entries(variables)) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) problems.push(`env.variables.${name}: not a variable name`)
          if (!isScalar(value)) problems.push(`env.variables.${name}: not a string`)
        }
      }
    }
  }
  if (!isMap(spec.phases) || Object.keys(spec.phases).length === 0) {
    problems.push(`phases: missing (a buildspec needs phases, from ${PHASES.join(', ')})`)
  } else {
    for (const [name, phase] of Object.entries(spec.phases)) {
      const where = `phases.${name}`
      if (!(PHASES as readonly string[]).includes(name)) {
        problems.push(`${where}: unknown phase (phases are ${PHASES.join(', ')})`)
        continue
      }
      if (!isMap(phase)) {
        problems.push(`${where}: a mapping with commands`)
        continue
      }
      for (const key of Object.keys(phase)) if (!PHASE_KEYS.includes(key)) problems.push(`${where}.${key}: unknown key`)
      // An install phase may only select runtimes; every other phase is there to run commands.
      const runtimesOnly = name === 'install' && phase.commands === undefined && isMap(phase['runtime-versions'])
      if ((phase.commands === undefined || phase.commands === null) && !runtimesOnly)
        problems.push(`${where}: has no commands`)
      if (phase.commands !== undefined && phase.commands !== null) {
        const problem = stringListProblem(phase.commands, `${where}.commands`)
        if (problem) problems.push(problem.endsWith('an empty list') ? `${where}: has no commands` : problem)
      }
      if (phase.finally !== undefined) {
        const problem = stringListProblem(phase.finally, `${where}.finally`)
        if (problem) problems.push(problem)
      }
      const runtimes = phase['runtime-versions']
      if (runtimes !== undefined && (name !== 'install' || !isMap(runtimes)))
        problems.push(`${where}.runtime-versions: a mapping, in the install phase only`)
      if (
        phase['on-failure'] !== undefined &&
        !['ABORT', 'CONTINUE', 'RETRY'].includes(String(phase['on-failure']).split('-')[0]!)
      ) {
        problems.push(`${where}.on-failure: ABORT, CONTINUE or RETRY`)
      }
    }
  }
  if (spec.artifacts !== undefined) problems.push(...fileGroupProblems(spec.artifacts, 'artifacts', ARTIFACT_KEYS))
  if (spec.reports !== undefined) {
    if (!isMap(spec.reports)) problems.push('reports: a mapping of report groups')
    else {
      for (const [group, report] of Object.entries(spec.reports)) {
        problems.push(
          ...fileGroupProblems(report, `reports.${group}`, ['files', 'base-directory', 'discard-paths', 'file-format']),
        )
        const format = isMap(report) ? report['file-format'] : undefined
        if (format !== undefined && !REPORT_FORMATS.includes(String(format)))
          problems.push(`reports.${group}.file-format: one of ${REPORT_FORMATS.join(', ')}`)
      }
    }
  }
  if (spec.cache !== undefined) {
    const problem = isMap(spec.cache)
      ? stringListProblem(spec.cache.paths, 'cache.paths')
      : 'cache: a mapping with paths'
    if (problem) problems.push(problem)
  }
  return problems
}

/** Reads and checks a buildspec file. */
export const loadBuildspec = (file: string): { spec: Buildspec; problems: string[] } => {
  let spec: unknown
  try {
    spec = parse(readFileSync(file, 'utf8'))
  } catch (err) {
    return { spec: { version: undefined, phases: {} }, problems: [`not YAML: ${(err as Error).message}`] }
  }
  return { spec: spec as Buildspec, problems: checkBuildspec(spec) }
}

/** A CodeBuild file pattern (`**` any directories, `*` and `?` within a name) as a regular expression on relative paths. */
export const globToRegExp = (pattern: string): RegExp => {
  let out = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === '*' && pattern[i + 1] === '*') {
      if (pattern[i + 2] === '/') {
        out += '(?:.*/)?'
        i += 2
      } else {
        out += '.*'
        i += 1
      }
    } else if (c === '*') out += '[^/]*'
    else if (c === '?') out += '[^/]'
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${out}$`)
}

/** The files under `dir` whose path relative to it matches `pattern`. */
export const findFiles = (dir: string, pattern: string): string[] => {
  const regexp = globToRegExp(pattern.replace(/^\.\//, ''))
  const found: string[] = []
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name)
      if (entry.isDirectory()) {
        if (entry.name !== '.git') walk(path)
      } else if (regexp.test(relative(dir, path))) found.push(path)
    }
  }
  if (existsSync(dir) && statSync(dir).isDirectory()) walk(dir)
  return found
}

/** Artifact and report patterns that match no file, as "where: base/pattern". */
export const missingOutputs = (
  spec: Buildspec,
  sourceDir: string,
  which: { artifacts: boolean; reports: boolean },
): string[] => {
  const groups: [string, FileGroup][] = [
    ...(which.artifacts && spec.artifacts ? [['artifacts', spec.artifacts] as [string, FileGroup]] : []),
    ...(which.reports
      ? Object.entries(spec.reports ?? {}).map(([name, group]): [string, FileGroup] => [`reports.${name}`, group])
      : []),
  ]
  return groups.flatMap(([where, group]) => {
    const base = join(sourceDir, group['base-directory'] ?? '.')
    return group.files
      .filter((pattern) => findFiles(base, pattern).length === 0)
      .map((pattern) => `${where}: ${relative(sourceDir, join(base, pattern)) || pattern}`)
  })
}

/** Which phases a run executes, in the buildspec's order; throws on a name that is not a phase of this buildspec. */
export const selectPhases = (spec: Buildspec, wanted?: string): Phase[] => {
  const present = PHASES.filter((p) => spec.phases[p] !== undefined)
  if (wanted === undefined) return present
  const names = wanted
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  const unknown = names.filter((n) => !(present as string[]).includes(n))
  if (unknown.length > 0 || names.length === 0)
    throw new UsageError(`--phases: ${unknown.join(', ') || 'none given'} (this buildspec has ${present.join(', ')})`)
  return present.filter((p) => names.includes(p))
}

export class UsageError extends Error {}

/** The environment of the first command: the buildspec's variables, overridden by the caller's environment (as the CodeBuild project's variables override them). */
export const initialEnvironment = (
  spec: Buildspec,
  sourceDir: string,
  base: NodeJS.ProcessEnv = process.env,
): Record<string, string> => {
  const fromSpec = Object.fromEntries(Object.entries(spec.env?.variables ?? {}).map(([k, v]) => [k, String(v)]))
  const env = {
    ...fromSpec,
    ...Object.fromEntries(Object.entries(base).filter((e): e is [string, string] => e[1] !== undefined)),
  }
  return { ...env, CODEBUILD_SRC_DIR: sourceDir, CODEBUILD_BUILD_SUCCEEDING: '1' }
}

/** Warnings about what a local run cannot reproduce. */
const localDifferences = (spec: Buildspec, phases: Phase[]): string[] => {
  const notes: string[] = []
  for (const key of ['parameter-store', 'secrets-manager', 'exported-variables'] as const) {
    if (spec.env?.[key] !== undefined)
      notes.push(`env.${key} is not resolved locally: set those variables in the environment`)
  }
  if (spec.env?.shell !== undefined && spec.env.shell !== 'bash')
    notes.push(`env.shell is ${spec.env.shell}: commands run with bash here`)
  const runtimes = phases.includes('install') ? (spec.phases.install?.['runtime-versions'] ?? {}) : {}
  for (const [runtime, version] of Object.entries(runtimes)) {
    if (runtime === 'nodejs') {
      const major = process.versions.node.split('.')[0]
      if (String(version).split('.')[0] !== major)
        notes.push(`runtime-versions asks for nodejs ${String(version)}; running on Node.js ${process.versions.node}`)
    } else notes.push(`runtime-versions ${runtime} ${String(version)} is not checked locally`)
  }
  return notes
}

// The wrapper around each command: runs it, then saves the environment and directory it leaves for the next one.
const WRAPPER = `__run_buildspec_state=$1
trap '__run_buildspec_status=$?; env -0 > "$__run_buildspec_state.env"; pwd > "$__run_buildspec_state.pwd"; exit $__run_buildspec_status' EXIT
eval "$2"
`
const SHELL_OWN = new Set(['_', 'SHLVL', 'PWD', 'OLDPWD'])

interface Session {
  env: Record<string, string>
  cwd: string
  stateDir: string
}

/** Runs one command in the session's environment and directory; returns its exit status and updates the session. */
const runCommand = (session: Session, command: string): Promise<number> =>
  new Promise((done) => {
    const state = join(session.stateDir, 'state')
    rmSync(`${state}.env`, { force: true })
    rmSync(`${state}.pwd`, { force: true })
    const child = spawn('bash', [join(session.stateDir, 'wrapper.sh'), state, command], {
      cwd: session.cwd,
      env: session.env,
      stdio: ['ignore', 'inherit', 'inherit'],
    })
    child.on('error', (err) => {
      console.error(`run-buildspec: cannot start bash: ${err.message}`)
      done(127)
    })
    child.on('close', (code, signal) => {
      if (existsSync(`${state}.env`)) {
        session.env = Object.fromEntries(
          readFileSync(`${state}.env`, 'utf8')
            .split('\0')
            .filter(Boolean)
            .map(
              (entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)] as [string, string],
            )
            .filter(([name]) => name !== '' && !SHELL_OWN.has(name)),
        )
      }
      if (existsSync(`${state}.pwd`)) session.cwd = readFileSync(`${state}.pwd`, 'utf8').trim()
      done(code ?? (signal ? 128 : 1))
    })
  })

export interface RunOptions {
  file: string
  phases?: string
  dryRun?: boolean
  env?: NodeJS.ProcessEnv
}

const say = (line: string): void => {
  console.log(`[buildspec] ${line}`)
}
const shown = (command: string): string => command.trim().split('\n').join('\n    ')

/** Runs (or, dry, prints) a buildspec; resolves to the exit status: 0 done, 1 a command failed or outputs are missing, 2 an unusable buildspec or option. */
export const runBuildspec = async (options: RunOptions): Promise<number> => {
  const file = resolve(options.file)
  if (!existsSync(file)) throw new UsageError(`no buildspec at ${file}`)
  const sourceDir = dirname(file)
  const { spec, problems } = loadBuildspec(file)
  if (problems.length > 0) {
    console.error(
      `run-buildspec: ${relative(process.cwd(), file) || file} is not a valid buildspec:\n  ${problems.join('\n  ')}`,
    )
    return 2
  }
  const phases = selectPhases(spec, options.phases)
  const full = phases.length === PHASES.filter((p) => spec.phases[p] !== undefined).length
  const checks = { artifacts: phases.includes('build'), reports: full }
  const base = options.env ?? process.env
  const env = initialEnvironment(spec, sourceDir, base)
  say(`${relative(process.cwd(), file) || file}: phases ${phases.join(', ')}, in ${sourceDir}`)
  const variables = Object.keys(spec.env?.variables ?? {})
  if (variables.length > 0)
    say(
      `env: ${variables.map((v) => `${v}=${env[v]}${base[v] !== undefined ? ' (from the environment)' : ''}`).join(' ')}`,
    )
  for (const note of localDifferences(spec, phases)) say(`note: ${note}`)

  if (options.dryRun) {
    for (const phase of phases) {
      say(`phase ${phase}`)
      for (const command of spec.phases[phase]?.commands ?? []) console.log(`  $ ${shown(command)}`)
      for (const command of spec.phases[phase]?.finally ?? []) console.log(`  finally $ ${shown(command)}`)
    }
    const outputs = [
      ...(checks.artifacts
        ? (spec.artifacts?.files ?? []).map((f) => join(spec.artifacts?.['base-directory'] ?? '.', f))
        : []),
      ...(checks.reports
        ? Object.values(spec.reports ?? {}).flatMap((r) => r.files.map((f) => join(r['base-directory'] ?? '.', f)))
        : []),
    ]
    if (outputs.length > 0) say(`then checks: ${outputs.join(', ')}`)
    say('dry run: nothing was run')
    return 0
  }

  const stateDir = mkdtempSync(join(tmpdir(), 'run-buildspec-'))
  writeFileSync(join(stateDir, 'wrapper.sh'), WRAPPER)
  const session: Session = { env, cwd: sourceDir, stateDir }
  try {
    for (const phase of phases) {
      const started = Date.now()
      const { commands = [], finally: finallyCommands = [] } = spec.phases[phase] ?? {}
      say(`phase ${phase}: ${commands.length} command${commands.length === 1 ? '' : 's'}`)
      let failure: { index: number; command: string; status: number } | undefined
      for (const [index, command] of commands.entries()) {
        say(`${phase} $ ${shown(command)}`)
        const status = await runCommand(session, command)
        if (status !== 0) {
          failure = { index, command, status }
          break
        }
      }
      for (const command of finallyCommands) {
        say(`${phase} finally $ ${shown(command)}`)
        const status = await runCommand(session, command)
        if (status !== 0 && !failure) failure = { index: -1, command, status }
      }
      if (failure) {
        const which = failure.index >= 0 ? `command ${failure.index + 1} of ${commands.length}` : 'a finally command'
        console.error(
          `run-buildspec: FAILED in phase ${phase}, ${which} (exit ${failure.status}): ${failure.command.trim()}`,
        )
        return 1
      }
      say(`phase ${phase}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    }
  } finally {
    rmSync(stateDir, { recursive: true, force: true })
  }
  const missing = missingOutputs(spec, sourceDir, checks)
  if (missing.length > 0) {
    console.error(`run-buildspec: FAILED: no file matches\n  ${missing.join('\n  ')}`)
    return 1
  }
  if (checks.artifacts || checks.reports)
    say(
      `outputs present (${[checks.artifacts && 'artifacts', checks.reports && 'reports'].filter(Boolean).join(' and ')})`,
    )
  say('done')
  return 0
}

const program = new Command('run-buildspec')
  .description("Run a CodeBuild buildspec's phases here, in order, stopping at the first failing command.")
  .option('--file <path>', 'the buildspec; commands run in its directory', 'buildspec.yml')
  .option('--phases <list>', 'comma-separated phases to run (default all), e.g. install,pre_build')
  .option('--dry-run', 'print the phases and commands, run nothing')
  .addHelpText(
    'after',
    `
How it runs: each command in a bash process of its own, in the buildspec's directory, with the environment and
directory the previous command left (exported variables and cd carry over, within and across phases; shell
options and unexported variables do not). env.variables are defaults: the same names in your environment win,
as the CodeBuild project's variables do. CODEBUILD_SRC_DIR is set. A phase's finally commands run even when a
command failed; the first failure stops the run (exit 1) naming the phase and the command. Unlike CodeBuild,
post_build does not run after a failed build. A buildspec CodeBuild would refuse stops it first (exit 2).

After a run that includes the build phase, every artifacts file pattern must match a file (exit 1 otherwise);
after a run of every phase, the reports' files too. runtime-versions are not installed: a different Node.js
major version is reported.

Examples:
  npm run buildspec -- --dry-run
  npm run buildspec -- --phases install,pre_build
  ARTIFACTS_BUCKET=tp-delivery-123456789012-eu-west-3 STAGE=dev npm run buildspec
  AWS_ENDPOINT_URL=http://localhost:5000 ARTIFACTS_BUCKET=local-artifacts npm run buildspec -- --phases build`,
  )
  .action(async (options: { file: string; phases?: string; dryRun?: boolean }) => {
    process.exitCode = await runBuildspec(options)
  })

// realpath: run through a symbolic link (a checkout's scripts/ linked elsewhere), the module URL is the real path.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  try {
    await program.parseAsync(process.argv)
  } catch (err) {
    console.error(`run-buildspec: ${(err as Error).message}`)
    process.exitCode = err instanceof UsageError ? 2 : 1
  }
}
export { program }
