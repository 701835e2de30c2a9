/**
 * What `npm run send` reads: one order or a file of orders (a .json object, a .json array, or .jsonl: one order a
 * line), from a file or from stdin (`-`). Read whole (bounded: MAX_SEND_BYTES), parsed, and numbered as the S3
 * validator numbers them (lib/intake/lines.ts): the physical line of a .jsonl (blank lines counted, skipped), the
 * 1-based position in a .json array, 1 for a single object. A file that cannot be read as orders is refused whole,
 * naming the file and the line (and column), before anything is sent; an error message never quotes the input.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { basename } from 'node:path'
import type { Readable } from 'node:stream'
import { jsonErrorMessage } from '../../lib/orders/json.ts'

/** The largest input read (the whole file is held in memory; larger files: aws s3 cp to orders/). */
export const MAX_SEND_BYTES = 64 * 1024 * 1024

/** The most orders sent one by one (the api and queue doors). */
export const MAX_SEND_ORDERS = 10_000

export type InputFormat = 'json' | 'jsonl'

export interface InputOrder {
  /** The line (.jsonl), the position in the array (.json array), or 1 (one .json object). */
  line: number
  value: unknown
  /** The order's JSON text: the line itself for .jsonl, the element re-serialised for .json. */
  text: string
}

export interface SendInput {
  /** The file as the user named it, or `stdin`. */
  name: string
  format: InputFormat
  /** The bytes read, as they are (the s3 door uploads them). */
  bytes: Buffer
  orders: InputOrder[]
}

/** A refusal of the input: one line naming the file (and the line). */
export class InputError extends Error {
  override name = 'InputError'
}

/** The format a name says: .json, or .jsonl / .ndjson; undefined for another name (then the content decides). */
export const formatOfName = (name: string): InputFormat | undefined => {
  const lower = name.toLowerCase()
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl'
  if (lower.endsWith('.json')) return 'json'
  return undefined
}

/**
 * The format of a text with no telling name (stdin): an array, or an object spread over lines, is .json; a first
 * line that is a whole object on its own is .jsonl (one object on one line reads the same either way).
 */
export const guessFormat = (text: string): InputFormat => {
  const first = text.split('\n').find((l) => l.trim() !== '')
  if (first === undefined) return 'json'
  const t = first.trim()
  if (t.startsWith('[')) return 'json'
  return t.startsWith('{') && t.endsWith('}') ? 'jsonl' : 'json'
}

/** Line and column (1-based) of a character offset. */
const lineAndColumn = (text: string, offset: number): { line: number; column: number } => {
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  return { line, column: offset - before.lastIndexOf('\n') }
}

/** A JSON.parse failure as one line: where (line and column, from V8's position) and what, never the text. */
const notJson = (name: string, text: string, err: unknown, lineOffset?: number): InputError => {
  const message = jsonErrorMessage(err)
  const position = /at position (\d+)/.exec((err as Error).message ?? '')?.[1]
  const what = message.replace(/ at position \d+$/, '')
  if (lineOffset !== undefined) {
    const column = position !== undefined ? `, column ${Number(position) + 1}` : ''
    return new InputError(`${name} line ${lineOffset}${column}: not JSON (${what})`)
  }
  if (position === undefined) return new InputError(`${name}: not JSON (${what})`)
  const at = lineAndColumn(text, Number(position))
  return new InputError(`${name} line ${at.line}, column ${at.column}: not JSON (${what})`)
}

/** The orders of a text; `name` is how messages name it. */
export const parseOrders = (text: string, name: string, format: InputFormat): InputOrder[] => {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text
  if (format === 'jsonl') {
    const orders: InputOrder[] = []
    body.split('\n').forEach((raw, index) => {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
      if (line.trim() === '') return
      let value: unknown
      try {
        value = JSON.parse(line)
      } catch (err) {
        throw notJson(name, line, err, index + 1)
      }
      orders.push({ line: index + 1, value, text: line })
    })
    if (orders.length === 0) throw new InputError(`${name}: no orders (an empty file)`)
    return orders
  }
  if (body.trim() === '') throw new InputError(`${name}: no orders (an empty file)`)
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch (err) {
    throw notJson(name, body, err)
  }
  if (Array.isArray(value)) {
    if (value.length === 0) throw new InputError(`${name}: no orders (an empty array)`)
    return value.map((v, i) => ({ line: i + 1, value: v, text: JSON.stringify(v) }))
  }
  if (value === null || typeof value !== 'object')
    throw new InputError(
      `${name}: a .json file holds one order (an object) or an array of orders, got ${value === null ? 'null' : typeof value}`,
    )
  return [{ line: 1, value, text: body.trim() }]
}

/** All of a stream, refused past `max` bytes (naming `name`). */
export const readBounded = async (stream: Readable, name: string, max = MAX_SEND_BYTES): Promise<Buffer> => {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string)
    size += buffer.length
    if (size > max) {
      stream.destroy()
      throw new InputError(
        `${name} is larger than ${max / 1024 / 1024} MiB: upload it to the intake bucket's orders/ instead (aws s3 cp)`,
      )
    }
    chunks.push(buffer)
  }
  return Buffer.concat(chunks)
}

/**
 * Reads FILE, or stdin for `-`, as orders. `format` forces json or jsonl; else the name's extension decides, and for
 * stdin or another name the content does (guessFormat).
 */
export const readSendInput = async (
  file: string,
  options: { format?: InputFormat; stdin?: Readable; maxBytes?: number } = {},
): Promise<SendInput> => {
  const fromStdin = file === '-'
  const name = fromStdin ? 'stdin' : file
  let stream: Readable
  if (fromStdin) stream = options.stdin ?? process.stdin
  else {
    const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
      throw new InputError(
        err.code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot be read (${err.code ?? err.message})`,
      )
    })
    if (!info.isFile()) throw new InputError(`${file}: not a file`)
    stream = createReadStream(file)
  }
  const bytes = await readBounded(stream, name, options.maxBytes)
  const text = bytes.toString('utf8')
  if (text.includes('\uFFFD') && !Buffer.from(text, 'utf8').equals(bytes))
    throw new InputError(`${name}: not UTF-8 text (a gzipped file? upload it with aws s3 cp)`)
  const format = options.format ?? (fromStdin ? undefined : formatOfName(file)) ?? guessFormat(text)
  return { name, format, bytes, orders: parseOrders(text, name, format) }
}

/** The file name the s3 door gives the upload: the input's own (safe characters only), ending in .json or .jsonl. */
export const uploadName = (input: Pick<SendInput, 'name' | 'format'>): string => {
  const base = input.name === 'stdin' ? 'stdin' : basename(input.name)
  const safe = base.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[.-]+/, '') || 'orders'
  return formatOfName(safe) === input.format && !safe.toLowerCase().endsWith('.ndjson')
    ? safe
    : `${safe}.${input.format}`
}
