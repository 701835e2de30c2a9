/**
 * CloudFormation YAML (short-form intrinsic tags included) read as plain objects in their long form, and a small
 * resolver for the intrinsics the local stack needs to re-apply what moto's CloudFormation skips.
 */
import { readFileSync } from 'node:fs'
import { parse, type CollectionTag, type ScalarTag } from 'yaml'

const INTRINSICS = ['Sub', 'Ref', 'GetAtt', 'If', 'Equals', 'Not', 'And', 'Or', 'Join', 'Select', 'Split', 'FindInMap',
  'Condition', 'Base64', 'ImportValue', 'GetAZs', 'Cidr', 'Contains', 'Transform']

const longName = (name: string): string => (name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`)

/** `!GetAtt A.B.C` is ['A', 'B.C'], as CloudFormation reads it (a nested stack's `Outputs.X`). */
const splitGetAtt = (value: string): string[] => {
  const dot = value.indexOf('.')
  return dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)]
}

/** !Ref x → { Ref: x }, !GetAtt a.b → { 'Fn::GetAtt': ['a', 'b'] }, !Sub … → { 'Fn::Sub': … }, etc. */
const customTags = INTRINSICS.flatMap((name): (ScalarTag | CollectionTag)[] => [
  { tag: `!${name}`, resolve: (value: string) => ({ [longName(name)]: name === 'GetAtt' ? splitGetAtt(value) : value }) } as ScalarTag,
  { tag: `!${name}`, collection: 'seq', resolve: (seq) => ({ [longName(name)]: seq.toJSON() as unknown }) } as CollectionTag,
  { tag: `!${name}`, collection: 'map', resolve: (map) => ({ [longName(name)]: map.toJSON() as unknown }) } as CollectionTag,
])

/** A template's text as data, intrinsics in their long form. */
export const parseTemplate = <T = Template>(text: string): T => parse(text, { customTags }) as T

export interface Template {
  Parameters?: Record<string, { Default?: unknown, Type?: string }>
  Conditions?: Record<string, unknown>
  Resources: Record<string, { Type: string, Properties?: Record<string, unknown>, DependsOn?: string | string[], Condition?: string }>
  Outputs?: Record<string, { Value: unknown, Description?: string }>
}

export const loadTemplate = (file: string): Template => parseTemplate(readFileSync(file, 'utf8'))

export interface Scope {
  /** Parameter values and pseudo parameters (AWS::Region, AWS::AccountId, AWS::Partition, AWS::URLSuffix). */
  refs: Record<string, string>
  /** Fn::GetAtt values, keyed `Logical.Attribute`. */
  attributes: Record<string, string>
}

/** Resolves Ref, Fn::GetAtt, Fn::Sub and Fn::Join in a template value. */
export const resolve = (value: unknown, scope: Scope): unknown => {
  if (Array.isArray(value)) return value.map((v) => resolve(v, scope))
  if (typeof value !== 'object' || value === null) return value
  const entries = Object.entries(value)
  if (entries.length === 1) {
    const [fn, arg] = entries[0]!
    if (fn === 'Ref') {
      const name = String(arg)
      if (!(name in scope.refs)) throw new Error(`cannot resolve !Ref ${name}`)
      return scope.refs[name]
    }
    if (fn === 'Fn::GetAtt') {
      const key = (arg as string[]).join('.')
      if (!(key in scope.attributes)) throw new Error(`cannot resolve !GetAtt ${key}`)
      return scope.attributes[key]
    }
    if (fn === 'Fn::Sub') {
      const [text, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>])
      return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
        if (name in vars) return String(resolve(vars[name], scope))
        if (name.includes('.')) return String(resolve({ 'Fn::GetAtt': name.split('.') }, scope))
        return String(resolve({ Ref: name }, scope))
      })
    }
    if (fn === 'Fn::Join') {
      const [separator, parts] = arg as [string, unknown[]]
      return parts.map((p) => resolve(p, scope)).join(separator)
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v, scope)]))
}
