/**
 * cloudformation/analytics.yaml read as data: its Glue tables are the lake's column lists (lib/lake/enriched.ts,
 * lib/lake/reports.ts: names, types, order, comments), partition-projected over the intake bucket's processed/
 * prefixes; its named queries are the .sql files, word for word; the workgroup enforces its results bucket, which
 * is encrypted, versioned, private, TLS only and forgets results after 30 days. The conventions every template
 * follows (cfn-lint, descriptions, tags) are checked for all templates in templates.test.ts.
 */
import test from 'ava'
import { readFileSync } from 'node:fs'
import { ITEM_COLUMNS, ORDER_COLUMNS, PARTITION_COLUMNS } from '../../lib/lake/enriched.ts'
import { NAMED_QUERIES, loadNamedQueries, QUERIES_DIR } from '../../lib/lake/queries.ts'
import { REPORT_COLUMNS } from '../../lib/lake/reports.ts'
import { RAW_COLUMNS, RAW_PARTITION_COLUMNS } from '../../lib/lake/raw.ts'
import { rawKey } from '../../lib/lake/generate.ts'
import { TEMPLATE, blocks, queryLogicalId, render } from '../../scripts/delivery/lake-queries.ts'
import { parseTemplate } from '../../scripts/stack/template.ts'
import {
  evaluate,
  list,
  obj,
  props,
  resolvedResource,
  resourcesOf,
  valuesOf,
  type Obj,
  type Statement,
  type Template,
  type Values,
} from '../helpers/cfn.ts'

const text = readFileSync(TEMPLATE, 'utf8')
const template = parseTemplate<Template>(text)
const BUCKET = 'tp-orders-intake-123456789012-eu-west-3'

const deployed = (logicalId: string, overrides: Values = {}): Obj =>
  resolvedResource(template, logicalId, valuesOf(template, overrides)) ?? {}
const tableInput = (logicalId: string): Obj => obj(deployed(logicalId).TableInput)
const columnsOf = (logicalId: string): Obj[] => list<Obj>(obj(tableInput(logicalId).StorageDescriptor).Columns)
const tableNamed = (name: string): string => {
  const [id] = resourcesOf(template, 'AWS::Glue::Table').find(([, r]) => obj(props(r).TableInput).Name === name) ?? []
  if (!id) throw new Error(`analytics.yaml has no Glue table ${name}`)
  return id
}
const glue = (columns: readonly { name: string; type: string; comment: string }[]) =>
  columns.map((c) => ({ Name: c.name, Type: c.type, Comment: c.comment }))

test('the template is up to date with lib/lake: rendering it again changes nothing', (t) => {
  t.is(render(text), text, `run npm run lake-queries`)
})

test('the renderer fills each marked block and refuses unknown or unterminated ones', (t) => {
  const filled = render('a:\n  # BEGIN GENERATED x\n  old\n  # END GENERATED x\nb: 1', { x: ['- one', '', '- two'] })
  t.is(filled, 'a:\n  # BEGIN GENERATED x\n  - one\n\n  - two\n  # END GENERATED x\nb: 1')
  t.throws(() => render('# BEGIN GENERATED nope\n# END GENERATED nope\n', {}), { message: /no generated block "nope"/ })
  t.throws(() => render('  # BEGIN GENERATED x\n', { x: [] }), { message: /has no END/ })
  t.is(Object.keys(blocks()).length, 8)
})

test('one named query per .sql file, its QueryString the file word for word, in the workgroup and database', (t) => {
  const queries = resourcesOf(template, 'AWS::Athena::NamedQuery')
  t.deepEqual(
    queries.map(([id]) => id),
    NAMED_QUERIES.map((q) => queryLogicalId(q.name)),
  )
  const files = loadNamedQueries(QUERIES_DIR)
  t.is(files.length, 6)
  for (const file of files) {
    const resource = deployed(queryLogicalId(file.name))
    t.is(resource.QueryString, readFileSync(`${QUERIES_DIR}${file.name}.sql`, 'utf8'), `${file.name}`)
    t.is(resource.Name, file.name, `${file.name}`)
    t.is(resource.Description, file.description, `${file.name}`)
    t.is(resource.Database, '<LakeDatabase>', `${file.name}`)
    t.is(resource.WorkGroup, '<WorkGroup>', `${file.name}`)
  }
})

