/**
 * scripts/delivery/audit.ts decides on npm's audit report (npm 10 and 11 JSON), with the dated exceptions; audit.sh
 * runs npm audit and that decision (here with a stand-in npm on PATH that prints a given report).
 */
import test from 'ava'
import { execFile } from 'node:child_process'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import {
  auditVerdict,
  DEFAULT_EXCEPTIONS,
  parseExceptions,
  type AuditException,
} from '../../../scripts/delivery/audit.ts'
import { tempDir } from '../../helpers/fixtures.ts'

const root = new URL('../../../', import.meta.url).pathname
const TODAY = '2026-06-15'

const metadata = (high = 0, critical = 0) => ({
  vulnerabilities: { info: 0, low: 0, moderate: 0, high, critical, total: high + critical },
  dependencies: { prod: 40, dev: 0, optional: 0, peer: 0, peerOptional: 0, total: 40 },
})
const advisory = (name: string, ghsa: string, severity: string, source = 1096000) => ({
  source,
  name,
  dependency: name,
  title: `${name} vulnerable to something`,
  url: `https://github.com/advisories/${ghsa}`,
  severity,
  cwe: ['CWE-1333'],
  cvss: { score: 7.5, vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' },
  range: '<7.5.2',
})

const NONE = JSON.stringify({ auditReportVersion: 2, vulnerabilities: {}, metadata: metadata() })
const HIGH = JSON.stringify({
  auditReportVersion: 2,
  vulnerabilities: {
    semver: {
      name: 'semver',
      severity: 'high',
      isDirect: false,
      via: [advisory('semver', 'GHSA-c2qf-rxjj-qqgw', 'high')],
      effects: ['make-dir'],
      range: '7.0.0 - 7.5.1',
      nodes: ['node_modules/semver'],
      fixAvailable: true,
    },
    // Vulnerable through semver only: the advisory is semver's, not listed twice.
    'make-dir': {
      name: 'make-dir',
      severity: 'high',
      isDirect: true,
      via: ['semver'],
      effects: [],
      range: '>=3.0.0',
      nodes: ['node_modules/make-dir'],
      fixAvailable: true,
    },
    // Moderate and low do not fail.
    postcss: {
      name: 'postcss',
      severity: 'moderate',
      isDirect: false,
      via: [advisory('postcss', 'GHSA-7fh5-64p2-3v2j', 'moderate')],
      effects: [],
      range: '<8.4.31',
      nodes: ['node_modules/postcss'],
      fixAvailable: true,
    },
  },
  metadata: metadata(2),
})
const CRITICAL_AND_HIGH = JSON.stringify({
  auditReportVersion: 2,
  vulnerabilities: {
    semver: JSON.parse(HIGH).vulnerabilities.semver,
    minimist: {
      name: 'minimist',
      severity: 'critical',
      isDirect: false,
      via: [advisory('minimist', 'GHSA-xvch-5gv4-984h', 'critical', 1096466)],
      effects: [],
      range: '<1.2.6',
      nodes: ['node_modules/minimist'],
      fixAvailable: true,
    },
  },
  metadata: metadata(1, 1),
})
/** npm 10's error object, as the brief of the check gives it. */
const E405 = JSON.stringify({
  error: {
    code: 'E405',
    summary: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
    detail: '',
  },
})
/** What npm 11 prints on this machine's registry: no code, the HTTP status at the top. */
const NPM11_405 = JSON.stringify({
  message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
  method: 'POST',
  uri: 'https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
  headers: { allow: ['GET,HEAD'] },
  statusCode: 405,
  body: '',
  error: { summary: '', detail: '' },
})
const NPM11_STDERR =
  'npm warn audit 405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk\n' +
  'npm error audit endpoint returned an error\n' +
  'npm error A complete log of this run can be found in: /root/.npm/_logs/x-debug-0.log\n'

const exception = (overrides: Partial<AuditException> = {}): AuditException => ({
  advisory: 'GHSA-c2qf-rxjj-qqgw',
  package: 'semver',
  reason: 'only parses version strings of our own lockfile',
  until: '2026-12-31',
  ...overrides,
})

// ---------------------------------------------------------------------------------------------------------------
// The verdict

test('no advisory: pass, exit 0', (t) => {
  const v = auditVerdict(NONE, [], TODAY)
  t.like(v, { outcome: 'pass', exitCode: 0, err: [] })
  t.deepEqual(v.out, ['audit: no high or critical advisory in the production dependencies'])
})

test('a high advisory fails, naming its package, severity and advisory; its dependents and moderates are not listed', (t) => {
  const v = auditVerdict(HIGH, [], TODAY)
  t.like(v, { outcome: 'fail', exitCode: 1 })
  t.is(v.err[0], 'audit: FAILED: 1 high or critical advisory in the production dependencies:')
  t.regex(
    v.err[1]!,
    /^audit: {3}high {4} {2}semver {2}GHSA-c2qf-rxjj-qqgw {2}semver vulnerable to something {2}\(<7\.5\.2\) {2}https:\/\/github\.com\/advisories\/GHSA-c2qf-rxjj-qqgw$/,
  )
  t.is(v.err.length, 3)
  t.false(v.err.join('\n').includes('make-dir') || v.err.join('\n').includes('postcss'))
  t.deepEqual(
    v.findings.map((f) => [f.package, f.severity, f.advisory]),
    [['semver', 'high', 'GHSA-c2qf-rxjj-qqgw']],
  )
})

test('critical and high advisories are all listed, critical first', (t) => {
  const v = auditVerdict(CRITICAL_AND_HIGH, [], TODAY)
  t.is(v.exitCode, 1)
  t.is(v.err[0], 'audit: FAILED: 2 high or critical advisories in the production dependencies:')
  t.regex(v.err[1]!, /critical {2}minimist {2}GHSA-xvch-5gv4-984h /)
  t.regex(v.err[2]!, /high {4} {2}semver {2}GHSA-c2qf-rxjj-qqgw /)
})

test('a high covered by a valid exception passes, and says which exception until when', (t) => {
  const v = auditVerdict(HIGH, [exception()], TODAY)
  t.like(v, { outcome: 'pass', exitCode: 0, err: [] })
  t.is(v.out[0], 'audit: no high or critical advisory in the production dependencies (1 excepted)')
  t.regex(v.out[1]!, /^audit: excepted until 2026-12-31: high .*semver {2}GHSA-c2qf-rxjj-qqgw .*\(only parses version/)
})

test('an exception is valid through its until day, and no longer the day after', (t) => {
  t.is(auditVerdict(HIGH, [exception({ until: TODAY })], TODAY).exitCode, 0)
  t.is(auditVerdict(HIGH, [exception({ until: TODAY })], '2026-06-16').exitCode, 1)
})

test('an expired exception no longer applies: fail, saying when it expired', (t) => {
  const v = auditVerdict(HIGH, [exception({ until: '2026-01-31' })], TODAY)
  t.like(v, { outcome: 'fail', exitCode: 1 })
  t.regex(v.err[1]!, /semver {2}GHSA-c2qf-rxjj-qqgw .* \(its exception expired on 2026-01-31\)$/)
})

test('an exception covers its advisory in its package only; one for another fails the rest', (t) => {
  t.is(auditVerdict(HIGH, [exception({ package: 'make-dir' })], TODAY).exitCode, 1)
  const v = auditVerdict(CRITICAL_AND_HIGH, [exception()], TODAY)
  t.is(v.exitCode, 1)
  t.is(v.err[0], 'audit: FAILED: 1 high or critical advisory in the production dependencies:')
  t.regex(v.err[1]!, /minimist/)
})

test('an exception that covers nothing, or has expired unused, is noted for removal without failing', (t) => {
  const v = auditVerdict(
    NONE,
    [exception(), exception({ advisory: 'GHSA-xvch-5gv4-984h', package: 'minimist', until: '2026-01-01' })],
    TODAY,
  )
  t.is(v.exitCode, 0)
  t.deepEqual(v.out.slice(1), [
    'audit: note: the exception for GHSA-c2qf-rxjj-qqgw in semver matches no advisory: remove it',
    'audit: note: the exception for GHSA-xvch-5gv4-984h in minimist expired on 2026-01-01: remove it',
  ])
})

test('the advisory endpoint unreachable (npm 10 error object, E405): pass, with one loud line on stderr', (t) => {
  const v = auditVerdict(E405, [], TODAY)
  t.like(v, { outcome: 'not-run', exitCode: 0, out: [] })
  t.is(v.err.length, 1)
  t.regex(
    v.err[0]!,
    /^audit: !!! AUDIT NOT RUN !!! the registry's advisory endpoint could not be reached \(E405: 405 Method Not Allowed - POST https:\/\/registry\.npmjs\.org\/-\/npm\/v1\/security\/advisories\/bulk\); the production dependencies were NOT checked/,
  )
})

test("the advisory endpoint unreachable as npm 11 says it (statusCode 405, no code): pass, loud, with npm's reason", (t) => {
  const v = auditVerdict(NPM11_405, [], TODAY, NPM11_STDERR)
  t.like(v, { outcome: 'not-run', exitCode: 0 })
  t.is(v.err.length, 1)
  t.regex(v.err[0]!, /AUDIT NOT RUN .*\(HTTP 405: audit endpoint returned an error; 405 Method Not Allowed - POST /)
  t.false(v.err[0]!.includes('complete log'))
})

test('the registry out of reach on the network (ENOTFOUND): pass, loud', (t) => {
  const report = JSON.stringify({
    error: {
      code: 'ENOTFOUND',
      summary:
        'request to https://registry.npmjs.org/-/npm/v1/security/advisories/bulk failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org',
      detail: '',
    },
  })
  t.like(auditVerdict(report, [], TODAY), { outcome: 'not-run', exitCode: 0 })
})

test("another npm error (no lockfile) is the project's: the audit did not run, and that fails", (t) => {
  const report = JSON.stringify({
    error: {
      code: 'ENOLOCK',
      summary: 'This command requires an existing lockfile.',
      detail: 'Try creating one first with: npm i --package-lock-only',
    },
  })
  const v = auditVerdict(report, [], TODAY)
  t.like(v, { outcome: 'fail', exitCode: 1 })
  t.regex(v.err[0]!, /^audit: npm audit could not run \(ENOLOCK: This command requires an existing lockfile\./)
})

test('output that is not an audit report fails rather than passing unread', (t) => {
  t.like(auditVerdict('', [], TODAY), { outcome: 'fail', exitCode: 1 })
  t.regex(auditVerdict('npm ERR! oops', [], TODAY).err[0]!, /^audit: npm audit printed no JSON report/)
  t.regex(auditVerdict('{"advisories":{}}', [], TODAY).err[0]!, /^audit: not an npm audit report/)
})

// ---------------------------------------------------------------------------------------------------------------
// The exceptions file

test('the checked-in exceptions file is valid', (t) => {
  t.notThrows(() => parseExceptions(readFileSync(DEFAULT_EXCEPTIONS, 'utf8'), DEFAULT_EXCEPTIONS))
})

test('an exceptions entry that is not as documented is refused, naming the entry and the field', (t) => {
  const refused = (entries: unknown, message: RegExp) =>
    t.throws(() => parseExceptions(JSON.stringify(entries), 'x.json'), { message })
  t.deepEqual(parseExceptions(JSON.stringify([exception()]), 'x.json'), [exception()])
  refused({}, /^x\.json must be a JSON array of exceptions/)
  refused([exception(), { ...exception(), $comment: 'why' }], /^x\.json entry 1: unknown field "\$comment"/)
  refused([{ ...exception(), until: '2026-02-30' }], /^x\.json entry 0: until must be a calendar date YYYY-MM-DD/)
  refused([{ ...exception(), advisory: 'CVE-2022-25883' }], /^x\.json entry 0: advisory must be a GHSA id/)
  refused([{ ...exception(), reason: ' ' }], /^x\.json entry 0: reason must be a non-empty string/)
  refused(
    [{ advisory: 'GHSA-c2qf-rxjj-qqgw', package: 'semver', reason: 'r' }],
    /^x\.json entry 0: until must be a non-empty string/,
  )
  t.throws(() => parseExceptions('[', 'x.json'), { message: /^x\.json is not JSON/ })
})

// ---------------------------------------------------------------------------------------------------------------
// audit.sh

/** Runs audit.sh with a stand-in npm on PATH that prints `report` (and `stderr`) and exits 1, as npm audit does. */
const auditSh = async (t: Parameters<typeof tempDir>[0], args: string[], report?: string, stderr = '') => {
  const bin = tempDir(t, 'audit-npm-')
  writeFileSync(join(bin, 'report.json'), report ?? '')
  writeFileSync(join(bin, 'stderr.txt'), stderr)
  writeFileSync(
    join(bin, 'npm'),
    `#!/usr/bin/env bash\ncat '${bin}/report.json'\ncat '${bin}/stderr.txt' >&2\nexit 1\n`,
  )
  chmodSync(join(bin, 'npm'), 0o755)
  return promisify(execFile)(join(root, 'scripts/delivery/audit.sh'), args, {
    cwd: bin,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  )
}

test('audit.sh --help prints its usage and the exceptions format; a bad argument exits 2', async (t) => {
  const [help, bad] = await Promise.all([auditSh(t, ['--help']), auditSh(t, ['--level', 'low'])])
  t.is(help.code, 0)
  t.regex(help.stdout, /^usage: scripts\/delivery\/audit\.sh \[--help\] \[--exceptions FILE\]/)
  t.regex(help.stdout, /"advisory": "GHSA-…", "package": "name", "reason": "…", "until": "YYYY-MM-DD"/)
  t.is(bad.code, 2)
  t.regex(bad.stderr, /^audit\.sh: unknown argument: --level/)
})

test('audit.sh: none passes, a high fails naming it, an exception file covers it, the endpoint down passes loudly', async (t) => {
  const dir = tempDir(t, 'audit-exceptions-')
  const file = join(dir, 'exceptions.json')
  writeFileSync(file, JSON.stringify([exception({ until: '2999-12-31' })]))
  const expired = join(dir, 'expired.json')
  writeFileSync(expired, JSON.stringify([exception({ until: '2000-01-01' })]))
  const [none, high, excepted, lapsed, down] = await Promise.all([
    auditSh(t, [], NONE),
    auditSh(t, [], HIGH),
    auditSh(t, ['--exceptions', file], HIGH),
    auditSh(t, ['--exceptions', expired], HIGH),
    auditSh(t, [], NPM11_405, NPM11_STDERR),
  ])
  t.like(none, { code: 0, stderr: '' })
  t.is(high.code, 1)
  t.regex(
    high.stderr,
    /^audit: FAILED: 1 high or critical advisory .*\naudit: {3}high {4} {2}semver {2}GHSA-c2qf-rxjj-qqgw /,
  )
  t.like(excepted, { code: 0, stderr: '' })
  t.regex(excepted.stdout, /\(1 excepted\)/)
  t.is(lapsed.code, 1)
  t.regex(lapsed.stderr, /its exception expired on 2000-01-01/)
  t.is(down.code, 0)
  t.is(down.stdout, '')
  t.regex(down.stderr, /^audit: !!! AUDIT NOT RUN !!! .*audit endpoint returned an error.*\n$/)
  t.is(down.stderr.split('\n').length, 2, 'one line')
})
