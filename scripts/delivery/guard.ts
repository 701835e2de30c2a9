/**
 * npm run guard: AWS CloudFormation Guard (cfn-guard 3, from the npm package @cdklabs/cdk-validator-cfnguard, run
 * offline) with AWS Control Tower's proactive rules, over each template as it deploys: parameters at their
 * defaults (or a stage file's values, --config), conditions decided, resources left out where their condition
 * does not hold; references to resources are kept as references, so that rules relating two resources (a bucket
 * and its policy) still see them.
 *
 * A rule knowingly not followed is suppressed on the resource, in cfn-guard's Metadata format, with the reason
 * beside it:
 *
 *   Metadata:
 *     guard:
 *       SuppressedRules: [lambda_inside_vpc_check]
 *       Reasons:
 *         lambda_inside_vpc_check: The functions call AWS APIs only; a VPC would add NAT cost and cold-start time.
 *
 * A suppression without its reason does not count. The exit code is 1 when a failure is not suppressed.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { arch, platform, tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { readFileSync } from 'node:fs'
import { conditionHolds, evaluate, list, loadTemplate, obj, type Scope, type Template } from '../stack/template.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const pkg = join(root, 'node_modules', '@cdklabs', 'cdk-validator-cfnguard')
export const RULES = join(pkg, 'rules', 'control-tower', 'cfn-guard')

/** The cfn-guard binary the package ships for this machine. */
export const guardBinary = (): string => {
  const os = platform() === 'darwin' ? 'macos' : 'ubuntu'
  const cpu = arch() === 'arm64' ? 'aarch64' : 'x86_64'
  const binary = join(pkg, 'bin', os, cpu, 'cfn-guard')
  if (!existsSync(binary))
    throw new Error(`cfn-guard not found at ${binary}: npm ci installs it (@cdklabs/cdk-validator-cfnguard)`)
  return binary
}

const PSEUDO = {
  'AWS::Region': 'eu-west-3',
  'AWS::AccountId': '123456789012',
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'order-pipeline',
}

const REF = '\u0000ref:'
const ATT = '\u0000att:'

/** Strings standing for a resource reference → the reference itself. */
const restore = (value: unknown): unknown => {
  // A number parameter's value (RetentionInDays: !Ref LogRetentionDays) is a number to the rules, as it is to
  // CloudFormation; longer digit strings (account ids) stay strings.
  if (typeof value === 'string' && /^(0|[1-9]\d{0,5})$/.test(value)) return Number(value)
  if (typeof value === 'string') {
    const ref = new RegExp(`^${REF}([A-Za-z0-9]+)$`).exec(value)
    if (ref) return { Ref: ref[1] }
    const att = new RegExp(`^${ATT}([A-Za-z0-9]+)\\|([A-Za-z0-9.]+)$`).exec(value)
    if (att) return { 'Fn::GetAtt': [att[1], att[2]] }
    // A string built with references: their Fn::Join, the form Control Tower's rules read (an ARN and '/*').
    if (value.includes(REF) || value.includes(ATT)) {
      const parts = value.split(new RegExp(`(${REF}[A-Za-z0-9]+|${ATT}[A-Za-z0-9]+\\|[A-Za-z0-9.]+)`)).filter(Boolean)
      return { 'Fn::Join': ['', parts.map(restore)] }
    }
    return value
  }
  if (Array.isArray(value)) return value.map(restore)
  if (value !== null && typeof value === 'object') {
    // Another stack's export is a string when it deploys (a key ARN, a stream ARN): stand for it with its name.
    const imported = (value as Record<string, unknown>)['Fn::ImportValue']
    if (typeof imported === 'string' && Object.keys(value).length === 1) return `imported:${imported}`
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, restore(v)]))
  }
  return value
}

/** The template as it deploys with `values` (parameters not given take their defaults). */
export const render = (t: Template, values: Record<string, string> = {}): Template => {
  const scope: Scope = {
    values: {
      ...PSEUDO,
      ...Object.fromEntries(
        Object.entries(t.Parameters ?? {})
          .filter(([, p]) => p.Default !== undefined)
          .map(([name, p]) => [name, String(p.Default)]),
      ),
      ...values,
    },
    resource: (id) => `${REF}${id}`,
    attribute: (id, attribute) => `${ATT}${id}|${attribute}`,
  }
  const resources = Object.entries(t.Resources).filter(([, r]) => !r.Condition || conditionHolds(r.Condition, t, scope))
  return {
    Resources: Object.fromEntries(
      resources.map(([id, r]) => [
        id,
        {
          Type: r.Type,
          ...(r.Metadata ? { Metadata: r.Metadata } : {}),
          Properties: restore(evaluate(r.Properties ?? {}, t, scope)) as Record<string, unknown>,
        },
      ]),
    ),
  } as Template
}

