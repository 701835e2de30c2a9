/**
 * The checks the user commands apply to the paths, S3 keys and ids they are given, before they read or write
 * anything. A value on the command line may come from a script, a pasted ticket or a file name someone else chose,
 * so a hostile value is treated as ordinary input: it must not make a command write outside the folder it names,
 * read another object than an order file's, or select records by something that is not an id. Each check returns
 * the value to use or throws one line naming the option and the rule it breaks; `run` (cli.ts) prints that line and
 * exits 1.
 *
 * Local paths (generate --out, console --write-form, query --dir, the --log-dir of logs, status and console):
 * - not empty, and no NUL character (the file system would cut the path there, or refuse it);
 * - no segment is `..`, segments being split at `/` and at `\` (a separator on Windows; never part of a name here),
 *   whether the path is relative or absolute: `reports/../../etc` reads as a folder under reports/ and lands on
 *   /etc, the shape a crafted or concatenated value takes;
 * - an absolute path is accepted as typed: the machine is the user's, and a path typed whole says where they mean.
 *   `.` segments and doubled slashes are harmless and accepted; symbolic links are followed as the system does.
 * The check returns the path resolved against the working directory, which the command then uses and prints.
 *
 * S3 keys (report's <key>, the key prefix of generate --to), the bucket's own rules and the pipeline's:
 * - at most 1024 bytes of UTF-8 (S3's limit on a key);
 * - no control character (U+0000 to U+001F, U+007F to U+009F), no backslash, no leading `/`, and no `.` or `..`
 *   segment: S3 keeps them literally, but an HTTP client or proxy that normalises the path may not, and the key
 *   printed is then not the key read;
 * - under an intake prefix, orders/ or raw/ (INTAKE_PREFIXES: the IntakePrefixes default of
 *   cloudformation/messaging.yaml, whose new objects the bucket notifies): the commands read and write order files
 *   only, never reports/ or processed/ directly. An object key needs a name after its prefix.
 *
 * Ids (redrive --order-id, the SKUs of stock): the order id and SKU pattern of the API and the order schemas,
 * ID below (handlers/api.ts getOrder, schemas definitions#/definitions/id). A function name (logs <function>,
 * with --prefix in it) is a Lambda function name, LAMBDA_NAME below, as it becomes a log file's and a log group's
 * name.
 */
import { resolve } from 'node:path'

/** The intake bucket's prefixes whose objects are order files (cloudformation/messaging.yaml IntakePrefixes). */
export const INTAKE_PREFIXES = ['orders/', 'raw/'] as const

/** S3's limit on a key, in bytes of UTF-8. */
export const S3_KEY_MAX_BYTES = 1024

/** An order id or SKU as the API takes it (handlers/api.ts getOrder; schemas definitions#/definitions/id). */
export const ID = /^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,63}$/

const ID_RULE = '1 to 64 letters, digits and . _ : # / -, starting with a letter or digit'

/** A Lambda function name: what `logs` reads as /aws/lambda/<name> or <log-dir>/<name>.log. */
export const LAMBDA_NAME = /^[A-Za-z0-9_-]{1,64}$/

/** The longest excerpt of a refused value an error message quotes. */
const SHOWN_CHARS = 120

/**
 * `value` quoted for a one-line message: control characters (and the line and paragraph separators) escaped as
 * \uXXXX, a long value cut.
 */
