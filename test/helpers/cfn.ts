/**
 * CloudFormation templates read as data, and evaluated with parameter values: enough of CloudFormation to resolve
 * names, ARNs and conditions (Ref, Fn::Sub, Fn::Join, Fn::If, Fn::GetAtt, Conditions and Rules), for the template
 * tests of test/cloudformation/. Load templates with parseTemplate/loadTemplate (scripts/stack/template.ts).
 */

import * as cfn from '../../scripts/stack/template.ts'
import type { Obj, Resource, Template } from '../../scripts/stack/template.ts'

export type { Obj, Parameter, Resource, Template } from '../../scripts/stack/template.ts'
export interface Statement {
  Sid?: string
  Effect: string
  Principal?: unknown
  Action: string | string[]
  Resource: unknown
  Condition?: Obj
}

export { list, obj } from '../../scripts/stack/template.ts'
const { list, obj } = cfn
export const resourcesOf = (t: Template, type: string): [string, Resource][] =>
  Object.entries(t.Resources).filter(([, r]) => r.Type === type)
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
  ...Object.fromEntries(
    Object.entries(t.Parameters ?? {})
      .filter(([, p]) => p.Default !== undefined)
      .map(([name, p]) => [name, String(p.Default)]),
  ),
  ...overrides,
})

/** The evaluation scope of a template test: resources have no physical ids, so they read `<Logical>` / `<Logical.Attr>`. */
const scope = (values: Values): cfn.Scope => ({
  values: { ...PSEUDO, ...values },
  resource: (logicalId) => `<${logicalId}>`,
  attribute: (logicalId, attribute) => `<${logicalId}.${attribute}>`,
})

/** Resolves Ref, Fn::Sub, Fn::Join, Fn::If, Fn::GetAtt (scripts/stack/template.ts) with these parameter values. */
export const evaluate = (value: unknown, t: Template, values: Values): unknown => cfn.evaluate(value, t, scope(values))
export const truth = (expr: unknown, t: Template, values: Values): boolean => cfn.truth(expr, t, scope(values))
export const conditionHolds = (name: string, t: Template, values: Values): boolean =>
  cfn.conditionHolds(name, t, scope(values))

/** Does the root's Rules section accept these parameter values? */
export const rulesAccept = (t: Template, values: Values): boolean =>
  Object.values(t.Rules ?? {}).every(
    (rule) =>
      (rule.RuleCondition !== undefined && !truth(rule.RuleCondition, t, values)) ||
      rule.Assertions.every((a) => truth(a.Assert, t, values)),
  )

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
      for (const action of list<string>(s.Action))
        granted.set(action, [...(granted.get(action) ?? []), ...list<string>(s.Resource)])
    }
  }
  return granted
}