export interface Finding {
  template: string
  resource: string
  rule: string
  /** The Control Tower control and its text, e.g. `[CT.LAMBDA.PR.3]: Require …`. */
  control: string
  /** The reason it is suppressed, or undefined when it counts. */
  suppressed?: string
}

/** The rules a resource suppresses, each with its reason (a suppression without one is not a suppression). */
export const suppressions = (metadata: unknown): Map<string, string> => {
  const guard = obj(obj(metadata).guard)
  const reasons = obj(guard.Reasons)
  return new Map(
    list<string>(guard.SuppressedRules)
      .map((rule) => [String(rule), typeof reasons[rule] === 'string' ? String(reasons[rule]).trim() : ''] as const)
      .filter(([, reason]) => reason.length > 0),
  )
}

/** Runs cfn-guard over rendered templates: every failing rule of every resource, suppressed or not. */
export const scan = (templates: { name: string; template: Template }[], rules = RULES): Finding[] => {
  const dir = mkdtempSync(join(tmpdir(), 'guard-'))
  try {
    for (const { name, template } of templates) writeFileSync(join(dir, `${name}.json`), JSON.stringify(template))
    const run = spawnSync(
      guardBinary(),
      [
        'validate',
        '--rules',
        rules,
        '--data',
        dir,
        '--output-format',
        'json',
        '--show-summary',
        'none',
        '--structured',
      ],
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
    )
    if (run.status !== 0 && run.status !== 19)
      throw new Error(`cfn-guard exited ${run.status}: ${(run.stderr || run.stdout).slice(0, 500)}`)
    const reports = JSON.parse(run.stdout || '[]') as {
      name: string
      not_compliant: { Rule: { name: string } & Record<string, unknown> }[]
    }[]
    const findings = new Map<string, Finding>()
    for (const report of reports) {
      const name = basename(report.name, '.json')
      const template = templates.find((x) => x.name === name)!.template
      for (const { Rule } of report.not_compliant) {
        const text = JSON.stringify(Rule)
        const control = /\[CT\.[A-Z0-9.]+\]:[^\\]*/.exec(text)?.[0]?.trim() ?? Rule.name
        const resources = new Set([...text.matchAll(/"path":"\/Resources\/([^/"]+)/g)].map((m) => m[1]!))
        for (const resource of resources) {
          const suppressed = suppressions(template.Resources[resource]?.Metadata).get(Rule.name)
          findings.set(`${name}/${resource}/${Rule.name}`, {
            template: name,
            resource,
            rule: Rule.name,
            control,
            suppressed,
          })
        }
      }
    }
    return [...findings.values()].sort((a, b) =>
      `${a.template}${a.resource}`.localeCompare(`${b.template}${b.resource}`),
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const templateDir = join(root, 'cloudformation')

const main = () => {
  const { values: options, positionals } = parseArgs({
    options: { config: { type: 'string' }, help: { type: 'boolean' }, all: { type: 'boolean' } },
    allowPositionals: true,
  })
  if (options.help) {
    console.log(`usage: npm run guard -- [--config cloudformation/config/<stage>.json] [--all] [template.yaml ...]
  Scans each template (default: every one in cloudformation/) with cfn-guard and AWS Control Tower's proactive rules,
  as it deploys with its parameter defaults, or with the Parameters of a stage file (--config). Prints each failure
  (template, resource, rule, control); --all lists the suppressed ones too, with their reasons. Exit 1 when a failure
  is not suppressed.`)
    return
  }
  const values = options.config
    ? (obj(JSON.parse(readFileSync(options.config, 'utf8'))).Parameters as Record<string, string>)
    : {}
  const files = positionals.length
    ? positionals
    : readdirSync(templateDir)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => join(templateDir, f))
  const findings = scan(files.map((f) => ({ name: basename(f, '.yaml'), template: render(loadTemplate(f), values) })))
  const open = findings.filter((f) => !f.suppressed)
  for (const f of options.all ? findings : open)
    console.log(
      `${f.suppressed ? 'suppressed' : 'FAIL'}  ${f.template}.yaml ${f.resource}  ${f.rule}  ${f.control}${f.suppressed ? `  (${f.suppressed})` : ''}`,
    )
  console.log(
    `${files.length} template${files.length === 1 ? '' : 's'}: ${open.length} failures, ${findings.length - open.length} suppressed with a reason`,
  )
  if (open.length > 0) process.exitCode = 1
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main()
  } catch (err) {
    console.error(`guard: ${(err as Error).message}`)
    process.exitCode = 1
  }
}
