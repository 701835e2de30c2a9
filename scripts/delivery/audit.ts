/**
 * The verdict of scripts/delivery/audit.sh on npm's audit report (`npm audit --omit=dev --json`, npm 10 and 11):
 * - any high or critical advisory of a production dependency not covered by an exception: fail (exit 1), each one
 *   listed with its package, severity, advisory and fix range;
 * - none: pass (exit 0);
 * - the registry's advisory endpoint could not be reached (an HTTP error such as 405, or a network error): one loud
 *   line on stderr saying the audit did not run and why, and exit 0, so that a machine without the endpoint can
 *   still build; any other npm error (no lockfile, say) is the project's, and fails;
 * - an exceptions file that is not as below: fail, naming the entry and the field.
 *
 * The exceptions file (scripts/delivery/audit-exceptions.json) is a JSON array of entries, each with exactly these
 * fields, all strings:
 *   { "advisory": "GHSA-xxxx-xxxx-xxxx", "package": "name", "reason": "why it cannot hurt us", "until": "YYYY-MM-DD" }
 * An entry covers that advisory in that package (the package that has the advisory, as npm names it under
 * `vulnerabilities`), through its `until` day (UTC); after it, it no longer applies. An entry that covers nothing is
 * reported, so that the list does not outlive its advisories.
 *
 * Usage: tsx scripts/delivery/audit.ts [--report FILE] [--exceptions FILE] [--npm-stderr FILE] [--today YYYY-MM-DD]
 * (the report on stdin without --report).
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Command } from 'commander'
import { run } from '../cli.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const DEFAULT_EXCEPTIONS = join(root, 'scripts', 'delivery', 'audit-exceptions.json')

/** The severities that fail the audit (npm's --audit-level=high). */
export const FAILING = ['high', 'critical'] as const
type Failing = (typeof FAILING)[number]

export interface AuditException {
  advisory: string
  package: string
  reason: string
  until: string
}

/** One high or critical advisory of one package, and the exception that covers it, if any. */
export interface Finding {
  package: string
  severity: Failing
  /** The GHSA id, or npm:<source> for an advisory without one. */
  advisory: string
  title: string
  url: string
  range: string
  exception?: AuditException & { expired: boolean }
}

export interface Verdict {
  outcome: 'pass' | 'fail' | 'not-run'
  exitCode: 0 | 1
  findings: Finding[]
  /** Lines for stdout, and for stderr. */
  out: string[]
  err: string[]
}

const NAME = 'audit'
const GHSA = /^GHSA(-[0-9a-z]{4}){3}$/i
/** npm's codes for a registry that cannot be reached (its own E<status> codes are matched apart). */
const NETWORK_CODES = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ERR_SOCKET_TIMEOUT',
  'EPROTO',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
]

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const oneLine = (text: string, max = 240): string => {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > max ? `${line.slice(0, max)}…` : line
}
const isCalendarDate = (text: string): boolean => {
  const ms = Date.parse(`${text}T00:00:00Z`)
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === text
}

// ---------------------------------------------------------------------------------------------------------------
// The exceptions

/** The exceptions in `text` (the file's contents), checked; an error names the file, the entry and the field. */
export const parseExceptions = (text: string, file: string): AuditException[] => {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw new Error(`${file} is not JSON: ${(err as Error).message}`)
  }
  if (!Array.isArray(data)) throw new Error(`${file} must be a JSON array of exceptions (it may be [])`)
  const fields = ['advisory', 'package', 'reason', 'until'] as const
  return data.map((entry: unknown, i) => {
    const where = `${file} entry ${i}`
    if (!isObject(entry)) throw new Error(`${where} must be an object { ${fields.join(', ')} }`)
    const unknown = Object.keys(entry).filter((k) => !(fields as readonly string[]).includes(k))
    if (unknown.length > 0)
      throw new Error(
        `${where}: unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')} (the fields are ${fields.join(', ')})`,
      )
    for (const field of fields)
      if (typeof entry[field] !== 'string' || (entry[field] as string).trim() === '')
        throw new Error(`${where}: ${field} must be a non-empty string`)
    const e = entry as unknown as AuditException
    if (!GHSA.test(e.advisory))
      throw new Error(`${where}: advisory must be a GHSA id (GHSA-xxxx-xxxx-xxxx), got "${e.advisory}"`)
    if (!isCalendarDate(e.until))
      throw new Error(`${where}: until must be a calendar date YYYY-MM-DD, got "${e.until}"`)
    return { advisory: e.advisory, package: e.package, reason: e.reason, until: e.until }
  })
}

