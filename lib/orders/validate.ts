/**
 * Order validation: the precompiled dialect schemas (lib/orders/generated, ajv standalone, no type coercion) plus the
 * business rules a schema cannot say (money to the cent, amount equal to the items, the maximum amount, the size
 * bound). Every failure names the field (a JSON Pointer in the dialect the client sent) and the rule.
 */
import type { ErrorObject } from 'ajv'
import { validateApi, validateCanonical, validateRich, type CompiledValidator } from './generated/validators.mjs'
import { isObject, jsonProblem, type JsonProblem } from './json.ts'
import { LIMITS } from './limits.ts'
import { ValidationError, type FieldError } from './errors.ts'
import { formatCents, toCents } from './money.ts'
import {
  DIALECT_MAPPINGS,
  detectDialect,
  normalise,
  sumCents,
  type Dialect,
  type DialectMapping,
  type NormaliseContext,
  type Order,
} from './order.ts'

/** Each dialect's compiled schema (schemas/<name>.schema.json, compiled by `npm run schemas`). */
export const VALIDATORS: Readonly<Record<Dialect, CompiledValidator>> = {
  canonical: validateCanonical,
  rich: validateRich,
  api: validateApi,
}

/** Where a dialect keeps the money the business rules check: its amount (if any) and each item's quantity and price. */
export interface MoneyShape {
  /** The amount's keys from the top of the body; undefined when the dialect has none. */
  amount: string[] | undefined
  /** The quantity's and the unit price's keys in each element of `items`. */
  qty: string
  price: string
}

export const SHAPES: Readonly<Record<Dialect, MoneyShape>> = {
  canonical: { amount: ['amount'], qty: 'qty', price: 'unit_price' },
  rich: { amount: ['payment', 'amount'], qty: 'quantity', price: 'unit_price' },
  api: { amount: undefined, qty: 'quantity', price: 'price' },
}

/**
 * Everything the intake knows of its dialects: how each is detected and mapped (order.ts), its schema and where its
 * money is (above). The intake's own are DIALECT_TABLES; docs/extending.md adds a dialect to each table.
 */
export interface DialectTables {
  mappings: readonly DialectMapping[]
  validators: Readonly<Record<Dialect, CompiledValidator>>
  shapes: Readonly<Record<Dialect, MoneyShape>>
}

export const DIALECT_TABLES: DialectTables = { mappings: DIALECT_MAPPINGS, validators: VALIDATORS, shapes: SHAPES }

export interface Rules {
  /** Orders must stay strictly below this amount. */
  maxOrderAmount: number
}

/** `/items/0/sku` → `items[0].sku`, the way a person names a field. */
export const fieldName = (pointer: string): string =>
  pointer === ''
    ? 'order'
    : pointer
        .slice(1)
        .split('/')
        .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
        .reduce((name, part) => (/^\d+$/.test(part) ? `${name}[${part}]` : name ? `${name}.${part}` : part), '')

const describe = (e: ErrorObject, path: string): string => {
  const field = fieldName(path)
  const p = e.params as Record<string, unknown>
  switch (e.keyword) {
    case 'required':
      return `Missing required field: ${field}`
    case 'additionalProperties':
      return `Unknown field: ${field}`
    case 'type':
      return `${field} must be ${p.type === 'integer' || p.type === 'object' || p.type === 'array' ? 'an' : 'a'} ${p.type === 'object' ? 'JSON object' : String(p.type)}`
    case 'exclusiveMinimum':
      return `${field} must be greater than ${String(p.limit)}`
    case 'minimum':
      return `${field} must be at least ${String(p.limit)}`
    case 'maximum':
      return `${field} must be at most ${String(p.limit)}`
    case 'minItems':
      return `${field} must have at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}`
    case 'maxItems':
      return `${field} must have at most ${String(p.limit)} items`
    case 'minLength':
      return `${field} must not be empty`
    case 'maxLength':
      return `${field} must be at most ${String(p.limit)} characters`
    case 'pattern':
      if (isDateTimePattern(e)) return `${field} must be an ISO 8601 date-time, like 2026-01-07T10:00:00Z`
      return `${field} may hold only letters, digits and . _ : # / - and must start with a letter or digit`
    case 'format':
      if (p.format === 'date-time') return `${field} must be an ISO 8601 date-time, like 2026-01-07T10:00:00Z`
      if (p.format === 'date') return `${field} must be an ISO 8601 date, like 2026-01-07`
      if (p.format === 'email') return `${field} must be an e-mail address`
      return `${field} must be a ${String(p.format)}`
    case 'enum':
      if (path.endsWith('/currency')) return `${field} must be an ISO 4217 currency code, like EUR`
      return `${field} must be one of ${(p.allowedValues as unknown[]).join(', ')}`
    default:
      return `${field} ${e.message ?? 'is invalid'}`
  }
}

