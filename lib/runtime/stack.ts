/**
 * Stack traces in the TypeScript's files and lines, at no cost to the cold start.
 *
 * The functions run minified bundles (dist/<function>/index.mjs, with index.mjs.map beside each). Node's
 * `--enable-source-maps` would map every stack, but it reads and parses the bundle's whole map when it loads the
 * bundle, at every cold start (6 to 27 ms measured by `npm run bench`), for the few invocations that log an error.
 * Here the map is read the first time a stack is logged instead (Node's own `module.SourceMap`), once per process,
 * and each frame in a bundle is rewritten to the source file, line and column it came from (the function keeps the
 * name V8 gave it: in a minified bundle, often a short one).
 *
 * A frame whose file has no map (a stack Node has mapped already, a built-in module, a map that cannot be read) is
 * left as it is: mapping never loses a frame or throws.
 */
import { readFileSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { fileURLToPath } from 'node:url'

/** Lines longer than this or stacks with more frames are not mapped past it (a stack is bounded input too). */
const MAX_FRAMES = 50
const MAX_LINE = 2_000

/** `at name (file:line:col)` or `at file:line:col`, the file a path or a file:// URL of a bundle (.mjs or .js). */
const FRAME = /^(\s*at\s+)(?:(.*?)\s+\()?((?:file:\/\/)?\/[^():]*\.m?js):(\d+):(\d+)\)?$/

const maps = new Map<string, SourceMap | undefined>()

/** The source map beside `file` (`file.map`), read once; undefined when there is none or it cannot be parsed. */
const mapOf = (file: string): SourceMap | undefined => {
  if (maps.has(file)) return maps.get(file)
  let map: SourceMap | undefined
  try {
    map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')))
  } catch {
    map = undefined
  }
  maps.set(file, map)
  return map
}

/** A source path as the map names it (relative to the bundle: ../../handlers/worker.ts) without its ../ part. */
const sourcePath = (source: string): string => source.replace(/^(?:webpack:\/\/|file:\/\/)?(?:\.\.\/|\.\/)*/, '')

/** One stack line mapped to its source, or as it came. */
const mapFrame = (line: string): string => {
  if (line.length > MAX_LINE) return line
  const match = FRAME.exec(line)
  if (!match) return line
  const [, at, name, location, lineText, columnText] = match
  const file = location!.startsWith('file://') ? fileURLToPath(location!) : location!
  const map = mapOf(file)
  if (!map) return line
  const entry = map.findEntry(Number(lineText) - 1, Number(columnText) - 1) as {
    originalSource?: string
    originalLine?: number
    originalColumn?: number
  }
  if (entry.originalSource === undefined || entry.originalLine === undefined) return line
  const where = `${sourcePath(entry.originalSource)}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}`
  return name ? `${at}${name} (${where})` : `${at}${where}`
}

/** `stack` with each frame in a bundle that has a source map rewritten to the TypeScript file and line. */
export const mappedStack = (stack: string): string => {
  const lines = stack.split('\n')
  return lines.map((line, i) => (i <= MAX_FRAMES ? mapFrame(line) : line)).join('\n')
}
