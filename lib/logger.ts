import pino, { type Logger } from 'pino'

/**
 * Personal data never reaches the logs: these paths are censored wherever an order or a body is logged by mistake.
 * (pino's wildcards match one level: each shape we know is listed.)
 */
export const REDACT_PATHS = [
  'email', '*.email', '*.*.email', 'customerEmail', '*.customerEmail',
  'cpf', '*.cpf', '*.*.cpf', 'cnpj', '*.cnpj', '*.*.cnpj',
  'phone', '*.phone', '*.*.phone',
  'address', '*.address', '*.*.address', 'shippingAddress', '*.shippingAddress',
  'customer', '*.customer', 'customerName', '*.customerName',
  'body', '*.body',
]

export type { Logger }

/** The base logger of a function: JSON lines, synchronous (Lambda freezes the process between invocations). */
export const createLogger = (options: { name?: string, level?: string, destination?: pino.DestinationStream } = {}): Logger =>
  pino({
    name: options.name ?? process.env.AWS_LAMBDA_FUNCTION_NAME,
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, options.destination ?? pino.destination({ sync: true }))

export const logger = createLogger()