/** The date-time definition adds a pattern to ajv's RFC 3339 format: ISO 8601 wants the `T`. */
const isDateTimePattern = (e: ErrorObject): boolean =>
  String((e.params as { pattern?: unknown }).pattern).startsWith('^\\d{4}-')

/**
 * ajv's errors as field errors: the pointer names the offending field itself (a missing or unknown one too); a
 * date-time that breaks both its format and its pattern is one `format` error.
 */
export const toFieldErrors = (errors: ErrorObject[] | null | undefined): FieldError[] => {
  const fields = new Map<string, FieldError>()
  for (const e of errors ?? []) {
    const p = e.params as Record<string, unknown>
    const extra =
      e.keyword === 'required'
        ? p.missingProperty
        : e.keyword === 'additionalProperties'
          ? p.additionalProperty
          : undefined
    const path = extra === undefined ? e.instancePath : `${e.instancePath}/${String(extra)}`
    const rule = e.keyword === 'pattern' && isDateTimePattern(e) ? 'format' : e.keyword
    if (!fields.has(`${path}|${rule}`)) fields.set(`${path}|${rule}`, { path, rule, message: describe(e, path) })
  }
  return [...fields.values()]
}

const at = (value: unknown, keys: string[]): unknown =>
  keys.reduce<unknown>(
    (v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined),
    value,
  )

/** The rules a schema cannot state, checked on whatever parts of the body are well-formed. */
export const businessRules = (input: unknown, dialect: Dialect, rules: Rules, shapes = SHAPES): FieldError[] => {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return []
  const shape = shapes[dialect]
  const errors: FieldError[] = []
  const rawItems = (input as { items?: unknown }).items
  const items = Array.isArray(rawItems) ? rawItems : []
  items.forEach((item, i) => {
    const price = at(item, [shape.price])
    if (typeof price === 'number' && price > 0 && toCents(price) === undefined) {
      const path = `/items/${i}/${shape.price}`
      errors.push({ path, rule: 'decimals', message: `${fieldName(path)} must have at most 2 decimals` })
    }
  })
  const lines = items.map((item) => ({ qty: at(item, [shape.qty]), unit_price: at(item, [shape.price]) }))
  const sum = Array.isArray(rawItems) ? sumCents(lines) : undefined
  const maxCents = Math.round(rules.maxOrderAmount * 100)
  if (shape.amount === undefined) {
    if (sum !== undefined && sum >= maxCents) {
      errors.push({
        path: '/items',
        rule: 'maximum',
        message: `items total ${formatCents(sum)} (quantity × price) must be below ${rules.maxOrderAmount}`,
      })
    }
    return errors
  }
  if (
    dialect === 'rich' &&
    at(input, ['customer_id']) === undefined &&
    at(input, ['customer', 'email']) === undefined
  ) {
    errors.push({
      path: '/customer/email',
      rule: 'required',
      message: 'Missing required field: customer.email (or customer_id)',
    })
  }
  const amount = at(input, shape.amount)
  if (typeof amount !== 'number') return errors
  const path = `/${shape.amount.join('/')}`
  const cents = toCents(amount)
  if (cents === undefined) {
    errors.push({ path, rule: 'decimals', message: `${fieldName(path)} must have at most 2 decimals` })
    return errors
  }
  if (cents >= maxCents)
    errors.push({ path, rule: 'maximum', message: `${fieldName(path)} must be below ${rules.maxOrderAmount}` })
  if (sum !== undefined && sum !== cents) {
    errors.push({
      path,
      rule: 'sum',
      message: `${fieldName(path)} ${formatCents(cents)} must equal the sum of the items (quantity × unit price), ${formatCents(sum)}`,
    })
  }
  return errors
}

const sizeErrors = (bytes: number): FieldError[] =>
  bytes > LIMITS.MAX_ORDER_BYTES
    ? [
        {
          path: '',
          rule: 'maxBytes',
          message: `the order is ${bytes} bytes; at most ${LIMITS.MAX_ORDER_BYTES} are accepted`,
        },
      ]
    : []