test('the renderer writes any SQL so that the template reads it back word for word', (t) => {
  const texts = [
    '-- no final newline\nSELECT 1',
    '-- two final newlines\nSELECT 1\n\n',
    '-- a line of blanks\nSELECT 1\n   \nFROM t\n',
    '-- a blank line, trailing spaces, quotes and a colon\nSELECT \'a: b\' AS "x"  \n\nFROM t # not a comment\n',
  ]
  const edited = texts.map((sql, i) => ({ name: `q-${i}`, description: `Query ${i}: "quoted"`, sql }))
  const rendered = render(text, blocks(edited))
  t.not(rendered, text)
  const back = parseTemplate<Template>(rendered)
  t.deepEqual(
    resourcesOf(back, 'AWS::Athena::NamedQuery').map(([id, r]) => [id, props(r).QueryString, props(r).Description]),
    edited.map((q) => [queryLogicalId(q.name), q.sql, q.description]),
  )
})

test('processed_orders and processed_items have the columns of lib/lake/enriched.ts: names, types, order, comments', (t) => {
  t.deepEqual(columnsOf(tableNamed('processed_orders')), glue(ORDER_COLUMNS))
  t.deepEqual(columnsOf(tableNamed('processed_items')), glue(ITEM_COLUMNS))
  for (const name of ['processed_orders', 'processed_items'])
    t.deepEqual(list(tableInput(tableNamed(name)).PartitionKeys), glue(PARTITION_COLUMNS), `${name}`)
})