/** The exceptions of `file`; none when it is the default file and it does not exist. */
export const readExceptions = (file: string, required: boolean): AuditException[] => {
  if (!existsSync(file)) {
    if (required) throw new Error(`no exceptions file ${file}`)
    return []
  }
  return parseExceptions(readFileSync(file, 'utf8'), file)
}

// ---------------------------------------------------------------------------------------------------------------
// The report

/** Why the audit did not run, when `report` is npm's error object: whether the endpoint was out of reach. */
const npmError = (report: Record<string, unknown>, npmStderr: string): { unreachable: boolean; reason: string } => {
  const error = isObject(report.error) ? report.error : {}
  const code = typeof error.code === 'string' ? error.code : typeof report.code === 'string' ? report.code : ''
  const status = typeof report.statusCode === 'number' ? report.statusCode : undefined
  const texts = [report.message, error.summary, error.detail].filter(
    (t): t is string => typeof t === 'string' && t.trim() !== '',
  )
  const npmLines = npmStderr
    .split('\n')
    .filter((l) => /^npm (error|ERR!)/.test(l) && !/complete log of this run|A complete log/.test(l))
    .map((l) => l.replace(/^npm (error|ERR!)\s*/, ''))
  const said = [...npmLines, ...texts].join(' ')
  const unreachable =
    status !== undefined ||
    /^E\d{3}$/.test(code) ||
    NETWORK_CODES.includes(code) ||
    /audit endpoint|advisories\/bulk|\b(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|ECONNRESET)\b/.test(said)
  const label = code || (status !== undefined ? `HTTP ${status}` : 'no error code')
  return {
    unreachable,
    reason: oneLine(`${label}: ${[...new Set([...npmLines, ...texts])].join('; ') || 'no message'}`),
  }
}

/** The high and critical advisories of the report, one per package and advisory. */
const advisoriesOf = (vulnerabilities: Record<string, unknown>): Omit<Finding, 'exception'>[] => {
  const found = new Map<string, Omit<Finding, 'exception'>>()
  for (const [key, vulnerability] of Object.entries(vulnerabilities)) {
    if (!isObject(vulnerability) || !Array.isArray(vulnerability.via)) continue
    // A string in `via` names the dependency the package is vulnerable through: that one lists the advisory.
    for (const via of vulnerability.via) {
      if (!isObject(via)) continue
      const severity = (typeof via.severity === 'string' ? via.severity : vulnerability.severity) as string
      if (!(FAILING as readonly string[]).includes(severity)) continue
      const url = typeof via.url === 'string' ? via.url : ''
      const advisory = /GHSA(-[0-9a-z]{4}){3}/i.exec(url)?.[0] ?? `npm:${String(via.source ?? '?')}`
      const name = typeof via.name === 'string' ? via.name : key
      found.set(`${name} ${advisory}`, {
        package: name,
        severity: severity as Failing,
        advisory,
        title: typeof via.title === 'string' ? via.title : '',
        url,
        range: typeof via.range === 'string' ? via.range : '',
      })
    }
  }
  return [...found.values()].sort(
    (a, b) => FAILING.indexOf(b.severity) - FAILING.indexOf(a.severity) || a.package.localeCompare(b.package),
  )
}

const describe = (f: Finding): string =>
  [f.severity.padEnd(8), f.package, f.advisory, f.title && oneLine(f.title, 100), f.range && `(${f.range})`, f.url]
    .filter(Boolean)
    .join('  ')

/**
 * The verdict on npm's audit output `text` (its stdout), given the exceptions and today's date (YYYY-MM-DD, UTC);
 * `npmStderr` gives the reason when the audit could not run.
 */
