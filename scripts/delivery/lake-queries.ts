/**
 * Writes the data lake's sources into cloudformation/analytics.yaml, between its `# BEGIN GENERATED <block>` and
 * `# END GENERATED <block>` comments: the Glue tables' columns and partition keys (lib/lake/enriched.ts,
 * lib/lake/reports.ts), the Ion path extractors of intake_reports, and one AWS::Athena::NamedQuery per
 * lib/lake/queries/<name>.sql (QueryString: the file's text). Everything outside the markers is left as it is.
 * test/cloudformation/analytics.test.ts fails when the template and the sources differ.
 *
 * Usage: npm run lake-queries [-- --check]
 *   --check  write nothing; exit 1 when the template is not up to date
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { ITEM_COLUMNS, ORDER_COLUMNS, PARTITION_COLUMNS } from '../../lib/lake/enriched.ts'
import { NAMED_QUERIES, type NamedQuery } from '../../lib/lake/queries.ts'
import { RAW_COLUMNS, RAW_PARTITION_COLUMNS } from '../../lib/lake/raw.ts'
import { REPORT_COLUMNS } from '../../lib/lake/reports.ts'

export const TEMPLATE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'cloudformation', 'analytics.yaml')

/** A YAML scalar: plain when it is a bare word (and not one YAML reads as a boolean or null), else double-quoted. */
const scalar = (text: string): string =>
  /^[a-z_][a-z0-9_-]*$/.test(text) && !/^(y|n|yes|no|on|off|true|false|null)$/.test(text) ? text : JSON.stringify(text)

const columnList = (columns: readonly { name: string; type: string; comment: string }[]): string[] =>
  columns.flatMap((c) => [`- Name: ${scalar(c.name)}`, `  Type: ${scalar(c.type)}`, `  Comment: ${scalar(c.comment)}`])

/** The logical id of a named query's resource: orders-per-day → OrdersPerDayQuery. */
export const queryLogicalId = (name: string): string =>
  `${name
    .split(/[^A-Za-z0-9]+/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('')}Query`

/**
 * The SQL as a YAML value that reads back as exactly `text`: a literal block (`|`, or `|-` without a final newline),
 * readable in the template; a double-quoted string where a block would change it (more than one final newline, a
 * line of blanks only, a leading blank).
 */
const sqlValue = (text: string): string[] => {
  const trailing = /\n*$/.exec(text)![0].length
  const body = trailing === 0 ? text : text.slice(0, -1)
  const lines = body.split('\n')
  if (trailing > 1 || /^\s/.test(text) || lines.some((l) => l !== '' && l.trim() === '')) return [JSON.stringify(text)]
  return [trailing === 0 ? '|-' : '|', ...lines]
}

const namedQueryResource = (q: NamedQuery): string[] => {
  const [indicator, ...lines] = sqlValue(q.sql)
  return [
    `${queryLogicalId(q.name)}:`,
    '  Type: AWS::Athena::NamedQuery',
    '  Properties:',
    `    Name: ${scalar(q.name)}`,
    `    Description: ${JSON.stringify(q.description)}`,
    '    Database: !Ref LakeDatabase',
    '    WorkGroup: !Ref WorkGroup',
    `    QueryString: ${indicator}`,
    ...lines.map((line) => (line === '' ? '' : `      ${line}`)),
  ]
}

/** Each generated block's lines, at indentation 0 (the marker's indentation is added). */
export const blocks = (queries: readonly NamedQuery[] = NAMED_QUERIES): Record<string, string[]> => ({
  'partition keys': columnList(PARTITION_COLUMNS),
  'processed_orders columns': columnList(ORDER_COLUMNS),
  'processed_items columns': columnList(ITEM_COLUMNS),
  'intake_reports columns': columnList(REPORT_COLUMNS),
  'raw partition keys': columnList(RAW_PARTITION_COLUMNS),
  'raw_orders columns': columnList(RAW_COLUMNS),
  'intake_reports path extractors': REPORT_COLUMNS.map((c) => `ion.${c.name}.path_extractor: '(${c.field})'`),
  'named queries': queries.flatMap((q, i) => [...(i > 0 ? [''] : []), ...namedQueryResource(q)]),
})

/**
 * The template with every generated block rewritten.
 * @throws when a marker has no end, or names a block that does not exist
 */
export const render = (template: string, generated: Record<string, string[]> = blocks()): string => {
  const lines = template.split('\n')
  const out: string[] = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    out.push(line)
    const begin = /^(\s*)# BEGIN GENERATED (.+?)\s*$/.exec(line)
    if (!begin) continue
    const [, indent, name] = begin as unknown as [string, string, string]
    const block = generated[name]
    if (!block) throw new Error(`analytics.yaml line ${i + 1}: no generated block "${name}"`)
    const end = lines.findIndex((l, j) => j > i && l.trim() === `# END GENERATED ${name}`)
    if (end < 0) throw new Error(`analytics.yaml line ${i + 1}: "# BEGIN GENERATED ${name}" has no END`)
    out.push(...block.map((l) => (l === '' ? '' : `${indent}${l}`)), lines[end]!)
    i = end
  }
  return out.join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { help: { type: 'boolean' }, check: { type: 'boolean' } } })
  if (values.help) {
    console.log(
      'usage: npm run lake-queries [-- --check]\n' +
        "  Writes the lake tables' columns and the named queries (lib/lake) into cloudformation/analytics.yaml.\n" +
        '  --check: write nothing, exit 1 when the template is not up to date.',
    )
    process.exit(0)
  }
  const current = readFileSync(TEMPLATE, 'utf8')
  const next = render(current)
  const where = relative(process.cwd(), TEMPLATE)
  if (values.check) {
    if (next !== current) {
      console.error(`${where} is not up to date with lib/lake: run npm run lake-queries`)
      process.exit(1)
    }
    console.log(`${where} is up to date (${NAMED_QUERIES.length} named queries)`)
  } else {
    writeFileSync(TEMPLATE, next)
    console.log(`${where}: ${next === current ? 'unchanged' : 'written'} (${NAMED_QUERIES.length} named queries)`)
  }
}