export const shown = (value: string): string => {
  const cut = value.length > SHOWN_CHARS ? `${value.slice(0, SHOWN_CHARS)}…` : value
  const escaped = cut.replace(/[\p{Cc}\u2028\u2029"\\]/gu, (c) =>
    c === '"' || c === '\\' ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
  return `"${escaped}"`
}

/** The path as the command uses it (resolved against the working directory), or a refusal naming `option`. */
export const localPath = (option: string, value: string): string => {
  if (value === '') throw new Error(`${option} must be a path, got ""`)
  if (value.includes('\0')) throw new Error(`${option} must not contain a NUL character, got ${shown(value)}`)
  if (value.split(/[/\\]/).includes('..'))
    throw new Error(
      `${option} must not contain a ".." segment (a path that climbs out of the folder it names), ` +
        `got ${shown(value)}, which resolves to ${shown(resolve(value))}`,
    )
  return resolve(value)
}

/** What is wrong with `key` as a key of the intake bucket, whatever its prefix; undefined when nothing is. */
const keyProblem = (key: string): string | undefined => {
  const bytes = Buffer.byteLength(key, 'utf8')
  if (bytes > S3_KEY_MAX_BYTES) return `must be at most ${S3_KEY_MAX_BYTES} bytes (S3's limit), got ${bytes} bytes`
  if (/\p{Cc}/u.test(key)) return `must not contain control characters, got ${shown(key)}`
  if (key.includes('\\')) return `must not contain a backslash, got ${shown(key)}`
  if (key.startsWith('/')) return `must not start with "/", got ${shown(key)}`
  if (key.split('/').some((s) => s === '.' || s === '..'))
    return `must not contain a "." or ".." segment, got ${shown(key)}`
  return undefined
}

const underIntake = (key: string, named: boolean): boolean =>
  INTAKE_PREFIXES.some((p) => key.startsWith(p) && (!named || key.length > p.length))

const notUnderIntake = (option: string, key: string): Error =>
  new Error(`${option} must be under ${INTAKE_PREFIXES.join(' or ')} (the intake prefixes), got ${shown(key)}`)

/** An order file's key in the intake bucket (orders/…, raw/…), or a refusal naming `option`. */
export const intakeKey = (option: string, key: string): string => {
  const problem = keyProblem(key)
  if (problem) throw new Error(`${option} ${problem}`)
  if (!underIntake(key, true)) throw notUnderIntake(option, key)
  return key
}

/** A key prefix in the intake bucket: orders/ or raw/ or a folder under them, ending in a slash. */
export const intakePrefix = (option: string, prefix: string): string => {
  const problem = keyProblem(prefix)
  if (problem) throw new Error(`${option} ${problem}`)
  if (!prefix.endsWith('/')) throw new Error(`${option} must end in a slash, got ${shown(prefix)}`)
  if (!underIntake(prefix, false)) throw notUnderIntake(option, prefix)
  return prefix
}

/** An order id as the API takes it, or a refusal naming `option`. */
export const orderId = (option: string, value: string): string => {
  if (!ID.test(value))
    throw new Error(`${option} must be ${ID_RULE} (an order id as the API takes it), got ${shown(value)}`)
  return value
}

/** A SKU as the order schemas take it, or a refusal naming `option`. */
export const sku = (option: string, value: string): string => {
  if (!ID.test(value))
    throw new Error(`${option} must be ${ID_RULE} (a SKU as the order schemas take it), got ${shown(value)}`)
  return value
}

/** A customer id as the order schemas take it, or a refusal naming `option`. */
export const customerId = (option: string, value: string): string => {
  if (!ID.test(value))
    throw new Error(`${option} must be ${ID_RULE} (a customer id as the orders carry it), got ${shown(value)}`)
  return value
}

/** An e-mail address (one @, no spaces, at most 254 characters), or a refusal naming `option`. */
export const emailAddress = (option: string, value: string): string => {
  if (value.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(value))
    throw new Error(`${option} must be an e-mail address (name@domain, at most 254 characters)`)
  return value
}

/** A Lambda function name, or a refusal naming `option`. */
export const lambdaName = (option: string, value: string): string => {
  if (!LAMBDA_NAME.test(value))
    throw new Error(`${option} must be a Lambda function name: 1 to 64 letters, digits, - and _, got ${shown(value)}`)
  return value
}

// Commander argument parsers (a refusal is thrown as it is: run prints it and exits 1)

/** `--out <dir>` and the like: localPath. */
export const pathOption =
  (option: string) =>
  (value: string): string =>
    localPath(option, value)

/** A variadic option or argument of ids (`--order-id <id...>`): each value checked, the list accumulated. */
export const eachOf =
  (check: (option: string, value: string) => string, option: string) =>
  (value: string, previous?: string[]): string[] => [...(previous ?? []), check(option, value)]