export const auditVerdict = (text: string, exceptions: AuditException[], today: string, npmStderr = ''): Verdict => {
  let report: unknown
  try {
    report = JSON.parse(text)
  } catch {
    const why = npmError({}, npmStderr).reason
    return {
      outcome: 'fail',
      exitCode: 1,
      findings: [],
      out: [],
      err: [`${NAME}: npm audit printed no JSON report (${why}): the audit could not be read, failing`],
    }
  }
  if (isObject(report) && report.error !== undefined) {
    const { unreachable, reason } = npmError(report, npmStderr)
    return unreachable
      ? {
          outcome: 'not-run',
          exitCode: 0,
          findings: [],
          out: [],
          err: [
            `${NAME}: !!! AUDIT NOT RUN !!! the registry's advisory endpoint could not be reached (${reason}); ` +
              'the production dependencies were NOT checked for known vulnerabilities; passing anyway',
          ],
        }
      : {
          outcome: 'fail',
          exitCode: 1,
          findings: [],
          out: [],
          err: [`${NAME}: npm audit could not run (${reason}): failing`],
        }
  }
  if (!isObject(report) || !isObject(report.vulnerabilities))
    return {
      outcome: 'fail',
      exitCode: 1,
      findings: [],
      out: [],
      err: [`${NAME}: not an npm audit report (no "vulnerabilities" object): failing`],
    }

  const used = new Set<AuditException>()
  const findings: Finding[] = advisoriesOf(report.vulnerabilities).map((f) => {
    const exception = exceptions.find(
      (e) => e.advisory.toLowerCase() === f.advisory.toLowerCase() && e.package === f.package,
    )
    if (!exception) return f
    used.add(exception)
    return { ...f, exception: { ...exception, expired: exception.until < today } }
  })
  const open = findings.filter((f) => !f.exception || f.exception.expired)
  const excepted = findings.filter((f) => f.exception && !f.exception.expired)
  const notes = exceptions
    .filter((e) => !used.has(e))
    .map(
      (e) =>
        `${NAME}: note: the exception for ${e.advisory} in ${e.package} ` +
        (e.until < today ? `expired on ${e.until}` : 'matches no advisory') +
        ': remove it',
    )
  const exceptedLines = excepted.map(
    (f) => `${NAME}: excepted until ${f.exception!.until}: ${describe(f)} (${oneLine(f.exception!.reason, 120)})`,
  )
  if (open.length === 0)
    return {
      outcome: 'pass',
      exitCode: 0,
      findings,
      out: [
        `${NAME}: no high or critical advisory in the production dependencies` +
          (excepted.length > 0 ? ` (${excepted.length} excepted)` : ''),
        ...exceptedLines,
        ...notes,
      ],
      err: [],
    }
  return {
    outcome: 'fail',
    exitCode: 1,
    findings,
    out: [...exceptedLines, ...notes],
    err: [
      `${NAME}: FAILED: ${open.length} high or critical ${open.length === 1 ? 'advisory' : 'advisories'} in the production dependencies:`,
      ...open.map(
        (f) => `${NAME}:   ${describe(f)}${f.exception ? `  (its exception expired on ${f.exception.until})` : ''}`,
      ),
      `${NAME}: upgrade (npm audit fix, or a newer version of the package that depends on it), or add a dated ` +
        'exception to scripts/delivery/audit-exceptions.json',
    ],
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The command

const program = new Command('audit')
  .description("Decide on npm's audit report: fail on a high or critical advisory that no exception covers.")
  .option('--report <file>', "npm audit --json's output (default: stdin)")
  .option('--exceptions <file>', 'the exceptions file (default scripts/delivery/audit-exceptions.json)')
  .option('--npm-stderr <file>', "npm audit's stderr, for the reason when it could not run")
  .option('--today <YYYY-MM-DD>', 'the day exceptions are checked against (default: today, UTC)')
  .action((options: { report?: string; exceptions?: string; npmStderr?: string; today?: string }) => {
    const today = options.today ?? new Date().toISOString().slice(0, 10)
    if (!isCalendarDate(today)) throw new Error(`--today must be a calendar date YYYY-MM-DD, got "${today}"`)
    const exceptions = readExceptions(options.exceptions ?? DEFAULT_EXCEPTIONS, options.exceptions !== undefined)
    const text = readFileSync(options.report ?? 0, 'utf8')
    const npmStderr = options.npmStderr && existsSync(options.npmStderr) ? readFileSync(options.npmStderr, 'utf8') : ''
    const verdict = auditVerdict(text, exceptions, today, npmStderr)
    for (const line of verdict.out) console.log(line)
    for (const line of verdict.err) console.error(line)
    process.exitCode = verdict.exitCode
  })

// realpath: run through a symbolic link (a checkout's scripts/ linked elsewhere), the module URL is the real path.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href)
  await run(program)
export { program }
