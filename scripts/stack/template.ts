/**
 * CloudFormation YAML (short-form intrinsic tags included) read as plain objects in their long form, and a small
 * resolver for the intrinsics the local stack needs to re-apply what moto's CloudFormation skips.
 */
import { readFileSync } from 'node:fs'
import { parse, type CollectionTag, type ScalarTag } from 'yaml'
import { isObject } from '../../lib/orders/json.ts'

const INTRINSICS = [
  'Sub',
  'Ref',
  'GetAtt',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
  'Join',
  'Select',
  'Split',
  'FindInMap',
  'Condition',
  'Base64',
  'ImportValue',
  'GetAZs',
  'Cidr',
  'Contains',
  'Transform',
]

const longName = (name: string): string => (name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`)

/** `!GetAtt A.B.C` is ['A', 'B.C'], as CloudFormation reads it (a nested stack's `Outputs.X`). */
const splitGetAtt = (value: string): string[] => {
  const dot = value.indexOf('.')
  return dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)]
}

/** !Ref x → { Ref: x }, !GetAtt a.b → { 'Fn::GetAtt': ['a', 'b'] }, !Sub … → { 'Fn::Sub': … }, etc. */
const customTags = INTRINSICS.flatMap((name): (ScalarTag | CollectionTag)[] => [
  {
    tag: `!${name}`,
    resolve: (value: string) => ({ [longName(name)]: name === 'GetAtt' ? splitGetAtt(value) : value }),
  } as ScalarTag,
  {
    tag: `!${name}`,
    collection: 'seq',
    resolve: (seq) => ({ [longName(name)]: seq.toJSON() as unknown }),
  } as CollectionTag,
  {
    tag: `!${name}`,
    collection: 'map',
    resolve: (map) => ({ [longName(name)]: map.toJSON() as unknown }),
  } as CollectionTag,
])

/** A template's text as data, intrinsics in their long form. */
export const parseTemplate = <T = Template>(text: string): T => parse(text, { customTags }) as T

export type Obj = Record<string, unknown>
export interface Parameter {
  Type: string
  Default?: unknown
  AllowedValues?: unknown[]
  AllowedPattern?: string
  MinValue?: number
  MaxValue?: number
}
export interface Resource {
  Type: string
  Properties?: Obj
  DependsOn?: string | string[]
  Condition?: string
  DeletionPolicy?: string
  UpdateReplacePolicy?: string
  Metadata?: Obj
}
export interface Template {
  Description?: string
  Parameters?: Record<string, Parameter>
  Conditions?: Record<string, unknown>
  Mappings?: Record<string, Record<string, Record<string, unknown>>>
  Rules?: Record<string, { RuleCondition?: unknown; Assertions: { Assert: unknown; AssertDescription?: string }[] }>
  Resources: Record<string, Resource>
  Outputs?: Record<string, { Value: unknown; Description?: string; Condition?: string }>
}

export const loadTemplate = (file: string): Template => parseTemplate(readFileSync(file, 'utf8'))

/** A template value as an object ({} when it is not one). */
export const obj = (value: unknown): Obj => (isObject(value) ? value : {})
/** A template value as a list (CloudFormation accepts one item where it takes a list). */
export const list = <T = unknown>(value: unknown): T[] =>
  Array.isArray(value) ? (value as T[]) : value === undefined ? [] : [value as T]

/** What the intrinsics of a template resolve to. */
export interface Scope {
  /** Parameter values and pseudo parameters (AWS::Region, AWS::AccountId, AWS::Partition, AWS::URLSuffix, ...). */
  values: Record<string, string>
  /** `!Ref` of one of the template's resources. */
  resource: (logicalId: string) => string
  /** `!GetAtt Logical.Attribute`. */
  attribute: (logicalId: string, attribute: string) => string
}

const NO_VALUE = Symbol('AWS::NoValue')

/**
 * Resolves Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Split, Fn::Select, Fn::FindInMap and Fn::If (with the template's
 * Conditions) in a template value;
 * `AWS::NoValue` removes the property.
 */
export const evaluate = (value: unknown, t: Template, scope: Scope): unknown => {
  if (Array.isArray(value)) return value.map((v) => evaluate(v, t, scope)).filter((v) => v !== NO_VALUE)
  if (typeof value !== 'object' || value === null) return value
  const entries = Object.entries(value as Obj)
  if (entries.length === 1) {
    const [fn, arg] = entries[0]!
    const ref = (name: string): string => {
      if (name === 'AWS::NoValue') return NO_VALUE as unknown as string
      if (name in scope.values) return scope.values[name]!
      if (name in t.Resources) return scope.resource(name)
      throw new Error(`unresolved !Ref ${name}`)
    }
    if (fn === 'Ref') return ref(String(arg))
    if (fn === 'Fn::GetAtt') {
      const [logicalId, attribute] = list(arg).map(String)
      return scope.attribute(logicalId!, attribute!)
    }
    if (fn === 'Fn::Sub') {
      const [pattern, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Obj])
      // ${!Literal} is the text ${Literal}, as CloudFormation writes it.
      return pattern.replace(/\$\{(!?)([^}]+)\}/g, (_, literal: string, name: string) => {
        if (literal) return `\${${name}}`
        if (name in vars) return String(evaluate(vars[name], t, scope))
        const dot = name.indexOf('.')
        return dot > 0 && !name.startsWith('AWS::')
          ? scope.attribute(name.slice(0, dot), name.slice(dot + 1))
          : ref(name)
      })
    }
    if (fn === 'Fn::Join') {
      const [separator, parts] = arg as [string, unknown[]]
      return list(evaluate(parts, t, scope)).join(separator)
    }
    if (fn === 'Fn::If') {
      const [condition, yes, no] = arg as [string, unknown, unknown]
      return evaluate(conditionHolds(condition, t, scope) ? yes : no, t, scope)
    }
    if (fn === 'Fn::Split') {
      const [separator, text] = arg as [string, unknown]
      return String(evaluate(text, t, scope)).split(separator)
    }
    if (fn === 'Fn::FindInMap') {
      const [map, top, second] = list(arg).map((a) => String(evaluate(a, t, scope)))
      const found = t.Mappings?.[map!]?.[top!]?.[second!]
      if (found === undefined) throw new Error(`!FindInMap [${map}, ${top}, ${second}]: no such entry`)
      return found
    }
    if (fn === 'Fn::Select') {
      const [index, items] = arg as [unknown, unknown]
      const chosen = list(evaluate(items, t, scope))[Number(evaluate(index, t, scope))]
      if (chosen === undefined) throw new Error(`!Select ${JSON.stringify(index)}: no such element`)
      return chosen
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, evaluate(v, t, scope)]).filter(([, v]) => v !== NO_VALUE))
}

/** Fn::Equals / Not / And / Or / Contains and Condition references, as in Conditions and Rules. */
export const truth = (expr: unknown, t: Template, scope: Scope): boolean => {
  const [fn, arg] = Object.entries(obj(expr))[0] ?? []
  const args = list(arg)
  switch (fn) {
    case 'Fn::Equals':
      return String(evaluate(args[0], t, scope)) === String(evaluate(args[1], t, scope))
    case 'Fn::Not':
      return !truth(args[0], t, scope)
    case 'Fn::And':
      return args.every((a) => truth(a, t, scope))
    case 'Fn::Or':
      return args.some((a) => truth(a, t, scope))
    case 'Fn::Contains':
      return list(evaluate(args[0], t, scope))
        .map(String)
        .includes(String(evaluate(args[1], t, scope)))
    case 'Condition':
      return conditionHolds(String(arg), t, scope)
    default:
      throw new Error(`not a condition: ${JSON.stringify(expr)}`)
  }
}

export const conditionHolds = (name: string, t: Template, scope: Scope): boolean => {
  const expr = t.Conditions?.[name]
  if (expr === undefined) throw new Error(`unknown condition ${name}`)
  return truth(expr, t, scope)
}