/** All that is wrong with a body of the given dialect (empty when it is a valid order). */
export const checkOrder = (input: unknown, dialect: Dialect, rules: Rules, tables = DIALECT_TABLES): FieldError[] =>
  checkWith(tables.validators[dialect], input, dialect, rules, tables.shapes)

/** The same, with the validator passed in (the worker's bundle then carries the canonical one only). */
const checkWith = (
  validate: CompiledValidator,
  input: unknown,
  dialect: Dialect,
  rules: Rules,
  shapes = SHAPES,
): FieldError[] => {
  const schemaErrors = validate(input) ? [] : toFieldErrors(validate.errors)
  const ruleErrors = businessRules(input, dialect, rules, shapes)
  // Where both say the same of a field (the schema's absolute maximum, the configured one), the rule knows better.
  const ruled = new Set(ruleErrors.map((e) => `${e.path}|${e.rule}`))
  return [...schemaErrors.filter((e) => !ruled.has(`${e.path}|${e.rule}`)), ...ruleErrors]
}

const byteLength = (input: unknown): number => Buffer.byteLength(JSON.stringify(input) ?? '')

/**
 * Checked first, before anything recurses over the value: nesting past LIMITS.MAX_JSON_DEPTH, and numbers that
 * DynamoDB cannot store exactly. A value that fails here is refused without being measured or validated further.
 * @throws ValidationError
 */
const checkStructure = (input: unknown, known?: JsonProblem | null): void => {
  const problem = known === undefined ? jsonProblem(input) : known
  if (!problem) return
  const field = fieldName(problem.path)
  const message =
    problem.rule === 'maxDepth'
      ? `${field} is nested deeper than ${LIMITS.MAX_JSON_DEPTH} levels`
      : `${field} must be a finite number within ±${Number.MAX_SAFE_INTEGER}`
  throw new ValidationError([{ path: problem.path, rule: problem.rule, message }])
}

/**
 * Intake: detects the dialect, checks the body, and returns the canonical order.
 * @throws ValidationError naming every failed field
 * @example parseOrder(JSON.parse(body), { ...config, receivedAt: new Date().toISOString(), assignOrderId: newOrderId })
 */
export const parseOrder = (
  input: unknown,
  ctx: NormaliseContext &
    Rules & {
      bytes?: number
      /** What `jsonProblem(input)` found, when the caller already walked the value (null: nothing). */
      structure?: JsonProblem | null
    },
  tables = DIALECT_TABLES,
): Order => {
  checkStructure(input, ctx.structure)
  const dialect = detectDialect(input, tables.mappings)
  const errors = [...sizeErrors(ctx.bytes ?? byteLength(input)), ...checkOrder(input, dialect, ctx, tables)]
  if (errors.length > 0) throw new ValidationError(errors)
  return normalise(input, dialect, ctx, tables.mappings)
}

/**
 * The worker's check of a main-queue message: the canonical schema and the business rules again, so that an
 * edited or replayed message cannot slip through.
 * @throws ValidationError
 */
export const checkCanonical = (input: unknown, rules: Rules, bytes?: number): Order => {
  checkStructure(input)
  const errors = [...sizeErrors(bytes ?? byteLength(input)), ...checkWith(validateCanonical, input, 'canonical', rules)]
  if (errors.length > 0) throw new ValidationError(errors)
  return input as Order
}

/**
 * The API's event check, for @middy/validator: the same compiled dialect validators and business rules, run on the
 * parsed body. A bad body throws a ValidationError with its field errors (httpErrors answers 400 with them as they
 * are): @middy/validator reads a schema's `errors` only after awaiting it, and by then another invocation in the same
 * process may have validated a body of its own on the same function (a local runner serves requests side by side),
 * so the refusal must not travel through that shared property. `errors` still tells the last call's fields.
 * @returns true for a good body
 * @throws ValidationError
 */
export const orderEventValidator = (rules: Rules, tables = DIALECT_TABLES) => {
  const validate = (event: { body?: unknown }): true => {
    const { body } = event
    let errors: FieldError[]
    try {
      checkStructure(body)
      errors = isObject(body)
        ? checkOrder(body, detectDialect(body, tables.mappings), rules, tables)
        : [{ path: '', rule: 'type', message: 'The body must be a JSON object: one order' }]
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err
      errors = err.fields
    }
    validate.errors = errors.length > 0 ? errors : null
    if (errors.length > 0) throw new ValidationError(errors)
    return true
  }
  validate.errors = null as FieldError[] | null
  return validate
}
