/**
 * CloudFormation templates read as data, and evaluated with parameter values: enough of CloudFormation to resolve
 * names, ARNs and conditions (Ref, Fn::Sub, Fn::Join, Fn::If, Fn::GetAtt, Conditions and Rules), for the template
 * tests of test/cloudformation/. Load templates with parseTemplate/loadTemplate (scripts/local/template.ts).
 */

export type Obj = Record<string, unknown>
export interface Parameter { Type: string, Default?: unknown, AllowedValues?: unknown[], AllowedPattern?: string, MinValue?: number, MaxValue?: number }
export interface Resource { Type: string, Properties?: Obj, DependsOn?: string | string[], Condition?: string, DeletionPolicy?: string, UpdateReplacePolicy?: string, Metadata?: Obj }
export interface Template {
  Description?: string
  Parameters?: Record<string, Parameter>
  Conditions?: Record<string, unknown>
  Rules?: Record<string, { RuleCondition?: unknown, Assertions: { Assert: unknown, AssertDescription?: string }[] }>
  Resources: Record<string, Resource>
  Outputs?: Record<string, { Value: unknown, Description?: string, Condition?: string }>
}
export interface Statement { Sid?: string, Effect: string, Principal?: unknown, Action: string | string[], Resource: unknown, Condition?: Obj }

export const obj = (value: unknown): Obj => (typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Obj : {})
export const list = <T = unknown>(value: unknown): T[] => (Array.isArray(value) ? value as T[] : value === undefined ? [] : [value as T])
export const resourcesOf = (t: Template, type: string): [string, Resource][] => Object.entries(t.Resources).filter(([, r]) => r.Type === type)
export const props = (r: Resource | undefined): Obj => r?.Properties ?? {}

export const PSEUDO: Record<string, string> = {
  'AWS::Region': 'eu-west-3',
  'AWS::AccountId': '123456789012',
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'tp-test',
}
export type Values = Record<string, string>

/** Parameter values: the template's defaults, then `overrides` (CloudFormation hands every parameter as a string). */
export const valuesOf = (t: Template, overrides: Values = {}): Values => ({
  ...Object.fromEntries(Object.entries(t.Parameters ?? {}).filter(([, p]) => p.Default !== undefined).map(([name, p]) => [name, String(p.Default)])),
  ...overrides,
})

const NO_VALUE = Symbol('AWS::NoValue')

/** Resolves Ref, Fn::Sub, Fn::Join, Fn::If, Fn::GetAtt; a resource's Ref or attribute becomes `<Logical>` / `<Logical.Attr>`. */
export const evaluate = (value: unknown, t: Template, values: Values): unknown => {
  if (Array.isArray(value)) return value.map((v) => evaluate(v, t, values)).filter((v) => v !== NO_VALUE)
  if (typeof value !== 'object' || value === null) return value
  const entries = Object.entries(value as Obj)
  if (entries.length === 1) {
    const [fn, arg] = entries[0]!
    const ref = (name: string): string => {
      if (name === 'AWS::NoValue') return NO_VALUE as unknown as string
      if (name in values) return values[name]!
      if (name in PSEUDO) return PSEUDO[name]!
      if (name in t.Resources) return `<${name}>`
      throw new Error(`unresolved !Ref ${name}`)
    }
    if (fn === 'Ref') return ref(String(arg))
    if (fn === 'Fn::GetAtt') return `<${list<string>(arg).join('.')}>`
    if (fn === 'Fn::Sub') {
      const [pattern, vars] = typeof arg === 'string' ? [arg, {}] : arg as [string, Obj]
      return pattern.replace(/\$\{([^}!]+)\}/g, (_, name: string) =>
        String(name in vars ? evaluate(vars[name], t, values) : name.includes('.') && !name.startsWith('AWS::') ? `<${name}>` : ref(name)))
    }
    if (fn === 'Fn::Join') {
      const [separator, parts] = arg as [string, unknown[]]
      return list(evaluate(parts, t, values)).join(separator)
    }
    if (fn === 'Fn::If') {
      const [condition, yes, no] = arg as [string, unknown, unknown]
      return evaluate(conditionHolds(condition, t, values) ? yes : no, t, values)
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, evaluate(v, t, values)]).filter(([, v]) => v !== NO_VALUE))
}

/** Fn::Equals / Not / And / Or / Contains and Condition references, as in Conditions and Rules. */
export const truth = (expr: unknown, t: Template, values: Values): boolean => {
  const [fn, arg] = Object.entries(obj(expr))[0] ?? []
  const args = list(arg)
  switch (fn) {
    case 'Fn::Equals': return String(evaluate(args[0], t, values)) === String(evaluate(args[1], t, values))
    case 'Fn::Not': return !truth(args[0], t, values)
    case 'Fn::And': return args.every((a) => truth(a, t, values))
    case 'Fn::Or': return args.some((a) => truth(a, t, values))
    case 'Fn::Contains': return list(evaluate(args[0], t, values)).map(String).includes(String(evaluate(args[1], t, values)))
    case 'Condition': return conditionHolds(String(arg), t, values)
    default: throw new Error(`not a condition: ${JSON.stringify(expr)}`)
  }
}
export const conditionHolds = (name: string, t: Template, values: Values): boolean => {
  const expr = t.Conditions?.[name]
  if (expr === undefined) throw new Error(`unknown condition ${name}`)
  return truth(expr, t, values)
}

/** Does the root's Rules section accept these parameter values? */
export const rulesAccept = (t: Template, values: Values): boolean =>
  Object.values(t.Rules ?? {}).every((rule) =>
    (rule.RuleCondition !== undefined && !truth(rule.RuleCondition, t, values)) || rule.Assertions.every((a) => truth(a.Assert, t, values)))

/** A resource's properties evaluated with these values; undefined when its Condition leaves it out. */
export const resolvedResource = (t: Template, logicalId: string, values: Values): Obj | undefined => {
  const resource = t.Resources[logicalId]
  if (!resource) throw new Error(`no resource ${logicalId}`)
  if (resource.Condition && !conditionHolds(resource.Condition, t, values)) return undefined
  return obj(evaluate(props(resource), t, values))
}

/** What an evaluated role's inline policies allow: action → resources. */
export const grantsOfRole = (role: Obj | undefined): Map<string, string[]> => {
  const granted = new Map<string, string[]>()
  for (const policy of list<Obj>(role?.Policies)) {
    for (const s of list<Statement>(obj(policy.PolicyDocument).Statement)) {
      if (s.Effect !== 'Allow') continue
      for (const action of list<string>(s.Action)) granted.set(action, [...(granted.get(action) ?? []), ...list<string>(s.Resource)])
    }
  }
  return granted
}
