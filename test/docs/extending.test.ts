/**
 * docs/extending.md, followed. The marketplace dialect of its section 1 is added in memory through the tables the page
 * names (DIALECT_MAPPINGS, VALIDATORS, SHAPES, as DialectTables), from the page's own schema, sample, mapping code and
 * table entries; and every path and name the page mentions is checked against the tree, so that the page cannot
 * drift from the code silently.
 */
import test from 'ava'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { Ajv } from 'ajv'
import formatsPlugin from 'ajv-formats'
import { transformSync } from 'esbuild'
import { ValidationError, type FieldError } from '../../lib/orders/errors.ts'
import type { CompiledValidator } from '../../lib/orders/generated/validators.mjs'
import {
  DIALECT_MAPPINGS,
  detectDialect,
  normalise,
  orderHash,
  type Dialect,
  type DialectMapping,
  type Order,
} from '../../lib/orders/order.ts'
import {
  businessRules,
  checkCanonical,
  DIALECT_TABLES,
  orderEventValidator,
  parseOrder,
  SHAPES,
  VALIDATORS,
  type DialectTables,
  type MoneyShape,
} from '../../lib/orders/validate.ts'
import { seed } from '../helpers/fixtures.ts'

type Json = Record<string, unknown>

const root = new URL('../../', import.meta.url)
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8')
const page = read('docs/extending.md')
/** The page's text with its line breaks and indentation folded, for phrases wrapped across lines. */
const prose = page.replace(/\s+/g, ' ')

// ---------------------------------------------------------------------------------------------------------------
// The page's code
// ---------------------------------------------------------------------------------------------------------------

/** The page's fenced code blocks (indented ones under list items too), without their indentation. */
const fenced = [...page.matchAll(/^( *)```(\w*)\n([\s\S]*?)\n\1```$/gm)].map((m) => ({
  lang: m[2] ?? '',
  code: (m[3] ?? '')
    .split('\n')
    .map((line) => line.slice((m[1] ?? '').length))
    .join('\n'),
}))
const block = (lang: string, marker: string): string => {
  const found = fenced.filter((b) => b.lang === lang && b.code.includes(marker))
  if (found.length !== 1) throw new Error(`docs/extending.md: ${found.length} ${lang} blocks hold ${marker}`)
  return found[0]!.code
}
/** TypeScript from the page, run as it is written (types stripped), given the names it uses. */
const run = (ts: string, scope: Json = {}): unknown => {
  const js = transformSync(ts, { loader: 'ts' }).code
  return new Function(...Object.keys(scope), js)(...Object.values(scope))
}

const sample = JSON.parse(block('json', '"marketplace_order_id": "MKT-1001"')) as Json
const schema = JSON.parse(block('json', '"$id": "marketplace-order"')) as Json & { $id: string }

// Step 2, in memory: the schema compiled as scripts/delivery/compile-schemas.ts compiles (the same options, the
// shared definitions with their ISO 4217 list), and the canonical schema with the new name in intake.dialect.
const ajv = new Ajv({
  allErrors: true,
  coerceTypes: false,
  useDefaults: false,
  messages: false,
  inlineRefs: false,
  strict: true,
})
formatsPlugin.default(ajv, ['date-time', 'date', 'email'])
const definitions = JSON.parse(read('schemas/definitions.schema.json')) as { definitions: Json }
definitions.definitions.currency = { type: 'string', enum: Intl.supportedValuesOf('currency') }
ajv.addSchema(definitions)
const validateMarketplace: CompiledValidator = ajv.compile(schema)
const canonicalSchema = JSON.parse(read('schemas/canonical-order.schema.json')) as {
  properties: { intake: { properties: { dialect: { enum: string[] } } } }
}
canonicalSchema.properties.intake.properties.dialect.enum.push('marketplace')
const validateCanonicalNow: CompiledValidator = ajv.compile(canonicalSchema)

