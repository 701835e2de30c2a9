import pino, { type Logger } from 'pino'
import { mappedStack } from './stack.ts'

/**
 * Personal data never reaches the logs: a value under one of these keys is censored at any depth (in arrays too)
 * wherever an order or a body is logged, on purpose or by mistake.
 */
export const PERSONAL_KEYS = new Set([
  'email',
  'customerEmail',
  'cpf',
  'cnpj',
  'phone',
  'address',
  'shippingAddress',
  'customer',
  'customerName',
  'first_name',
  'last_name',
  'street',
  'zip_code',
  'postalCode',
  'body',
])
const CENSOR = '[redacted]'
const MAX_DEPTH = 8

/** A copy of `value` with personal data censored; errors are left to pino's serializer. */
export const scrub = (value: unknown, depth = 0): unknown => {
  if (typeof value !== 'object' || value === null || value instanceof Error || depth > MAX_DEPTH) return value
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1))
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, PERSONAL_KEYS.has(k) ? CENSOR : scrub(v, depth + 1)]),
  )
}

export type { Logger }

/** pino's error serializer, with the stack mapped to the TypeScript's files and lines (lib/runtime/stack.ts). */
const serializeError = (value: unknown): unknown => {
  const serialized = pino.stdSerializers.err(value as Error) as { stack?: unknown } | null
  if (typeof serialized?.stack === 'string') serialized.stack = mappedStack(serialized.stack)
  return serialized
}

/** The base logger of a function: JSON lines, synchronous (Lambda freezes the process between invocations). */
export const createLogger = (
  options: { name?: string; level?: string; destination?: pino.DestinationStream } = {},
): Logger =>
  pino(
    {
      // Every line names its function (`name`): queries across functions' logs need it.
      name: options.name ?? process.env.AWS_LAMBDA_FUNCTION_NAME,
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: serializeError },
      formatters: { level: (label) => ({ level: label }), log: (object) => scrub(object) as Record<string, unknown> },
    },
    options.destination ?? pino.destination({ sync: true }),
  )

export const logger = createLogger()