test('raw_orders reads the text files under raw/ a line per row, in the columns of lib/lake/raw.ts, projected by day', (t) => {
  const id = tableNamed('raw_orders')
  const input = tableInput(id)
  const storage = obj(input.StorageDescriptor)
  t.deepEqual(columnsOf(id), glue(RAW_COLUMNS))
  t.deepEqual(list(input.PartitionKeys), glue(RAW_PARTITION_COLUMNS))
  t.is(storage.Location, `s3://${BUCKET}/raw/`)
  t.is(storage.InputFormat, 'org.apache.hadoop.mapred.TextInputFormat')
  // No field delimiter: the SerDe's default (\001) is in no JSON line, so the line is the one column.
  t.deepEqual(storage.SerdeInfo, { SerializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe' })
  const p = obj(input.Parameters)
  t.is(p['projection.enabled'], 'true')
  t.is(p['storage.location.template'], `s3://${BUCKET}/raw/year=\${year}/month=\${month}/day=\${day}/`)
  // The generator writes its files where the table looks (lib/lake/generate.ts rawKey).
  t.is(rawKey('2026-01-07', 'f'), 'raw/year=2026/month=01/day=07/f.jsonl')
})

test('intake_reports has the columns of lib/lake/reports.ts, each read from its report field by the Ion SerDe', (t) => {
  const id = tableNamed('intake_reports')
  t.deepEqual(columnsOf(id), glue(REPORT_COLUMNS))
  const storage = obj(tableInput(id).StorageDescriptor)
  const serde = obj(storage.SerdeInfo)
  t.is(serde.SerializationLibrary, 'com.amazon.ionhiveserde.IonHiveSerDe')
  t.is(storage.InputFormat, 'com.amazon.ionhiveserde.formats.IonInputFormat')
  t.deepEqual(
    serde.Parameters,
    Object.fromEntries(REPORT_COLUMNS.map((c) => [`ion.${c.name}.path_extractor`, `(${c.field})`])),
  )
  t.is(obj(serde.Parameters)['ion.rejected_by_reason.path_extractor'], '(rejectedByReason)')
  t.is(storage.Location, `s3://${BUCKET}/reports/`)
  t.is(tableInput(id).PartitionKeys, undefined)
})

test('the processed tables are Parquet under processed/, with partition projection: no crawler, no partitions to load', (t) => {
  for (const [name, prefix] of [
    ['processed_orders', 'processed/orders/'],
    ['processed_items', 'processed/items/'],
  ]) {
    const input = tableInput(tableNamed(name!))
    const storage = obj(input.StorageDescriptor)
    t.is(input.TableType, 'EXTERNAL_TABLE', `${name}`)
    t.is(storage.Location, `s3://${BUCKET}/${prefix}`, `${name}`)
    t.is(obj(storage.SerdeInfo).SerializationLibrary, 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe')
    t.is(storage.InputFormat, 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat', `${name}`)
    const p = obj(input.Parameters)
    t.is(p['projection.enabled'], 'true', `${name}`)
    for (const key of ['year', 'month', 'day']) t.is(p[`projection.${key}.type`], 'integer', `${name} ${key}`)
    t.is(p['projection.month.range'], '1,12', `${name}`)
    t.is(p['projection.day.range'], '1,31', `${name}`)
    t.is(p['projection.month.digits'], '2', `${name}`)
    t.is(p['projection.day.digits'], '2', `${name}`)
    t.regex(String(p['projection.year.range']), /^20\d\d,20\d\d$/, `${name}`)
    // The template names the partition columns; the partitionPath of lib/lake/enriched.ts writes them so.
    t.is(
      p['storage.location.template'],
      `s3://${BUCKET}/${prefix}year=\${year}/month=\${month}/day=\${day}/`,
      `${name}`,
    )
  }
})

test('the database is <prefix>_orders_lake, a prefix with hyphens given underscores (Athena names)', (t) => {
  t.is(obj(deployed('LakeDatabase').DatabaseInput).Name, 'tp_orders_lake')
  t.is(obj(deployed('LakeDatabase', { NamePrefix: 'e2e-a-b' }).DatabaseInput).Name, 'e2e_a_b_orders_lake')
  t.is(deployed(tableNamed('processed_orders')).DatabaseName, '<LakeDatabase>')
  const other = deployed(tableNamed('processed_items'), { NamePrefix: 'e2e' })
  t.is(
    obj(obj(other.TableInput).StorageDescriptor).Location,
    's3://e2e-orders-intake-123456789012-eu-west-3/processed/items/',
  )
})

test('the workgroup enforces its configuration: results in the results bucket, encrypted, engine 3, a scan limit', (t) => {
  const wg = deployed('WorkGroup')
  t.is(wg.Name, 'tp-orders')
  const config = obj(wg.WorkGroupConfiguration)
  t.is(config.EnforceWorkGroupConfiguration, true)
  t.is(obj(config.EngineVersion).SelectedEngineVersion, 'Athena engine version 3')
  t.true(Number(config.BytesScannedCutoffPerQuery) > 0)
  const results = obj(config.ResultConfiguration)
  t.is(results.OutputLocation, 's3://<ResultsBucket>/results/')
  t.is(results.ExpectedBucketOwner, '123456789012')
  t.deepEqual(results.EncryptionConfiguration, { EncryptionOption: 'SSE_S3' })
})

test('the results bucket is named from the prefix, encrypted, versioned, private, and expires results after 30 days', (t) => {
  const bucket = deployed('ResultsBucket')
  t.is(bucket.BucketName, 'tp-orders-results-123456789012-eu-west-3')
  const longest = String(deployed('ResultsBucket', { NamePrefix: 'a'.repeat(20) }).BucketName)
  t.true(longest.replace('eu-west-3', 'ap-southeast-5').length <= 63, `${longest}`)
  t.deepEqual(obj(bucket.BucketEncryption).ServerSideEncryptionConfiguration, [
    { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
  ])
  t.deepEqual(bucket.VersioningConfiguration, { Status: 'Enabled' })
  t.deepEqual(bucket.PublicAccessBlockConfiguration, {
    BlockPublicAcls: true,
    BlockPublicPolicy: true,
    IgnorePublicAcls: true,
    RestrictPublicBuckets: true,
  })
  t.deepEqual(obj(bucket.OwnershipControls).Rules, [{ ObjectOwnership: 'BucketOwnerEnforced' }])
  const rules = list<Obj>(obj(bucket.LifecycleConfiguration).Rules)
  const expire = rules.find((r) => r.ExpirationInDays !== undefined)
  t.is(expire?.Status, 'Enabled')
  t.is(expire?.ExpirationInDays, 30)
  t.is(expire?.Prefix, undefined, `every object, not a prefix`)
  t.is(obj(expire?.NoncurrentVersionExpiration).NoncurrentDays, 1)
})

test('the results bucket refuses requests without TLS', (t) => {
  const policy = deployed('ResultsBucketPolicy')
  t.is(policy.Bucket, '<ResultsBucket>')
  const statements = list<Statement>(obj(policy.PolicyDocument).Statement)
  t.is(statements.length, 1)
  const [deny] = statements
  t.is(deny?.Effect, 'Deny')
  t.is(deny?.Principal, '*')
  t.is(deny?.Action, 's3:*')
  t.deepEqual(deny?.Resource, ['<ResultsBucket.Arn>', '<ResultsBucket.Arn>/*'])
  t.deepEqual(deny?.Condition, { Bool: { 'aws:SecureTransport': 'false' } })
})

test('its parameters are NamePrefix, Stage and AccessLogging, as messaging takes them', (t) => {
  t.deepEqual(Object.keys(template.Parameters ?? {}), ['NamePrefix', 'Stage', 'AccessLogging'])
  const messaging = parseTemplate<Template>(readFileSync(TEMPLATE.replace('analytics.yaml', 'messaging.yaml'), 'utf8'))
  const withoutDescription = (p: object | undefined) =>
    Object.fromEntries(Object.entries(p ?? {}).filter(([key]) => key !== 'Description'))
  for (const name of ['NamePrefix', 'Stage', 'AccessLogging'])
    t.deepEqual(
      withoutDescription(template.Parameters?.[name]),
      withoutDescription(messaging.Parameters?.[name]),
      `${name}`,
    )
  // The intake bucket is the one messaging.yaml names.
  t.is(obj(evaluate(props(messaging.Resources.IntakeBucket), messaging, valuesOf(messaging))).BucketName, BUCKET)
})