// Step 3: the page's detection and mapping, and its DIALECT_MAPPINGS (the new entry where the page puts it).
const mappingCode = block('ts', 'const fromMarketplace')
const { speaksMarketplace, fromMarketplace } = run(
  `${mappingCode.slice(0, mappingCode.indexOf('export const DIALECT_MAPPINGS'))}
return { speaksMarketplace, fromMarketplace }`,
) as { speaksMarketplace: DialectMapping['detect']; fromMarketplace: DialectMapping['normalise'] }
/** 'marketplace' is in DIALECTS once step 3 is done; in memory the name is cast. */
const MARKETPLACE = 'marketplace' as Dialect
const marketplaceMapping: DialectMapping = {
  dialect: MARKETPLACE,
  detect: speaksMarketplace,
  normalise: fromMarketplace,
}
const pageOrder = [...mappingCode.matchAll(/\{ dialect: '(\w+)', detect: /g)].map((m) => m[1])
const at = pageOrder.indexOf('marketplace')

// Step 4: the page's entries of VALIDATORS and SHAPES, as written.
const validatorEntry = run(`return { ${block('ts', 'marketplace: validateMarketplace')} }`, {
  validateMarketplace,
}) as {
  marketplace: CompiledValidator
}
const shapeEntry = run(`return { ${block('ts', 'marketplace: { amount:')} }`) as {
  marketplace: MoneyShape
}

const tables: DialectTables = {
  mappings: [...DIALECT_MAPPINGS.slice(0, at), marketplaceMapping, ...DIALECT_MAPPINGS.slice(at)],
  validators: { ...VALIDATORS, ...validatorEntry },
  shapes: { ...SHAPES, ...shapeEntry },
}

const RECEIVED_AT = '2026-01-07T10:15:00.000Z'
const ctx = {
  defaultCurrency: 'EUR',
  maxOrderAmount: 10000,
  receivedAt: RECEIVED_AT,
  assignOrderId: () => 'API-unused',
}
const marketplace = (patch: Json = {}): Json => ({ ...structuredClone(sample), ...patch })
const line = (item: Json, total: unknown = 99.99): Json =>
  marketplace({ items: [{ article: 'SKU-1', count: 1, price: 99.99, ...item }], total })
const refusal = (input: unknown): FieldError[] => {
  try {
    parseOrder(input, ctx, tables)
  } catch (err) {
    if (err instanceof ValidationError) return err.fields
    throw err
  }
  throw new Error(`accepted: ${JSON.stringify(input)}`)
}

test('the page puts the marketplace mapping before canonical, the others in the order the code has them', (t) => {
  t.deepEqual(
    pageOrder.filter((d) => d !== 'marketplace'),
    DIALECT_MAPPINGS.map((m) => m.dialect),
  )
  t.true(at >= 0 && at < pageOrder.indexOf('canonical'), `marketplace at ${at} in ${pageOrder.join(', ')}`)
  // Both doors read the tables the page names.
  t.deepEqual(DIALECT_TABLES, { mappings: DIALECT_MAPPINGS, validators: VALIDATORS, shapes: SHAPES })
})

test('before the dialect is added, the sample is read as canonical and refused for its missing fields', (t) => {
  // Act
  const err = t.throws(() => parseOrder(sample, ctx), { instanceOf: ValidationError })
  // Assess
  t.is(detectDialect(sample), 'canonical')
  t.true(
    err?.fields.some((f) => f.path === '/order_id' && f.rule === 'required'),
    `${JSON.stringify(err?.fields)}`,
  )
})

test('the marketplace sample normalises to the canonical order, through both doors', (t) => {
  // Act
  const order = parseOrder(sample, ctx, tables)
  // Assess
  t.deepEqual(order, {
    order_id: 'MKT-1001',
    customer_id: 'CUST-1001',
    created_at: '2026-01-07T10:00:00Z',
    currency: 'EUR',
    amount: 149.99,
    items: [
      { sku: 'SKU-1', qty: 1, unit_price: 99.99 },
      { sku: 'SKU-2', qty: 1, unit_price: 50 },
    ],
    intake: { received_at: RECEIVED_AT, dialect: MARKETPLACE, assigned: ['currency'] },
  } satisfies Order)
  // The API's way: the event validator, then detectDialect and normalise.
  const validate = orderEventValidator(ctx, tables)
  t.true(validate({ body: sample }), `${JSON.stringify(validate.errors)}`)
  t.deepEqual(normalise(sample, detectDialect(sample, tables.mappings), ctx, tables.mappings), order)
  // The same order as tp-valid.json in another dialect: the same hash, so a DUPLICATE (as the page says).
  t.is(orderHash(order, 'EUR'), orderHash(parseOrder(seed('tp-valid.json'), ctx), 'EUR'))
  // The other dialects are still told apart as before.
  for (const name of ['tp-valid.json', 'lab-rich-order.json', 'api-create-order.json', 'form-order.json'])
    t.is(detectDialect(seed(name), tables.mappings), detectDialect(seed(name)), `${name}`)
})

test("the worker refuses a marketplace order until the canonical schema's intake.dialect lists it", (t) => {
  // Prepare: the order as the main queue carries it
  const queued = JSON.parse(JSON.stringify(parseOrder(sample, ctx, tables))) as Json
  // Act
  const err = t.throws(() => checkCanonical(queued, ctx), { instanceOf: ValidationError })
  // Assess
  t.deepEqual(
    err?.fields.map(({ path, rule }) => ({ path, rule })),
    [{ path: '/intake/dialect', rule: 'enum' }],
  )
  t.true(validateCanonicalNow(queued), `${JSON.stringify(validateCanonicalNow.errors)}`)
  t.deepEqual(businessRules(queued, 'canonical', ctx), [])
})

const refused = test.macro({
  exec(t, input: Json, expected: FieldError) {
    // Act
    const fields = refusal(input)
    // Assess
    t.true(
      fields.some((f) => f.path === expected.path && f.rule === expected.rule && f.message === expected.message),
      `expected ${JSON.stringify(expected)} among ${JSON.stringify(fields)}`,
    )
    const validate = orderEventValidator(ctx, tables)
    const err = t.throws(() => validate({ body: input }), { instanceOf: ValidationError })
    t.deepEqual(err?.fields, fields, 'the API answers 400 with the same field errors')
  },
  title: (provided = '', _input: Json, expected: FieldError) =>
    `a marketplace order ${provided} is refused: ${expected.path} ${expected.rule}`,
})

const { buyer_id: _buyer, ...withoutBuyer } = sample
test('without buyer_id', refused, withoutBuyer, {
  path: '/buyer_id',
  rule: 'required',
  message: 'Missing required field: buyer_id',
})
test('with a field of another dialect', refused, marketplace({ order_id: 'ORD-1' }), {
  path: '/order_id',
  rule: 'additionalProperties',
  message: 'Unknown field: order_id',
})
test('with a count of 0', refused, line({ count: 0 }), {
  path: '/items/0/count',
  rule: 'minimum',
  message: 'items[0].count must be at least 1',
})
test('one cent short of its items', refused, marketplace({ total: 149.98 }), {
  path: '/total',
  rule: 'sum',
  message: 'total 149.98 must equal the sum of the items (quantity × unit price), 149.99',
})
test('with a price of 3 decimals', refused, line({ price: 99.999 }), {
  path: '/items/0/price',
  rule: 'decimals',
  message: 'items[0].price must have at most 2 decimals',
})
test('at the maximum amount', refused, line({ price: 10000 }, 10000), {
  path: '/total',
  rule: 'maximum',
  message: 'total must be below 10000',
})

// ---------------------------------------------------------------------------------------------------------------
// Every path and name the page mentions
// ---------------------------------------------------------------------------------------------------------------

/** The page's inline code (the fenced blocks left out). */
const inline = [...page.replace(/^( *)```\w*\n[\s\S]*?\n\1```$/gm, '').matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!)

/** Files the walkthroughs create: their folders must exist. */
const CREATED = ['schemas/marketplace-order.schema.json', 'schemas/examples/marketplace-order.json']
/** Bare file names the page uses, and where they are. */
const BARE: Record<string, string> = {
  'README.md': 'README.md',
  'tp-valid.json': 'schemas/examples/tp-valid.json',
  'validators.d.mts': 'lib/orders/generated/validators.d.mts',
  './generated/validators.mjs': 'lib/orders/generated/validators.mjs',
}
const TOP = /^(lib|schemas|scripts|handlers|middlewares|cloudformation|test|docs)\//
const OUTSIDE = '../shared/'

test('every path the page names exists (a file it creates: its folder)', (t) => {
  const paths = inline.filter((c) => TOP.test(c) || c.startsWith(OUTSIDE) || c in BARE)
  t.true(paths.length > 30, `${paths.length} paths found`)
  for (const path of paths) {
    if (path.startsWith(OUTSIDE)) {
      // The shared fixtures beside a checkout: not there in CodeBuild (test/fixtures.test.ts does the same).
      if (existsSync(new URL('../shared/', root))) t.true(existsSync(new URL(path, root)), `${path}`)
      continue
    }
    const file = BARE[path] ?? path
    if (CREATED.includes(file)) t.true(statSync(new URL('.', new URL(file, root))).isDirectory(), `${file}: folder`)
    else t.true(existsSync(new URL(file, root)), `${file} does not exist`)
  }
  for (const file of CREATED) t.true(paths.includes(file), `${file} is no longer on the page`)
})

/** The page's names, by file: exported from it. */
const EXPORTED: Record<string, string[]> = {
  'lib/orders/order.ts': [
    'DIALECTS',
    'Dialect',
    'DialectMapping',
    'DIALECT_MAPPINGS',
    'detectDialect',
    'normalise',
    'orderHash',
    'NormaliseContext',
    'Order',
    'Intake',
  ],
  'lib/orders/validate.ts': [
    'VALIDATORS',
    'SHAPES',
    'MoneyShape',
    'DIALECT_TABLES',
    'parseOrder',
    'checkOrder',
    'checkCanonical',
    'orderEventValidator',
    'businessRules',
    'fieldName',
    'Rules',
  ],
  'lib/orders/generated/validators.d.mts': ['CompiledValidator'],
  'lib/orders/errors.ts': [
    'FieldError',
    'ValidationError',
    'fieldsMessage',
    'boundedFields',
    'PERMANENT_ERROR_CLASSES',
  ],
  'lib/orders/outcomes.ts': ['METRIC', 'MetricName'],
  'lib/aws/dlq.ts': ['parkMessages', 'parkedError'],
  'lib/aws/rejections.ts': ['announceRejects'],
  'lib/aws/metrics.ts': ['MetricsBuffer', 'publishMetrics', 'writeEmbeddedMetrics'],
  'lib/aws/queue.ts': ['ATTRIBUTE'],
  'middlewares/metrics.ts': ['flushMetrics', 'MetricsContext'],
  'middlewares/classify-errors.ts': ['classifyErrors'],
  'middlewares/http-errors.ts': ['httpErrors'],
  'handlers/worker.ts': ['processRecord'],
  'scripts/ops/observe.ts': ['outcomeMetrics', 'CHARTED_METRICS'],
  'test/helpers/fixtures.ts': ['seed'],
  'test/helpers/moto.ts': ['metricSum'],
}
/** Defined in the file without being exported: private helpers, a test file's macros and builders. */
const DEFINED: Record<string, string[]> = {
  'lib/orders/order.ts': ['Json', 'speaksApi', 'speaksRich', 'fromApi', 'fromRich', 'fromCanonical'],
  'lib/orders/validate.ts': ['at', 'checkWith'],
  'lib/aws/metrics.ts': ['ALWAYS'],
  'lib/lake/generate.ts': ['KINDS_OF', 'ORDER_OF'],
  'scripts/delivery/compile-schemas.ts': ['standaloneCode'],
  'test/lib/orders/order.test.ts': ['speaks'],
  'test/lib/orders/validate.test.ts': ['rejects', 'rich', 'C', 'R', 'A'],
}
/** Used in the file as the page says: template resources and properties, metric and variable names. */
const USED: Record<string, string[]> = {
  'cloudformation/observability.yaml': [
    'Dashboard',
    'DashboardBody',
    'RejectRateAlarm',
    'AlarmTopic',
    'AlarmActions',
    'OKActions',
    'MetricsNamespace',
    'Stage',
  ],
  'lib/orders/outcomes.ts': ['OrdersRejected'],
  'lib/orders/validate.ts': ['maxOrderAmount'],
  'lib/runtime/config.ts': ['METRICS_MODE'],
}
/** The building blocks of schemas/definitions.schema.json the page names. */
const BLOCKS = ['id', 'dateTime', 'money', 'quantity', 'currency']
/** What the walkthroughs write. */
const NEW = ['validateMarketplace', 'speaksMarketplace', 'fromMarketplace', 'REPLAYED', 'OrdersReplayed', 'M']
/** Test titles the page cites, and their files. */
const TITLES: Record<string, string> = {
  'the dashboard is valid JSON showing outcomes, queue and DLQ depths, function errors and durations, the workflow':
    'test/cloudformation/templates.test.ts',
  'alarms watch each DLQ, the oldest message of both queues, errors of each function and the reject rate':
    'test/cloudformation/templates.test.ts',
}

const escape = (name: string): string => name.replace(/[$]/g, '\\$&')
const word = (name: string): RegExp => new RegExp(`(?<![\\w$])${escape(name)}(?![\\w$])`)

test('every name the page uses is exported, defined or used where it lives', (t) => {
  for (const [file, names] of Object.entries(EXPORTED)) {
    const text = read(file)
    for (const name of names)
      t.regex(
        text,
        new RegExp(`export\\s+(?:const|let|function|async function|class|abstract class|interface|type)\\s+${name}\\b`),
        `${name} is not exported from ${file}`,
      )
  }
  for (const [file, names] of Object.entries(DEFINED)) {
    const text = read(file)
    for (const name of names)
      t.regex(text, new RegExp(`(?:const|let|function|type|interface)\\s+${name}\\b`), `${name} in ${file}`)
  }
  for (const [file, names] of Object.entries(USED)) {
    const text = read(file)
    for (const name of names) t.regex(text, word(name), `${name} in ${file}`)
  }
  for (const name of BLOCKS) t.true(name in definitions.definitions, `${name} in schemas/definitions.schema.json`)
  for (const [title, file] of Object.entries(TITLES)) {
    t.true(read(file).includes(`'${title}'`), `${file} has no test "${title}"`)
    t.true(prose.includes(title), `the page no longer cites "${title}"`)
  }
  // The lists above stay the page's: each name is still on it...
  const listed = [...[EXPORTED, DEFINED, USED].flatMap((byFile) => Object.values(byFile).flat()), ...BLOCKS, ...NEW]
  for (const name of listed) t.regex(page, word(name), `${name} is no longer on the page`)
  // ...and every code name of its inline code (one with a capital letter) is in them.
  const codeNames = inline.filter((c) => /^[A-Za-z_$][\w$]*$/.test(c) && /[A-Z]/.test(c))
  t.true(codeNames.length > 30, `${codeNames.length} code names found`)
  for (const name of codeNames) t.true(listed.includes(name), `${name}: on the page, but not checked here`)
})
