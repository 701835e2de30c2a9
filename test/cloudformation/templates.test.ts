/**
 * The nested CloudFormation templates, read as data: what cfn-lint and moto do not enforce (moto skips alarms,
 * policies, bucket notifications and versioning, API Gateway models and stages, and ignores IAM altogether), and
 * that the root's defaults reproduce the seed names through the children. The conventions every template follows
 * (cfn-lint, descriptions, tags, named actions) are checked here for the delivery pipeline's pipeline.yaml too; its
 * own assertions are in pipeline.test.ts.
 */
import test from 'ava'
import { execFile } from 'node:child_process'
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs'
import { tempDir } from '../helpers/fixtures.ts'
import { dirname, join, resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseTemplate } from '../../scripts/stack/template.ts'
import {
  evaluate,
  grantsOfRole,
  list,
  obj,
  props,
  resolvedResource,
  resourcesOf,
  rulesAccept,
  valuesOf,
  type Obj,
  type Resource,
  type Statement,
  type Template,
  type Values,
} from '../helpers/cfn.ts'
import { loadConfig, type RequiredKey } from '../../lib/runtime/config.ts'
import { LOG } from '../../lib/orders/outcomes.ts'
import { matchesPattern } from '../../scripts/local/stream-poller.ts'

// ---------------------------------------------------------------------------------------------------------------
// Reading templates: short-form intrinsics become their long form ({ Ref }, { 'Fn::Sub' }, ...).

const root = resolvePath(dirname(fileURLToPath(import.meta.url)), '../..')
const templateDir = join(root, 'cloudformation')

const text = (file: string): string => readFileSync(join(templateDir, file), 'utf8')
const load = (file: string): Template => parseTemplate<Template>(text(file))
const templateFiles = readdirSync(templateDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
const templates = Object.fromEntries(templateFiles.map((f) => [f, load(f)])) as Record<string, Template>
const main = templates['main.yaml']!
const children = [
  'storage.yaml',
  'messaging.yaml',
  'functions.yaml',
  'api.yaml',
  'observability.yaml',
  'lake.yaml',
  'export.yaml',
  'analytics.yaml',
  'workflow.yaml',
]
const tpl = (file: string): Template => {
  const t = templates[file]
  if (!t) throw new Error(`${file} is missing from cloudformation/`)
  return t
}

const allResources = (): [string, string, Resource][] =>
  templateFiles.flatMap((file) =>
    Object.entries(tpl(file).Resources).map(([id, r]): [string, string, Resource] => [file, id, r]),
  )

// ---------------------------------------------------------------------------------------------------------------
// Evaluating templates with parameter values (test/helpers/cfn.ts), as the root passes them to its children.

/** A child's parameter values as the root passes them, the root's parameters at their defaults plus `overrides`. */
const childValues = (file: string, overrides: Values = {}): Values => {
  const rootValues = valuesOf(main, overrides)
  const [, stack] = Object.entries(main.Resources).find(([, r]) => props(r).TemplateURL === `./${file}`) ?? []
  if (!stack) throw new Error(`main.yaml has no stack for ${file}`)
  const passed = Object.fromEntries(
    Object.entries(obj(props(stack).Parameters)).map(([name, v]) => [name, String(evaluate(v, main, rootValues))]),
  )
  return valuesOf(tpl(file), passed)
}

/** A resource as deployed with the root's defaults: its properties resolved, resources that are conditioned out are undefined. */
const deployed = (file: string, logicalId: string, overrides: Values = {}): Obj | undefined => {
  if (!tpl(file).Resources[logicalId]) throw new Error(`${file} has no resource ${logicalId}`)
  return resolvedResource(tpl(file), logicalId, childValues(file, overrides))
}
const nameOf = (file: string, logicalId: string, property: string): string =>
  String(deployed(file, logicalId)?.[property])

const arn = (service: string, resource: string): string => `arn:aws:${service}:eu-west-3:123456789012:${resource}`
const queueUrl = (name: string): string => `https://sqs.eu-west-3.amazonaws.com/123456789012/${name}`
const TABLE_ARN = arn('dynamodb', 'table/tp-orders')
const BUCKET = 'tp-orders-intake-123456789012-eu-west-3'

// ---------------------------------------------------------------------------------------------------------------
// IAM statements

/** A statement, or both branches of a statement chosen by Fn::If (AWS::NoValue left out). */
const branches = (statement: unknown): Statement[] => {
  const choice = obj(statement)['Fn::If']
  if (!Array.isArray(choice)) return [statement as Statement]
  return choice
    .slice(1)
    .filter((b) => obj(b).Ref !== 'AWS::NoValue')
    .flatMap(branches)
}
/** The identity policies: each role's inline policies, and each managed policy (named by its logical id). */
const rolePolicies = (): { file: string; role: string; statements: Statement[] }[] =>
  templateFiles.flatMap((file) => [
    ...resourcesOf(tpl(file), 'AWS::IAM::Role').map(([role, r]) => ({
      file,
      role,
      statements: list<Obj>(props(r).Policies).flatMap((p) => list(obj(p.PolicyDocument).Statement).flatMap(branches)),
    })),
    ...resourcesOf(tpl(file), 'AWS::IAM::ManagedPolicy').map(([role, r]) => ({
      file,
      role,
      statements: list<Statement>(obj(props(r).PolicyDocument).Statement).flatMap(branches),
    })),
  ])
const resourcePolicies = (): { file: string; id: string; statements: Statement[] }[] =>
  allResources().flatMap(([file, id, r]) => {
    const document = r.Type === 'AWS::KMS::Key' ? props(r).KeyPolicy : props(r).PolicyDocument
    return r.Type === 'AWS::IAM::Role' || r.Type === 'AWS::IAM::ManagedPolicy' || document === undefined
      ? []
      : [{ file, id, statements: list<Statement>(obj(document).Statement) }]
  })

/** What a role may do, resolved with the root's defaults: action → resources. */
const grants = (file: string, roleId: string): Map<string, string[]> => grantsOfRole(deployed(file, roleId))

// ---------------------------------------------------------------------------------------------------------------
// The lint script

const run = (command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((done) => {
    execFile(command, args, { cwd: root, timeout: 50_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })
    })
  })

test('every template passes cfn-lint (scripts/delivery/lint-templates.sh), with a [pass] line each', async (t) => {
  const { code, stdout, stderr } = await run(join(root, 'scripts/delivery/lint-templates.sh'), [])
  t.is(code, 0, `${stdout}${stderr}`)
  t.deepEqual(
    stdout.trim().split('\n'),
    templateFiles.map((f) => `[pass] cloudformation/${f}`),
  )
})

test('the lint script fails a template with only a warning, and ignores W3002 and nothing else', async (t) => {
  const dir = tempDir(t, 'lint-templates-')
  const file = join(dir, 'unused-parameter.yaml')
  writeFileSync(
    file,
    'AWSTemplateFormatVersion: "2010-09-09"\nParameters:\n  Unused:\n    Type: String\nResources:\n  Queue:\n    Type: AWS::SQS::Queue\n',
  )
  const { code, stdout } = await run(join(root, 'scripts/delivery/lint-templates.sh'), [file])
  t.is(code, 1)
  t.regex(stdout, /^\[fail\] .*unused-parameter\.yaml\n {2}W2001 /m)
  const script = readFileSync(join(root, 'scripts/delivery/lint-templates.sh'), 'utf8')
  t.deepEqual(script.match(/--ignore-checks \S+/g), ['--ignore-checks W3002'])
})

// ---------------------------------------------------------------------------------------------------------------
// Root and wiring

test('the root holds only nested stacks, each a relative template that exists, tagged with Stage and NamePrefix', (t) => {
  const stacks = Object.values(main.Resources)
  t.true(stacks.every((r) => r.Type === 'AWS::CloudFormation::Stack'))
  t.deepEqual(stacks.map((r) => props(r).TemplateURL).sort(), children.map((f) => `./${f}`).sort())
  for (const file of children) t.true(existsSync(join(templateDir, file)), `${file}`)
  for (const r of stacks)
    t.deepEqual(props(r).Tags, [
      { Key: 'Stage', Value: { Ref: 'Stage' } },
      { Key: 'NamePrefix', Value: { Ref: 'NamePrefix' } },
    ])
})

test('the root orders the children: storage and messaging, then functions, then the API, observability and the lake', (t) => {
  const dependsOn = (id: string): string[] => list<string>(main.Resources[id]?.DependsOn).sort()
  t.deepEqual(dependsOn('Storage'), [])
  t.deepEqual(dependsOn('Messaging'), [])
  t.deepEqual(dependsOn('Functions'), ['Messaging', 'Storage'])
  t.true(dependsOn('Api').includes('Functions'))
  t.true(dependsOn('Observability').includes('Functions'))
  t.deepEqual(dependsOn('Lake'), ['Functions', 'Messaging'])
})

test("no child reads another stack: no nested outputs; the only imports are storage's stream ARN and log key ARN", (t) => {
  // The table's stream ARN holds a timestamp, and a key's ARN a random id, so neither can be built from NamePrefix:
  // storage exports both, and the stacks deployed after it import them (the log key as their log groups'
  // KmsKeyId only). moto resolves exports; it cannot resolve nested outputs.
  const stream = { 'Fn::ImportValue': { 'Fn::Sub': '${NamePrefix}-orders-stream-arn' } }
  const logKey = { 'Fn::ImportValue': { 'Fn::Sub': '${NamePrefix}-order-log-key-arn' } }
  t.deepEqual(obj(tpl('storage.yaml').Outputs?.TableStreamArn).Export, {
    Name: { 'Fn::Sub': '${NamePrefix}-orders-stream-arn' },
  })
  t.deepEqual(obj(tpl('storage.yaml').Outputs?.LogKeyArn).Export, {
    Name: { 'Fn::Sub': '${NamePrefix}-order-log-key-arn' },
  })
  t.deepEqual(obj(tpl('storage.yaml').Outputs?.LogKeyArn).Value, { 'Fn::GetAtt': ['LogKey', 'Arn'] })
  // Every stack that imports deploys after storage (directly or through another stack).
  const after = (stack: string): string[] =>
    list<string>(main.Resources[stack]?.DependsOn).flatMap((d) => [d, ...after(d)])
  for (const [stack, r] of Object.entries(main.Resources)) {
    const child = tpl(String(props(r).TemplateURL).replace('./', ''))
    if (JSON.stringify(child.Resources).includes('Fn::ImportValue'))
      t.true(after(stack).includes('Storage'), `${stack} imports, so it deploys after Storage`)
  }
  const findings: string[] = []
  const walk = (value: unknown, where: string): void => {
    if (Array.isArray(value)) {
      value.forEach((v) => walk(v, where))
      return
    }
    if (typeof value !== 'object' || value === null) return
    for (const [k, v] of Object.entries(value)) {
      if (k === 'KmsKeyId' && where.endsWith('AWS::Logs::LogGroup') && JSON.stringify(v) === JSON.stringify(logKey))
        continue
      if (k === 'Fn::ImportValue' && JSON.stringify({ [k]: v }) !== JSON.stringify(stream))
        findings.push(`${where}: ImportValue`)
      if (k === 'Fn::GetAtt' && list<string>(v)[1]?.startsWith('Outputs.'))
        findings.push(`${where}: GetAtt ${list<string>(v).join('.')}`)
      if (k === 'Fn::Sub' && /\$\{[^}]*\.Outputs\./.test(JSON.stringify(v))) findings.push(`${where}: Sub of an output`)
      walk(v, where)
    }
  }
  for (const file of templateFiles)
    for (const [id, r] of Object.entries(tpl(file).Resources)) walk(r.Properties, `${file} ${id} ${r.Type}`)
  t.deepEqual(findings, [])
})

test('the root passes each child only parameters it declares, with the same defaults, and every one it lacks a default for', (t) => {
  for (const [id, stack] of Object.entries(main.Resources)) {
    const file = String(props(stack).TemplateURL).replace('./', '')
    const child = tpl(file).Parameters ?? {}
    const passed = obj(props(stack).Parameters)
    for (const [name, value] of Object.entries(passed)) {
      t.truthy(child[name], `${id} passes ${name}, which ${file} does not declare`)
      t.deepEqual(value, { Ref: name }, `${id}.${name} is the root parameter of the same name`)
      t.deepEqual(child[name]?.Default, main.Parameters?.[name]?.Default, `${file} ${name} default`)
    }
    for (const [name, p] of Object.entries(child))
      t.true(p.Default !== undefined || name in passed, `${file} ${name} needs a value`)
  }
})

test('root outputs read only outputs the children declare, under the same condition', (t) => {
  for (const [key, output] of Object.entries(main.Outputs ?? {})) {
    t.truthy(output.Description, `${key}`)
    const [stackId, attribute] = list<string>(obj(output.Value)['Fn::GetAtt'])
    const file = String(props(main.Resources[stackId ?? '']).TemplateURL).replace('./', '')
    const name = attribute?.replace('Outputs.', '') ?? ''
    const childOutput = tpl(file).Outputs?.[name]
    t.truthy(childOutput, `${key} reads ${file} output ${name}`)
    if (childOutput?.Condition) t.is(output.Condition, childOutput.Condition, `${key} exists only when ${name} does`)
  }
})

test('every output of every template has a description', (t) => {
  for (const file of templateFiles) {
    for (const [key, output] of Object.entries(tpl(file).Outputs ?? {})) t.truthy(output.Description, `${file} ${key}`)
  }
})

test('the root defaults reproduce the seed names through the children', (t) => {
  t.is(nameOf('storage.yaml', 'OrdersTable', 'TableName'), 'tp-orders')
  t.is(nameOf('messaging.yaml', 'MainQueue', 'QueueName'), 'tp-orders-main')
  t.is(nameOf('messaging.yaml', 'MainDeadLetterQueue', 'QueueName'), 'tp-orders-main-dlq')
  t.is(nameOf('messaging.yaml', 'IngestQueue', 'QueueName'), 'tp-orders-ingest')
  t.is(nameOf('messaging.yaml', 'IngestDeadLetterQueue', 'QueueName'), 'tp-orders-ingest-dlq')
  t.is(nameOf('messaging.yaml', 'IntakeBucket', 'BucketName'), BUCKET)
  t.is(nameOf('messaging.yaml', 'AlertTopic', 'TopicName'), 'tp-order-alerts')
  t.is(nameOf('functions.yaml', 'ApiFunction', 'FunctionName'), 'tp-order-api')
  t.is(nameOf('functions.yaml', 'ValidatorFunction', 'FunctionName'), 'tp-order-validator')
  t.is(nameOf('functions.yaml', 'WorkerFunction', 'FunctionName'), 'tp-order-worker')
  t.is(nameOf('lake.yaml', 'GeneratorFunction', 'FunctionName'), 'tp-order-generator')
  t.is(nameOf('lake.yaml', 'Schedule', 'Name'), 'tp-order-generator')
  t.is(nameOf('api.yaml', 'OrdersApi', 'Name'), 'tp-orders-api')
  t.is(nameOf('observability.yaml', 'AlarmTopic', 'TopicName'), 'tp-order-alarms')
})

test('another prefix renames everything, and the longest names still fit AWS limits', (t) => {
  const prefix = 'a'.repeat(20)
  const pattern = new RegExp(String(main.Parameters?.NamePrefix?.AllowedPattern))
  t.regex(prefix, pattern)
  t.notRegex('a'.repeat(21), pattern)
  t.notRegex('Tp', pattern)
  for (const file of templateFiles)
    t.is(tpl(file).Parameters?.NamePrefix?.AllowedPattern, main.Parameters?.NamePrefix?.AllowedPattern, `${file}`)
  // The longest region names have 14 characters (ap-southeast-5): a bucket name may have 63, a role name 64.
  const bucket = String(deployed('messaging.yaml', 'IntakeBucket', { NamePrefix: prefix })?.BucketName).replace(
    'eu-west-3',
    'ap-southeast-5',
  )
  t.true(bucket.length <= 63, `${bucket}`)
  for (const file of ['functions.yaml', 'lake.yaml']) {
    for (const [id] of resourcesOf(tpl(file), 'AWS::IAM::Role')) {
      const name = String(deployed(file, id, { NamePrefix: prefix })?.RoleName).replace('eu-west-3', 'ap-southeast-5')
      t.true(name.startsWith(prefix) && name.length <= 64, `${name}`)
    }
  }
  t.is(deployed('storage.yaml', 'OrdersTable', { NamePrefix: 'e2e' })?.TableName, 'e2e-orders')
})

// ---------------------------------------------------------------------------------------------------------------
// Queues

test('each queue hides a message for at least 6 x the function timeout, by default and by the root Rules', (t) => {
  const rootValues = valuesOf(main)
  t.true(Number(rootValues.QueueVisibilityTimeout) >= 6 * Number(rootValues.FunctionTimeout))
  t.true(
    Number(valuesOf(tpl('messaging.yaml')).QueueVisibilityTimeout) >=
      6 * Number(valuesOf(tpl('functions.yaml')).FunctionTimeout),
  )
  for (const id of ['IngestQueue', 'MainQueue']) {
    t.deepEqual(
      props(tpl('messaging.yaml').Resources[id]).VisibilityTimeout,
      { Ref: 'QueueVisibilityTimeout' },
      `${id}`,
    )
  }
  // Every pair of allowed values: the Rules accept it exactly when visibility >= 6 x timeout.
  const timeouts = list<number>(main.Parameters?.FunctionTimeout?.AllowedValues)
  const visibilities = list<number>(main.Parameters?.QueueVisibilityTimeout?.AllowedValues)
  t.true(timeouts.length > 1 && visibilities.length > 1)
  for (const timeout of timeouts) {
    t.true(visibilities.includes(6 * timeout), `a visibility timeout of 6 x ${timeout} is allowed`)
    for (const visibility of visibilities) {
      const values = valuesOf(main, { FunctionTimeout: String(timeout), QueueVisibilityTimeout: String(visibility) })
      t.is(
        rulesAccept(main, values),
        visibility >= 6 * timeout,
        `FunctionTimeout ${timeout}, QueueVisibilityTimeout ${visibility}`,
      )
    }
  }
})

test('dead-letter queues keep messages longer than their source queues, which redrive to them after MaxReceiveCount', (t) => {
  const messaging = tpl('messaging.yaml')
  for (const [source, dlq] of [
    ['IngestQueue', 'IngestDeadLetterQueue'],
    ['MainQueue', 'MainDeadLetterQueue'],
  ] as const) {
    const queue = props(messaging.Resources[source])
    // DlqRetentionDays: 14 by default (SQS's maximum), 5 at least, each value its seconds.
    const kept = (days?: number) =>
      Number(deployed('messaging.yaml', dlq, days ? { DlqRetentionDays: String(days) } : {})?.MessageRetentionPeriod)
    t.is(kept(), 14 * 24 * 3600)
    for (let days = 5; days <= 14; days++) t.is(kept(days), days * 24 * 3600, `${dlq} ${days} days`)
    t.true(kept(5) > Number(queue.MessageRetentionPeriod), `${dlq} outlives ${source}`)
    t.deepEqual(queue.RedrivePolicy, {
      deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] },
      maxReceiveCount: { Ref: 'MaxReceiveCount' },
    })
  }
  t.is(main.Parameters?.MaxReceiveCount?.Default, 5)
  t.like(messaging.Parameters?.DlqRetentionDays, { Default: '14' })
  t.deepEqual(messaging.Parameters?.DlqRetentionDays?.AllowedValues, [
    '5',
    '6',
    '7',
    '8',
    '9',
    '10',
    '11',
    '12',
    '13',
    '14',
  ])
  t.deepEqual(obj(props(main.Resources.Messaging).Parameters).DlqRetentionDays, { Ref: 'DlqRetentionDays' })
})

test('every queue is encrypted with SSE-SQS (S3 cannot notify an SSE-KMS queue without a customer key)', (t) => {
  const queues = resourcesOf(tpl('messaging.yaml'), 'AWS::SQS::Queue')
  t.is(queues.length, 4)
  for (const [id, q] of queues) {
    t.is(props(q).SqsManagedSseEnabled, true, `${id}`)
    t.is(props(q).KmsMasterKeyId, undefined, `${id}`)
  }
})

/** The Deny-without-TLS statements covering a resource id, from the policies of its template. */
const tlsDenials = (file: string, targetId: string): Statement[] =>
  resourcePolicies()
    .filter((p) => p.file === file)
    .flatMap((p) => {
      const policy = props(tpl(file).Resources[p.id])
      const covers = [...list(policy.Queues), ...list(policy.Topics), policy.Bucket].some(
        (ref) => obj(ref).Ref === targetId,
      )
      return covers
        ? p.statements.filter(
            (s) => s.Effect === 'Deny' && obj(obj(s.Condition).Bool)['aws:SecureTransport'] === 'false',
          )
        : []
    })

test('the bucket, every queue and both topics refuse requests without TLS', (t) => {
  for (const [id] of resourcesOf(tpl('messaging.yaml'), 'AWS::SQS::Queue')) {
    const [deny] = tlsDenials('messaging.yaml', id)
    t.deepEqual(deny?.Resource, { 'Fn::GetAtt': [id, 'Arn'] }, `${id}`)
    t.is(deny?.Principal, '*')
  }
  const [bucketDeny] = tlsDenials('messaging.yaml', 'IntakeBucket')
  t.deepEqual(list(bucketDeny?.Resource), [
    { 'Fn::GetAtt': ['IntakeBucket', 'Arn'] },
    // The objects' ARN as a Join of the bucket's and '/*': the form Control Tower's rule CT.S3.PR.8 recognises.
    { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['IntakeBucket', 'Arn'] }, '/*']] },
  ])
  t.is(tlsDenials('messaging.yaml', 'AlertTopic').length, 1)
  t.is(tlsDenials('observability.yaml', 'AlarmTopic').length, 1)
})

test('the ingest queue accepts messages from S3 only for the intake bucket of this account', (t) => {
  const policy = resourcePolicies().find((p) => p.id === 'IngestQueuePolicy')
  const allow = policy?.statements.filter((s) => s.Effect === 'Allow') ?? []
  t.is(allow.length, 1)
  const resolved = obj(evaluate(allow[0], tpl('messaging.yaml'), childValues('messaging.yaml')))
  t.deepEqual(resolved.Principal, { Service: 's3.amazonaws.com' })
  t.is(resolved.Action, 'sqs:SendMessage')
  t.deepEqual(resolved.Condition, {
    ArnEquals: { 'aws:SourceArn': `arn:aws:s3:::${BUCKET}` },
    StringEquals: { 'aws:SourceAccount': '123456789012' },
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Bucket and table

test('the intake bucket is versioned, private, encrypted, and notifies the ingest queue of new files under each intake prefix', (t) => {
  const bucket = tpl('messaging.yaml').Resources.IntakeBucket!
  const p = props(bucket)
  t.deepEqual(p.VersioningConfiguration, { Status: 'Enabled' })
  t.deepEqual(p.PublicAccessBlockConfiguration, {
    BlockPublicAcls: true,
    BlockPublicPolicy: true,
    IgnorePublicAcls: true,
    RestrictPublicBuckets: true,
  })
  t.deepEqual(obj(p.OwnershipControls).Rules, [{ ObjectOwnership: 'BucketOwnerEnforced' }])
  t.deepEqual(obj(p.BucketEncryption).ServerSideEncryptionConfiguration, [
    { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
  ])
  t.true(
    list<Obj>(obj(p.LifecycleConfiguration).Rules).some(
      (r) => r.Status === 'Enabled' && obj(r.NoncurrentVersionExpiration).NoncurrentDays === 30,
    ),
  )
  // One queue configuration per intake prefix: orders/ and raw/ by default, up to three.
  const notified = (overrides: Values = {}) =>
    list<Obj>(obj(deployed('messaging.yaml', 'IntakeBucket', overrides)?.NotificationConfiguration).QueueConfigurations)
  const expected = (prefix: string) => ({
    Event: 's3:ObjectCreated:*',
    Queue: '<IngestQueue.Arn>',
    Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: prefix }] } },
  })
  t.deepEqual(notified(), [expected('orders/'), expected('raw/')])
  t.deepEqual(notified({ IntakePrefixes: 'orders/' }), [expected('orders/')])
  t.deepEqual(notified({ IntakePrefixes: 'a/,b/,c/' }), [expected('a/'), expected('b/'), expected('c/')])
  // S3 checks that it may send to the queue when the notification is created.
  t.deepEqual(list(bucket.DependsOn), ['IngestQueuePolicy'])
})

test('the table is pay-per-request on pk/sk with TTL, point-in-time recovery and encryption, and outlives its stack', (t) => {
  const table = tpl('storage.yaml').Resources.OrdersTable!
  const p = props(table)
  t.is(deployed('storage.yaml', 'OrdersTable')?.BillingMode, 'PAY_PER_REQUEST', 'by default (TableBillingMode)')
  t.deepEqual(p.KeySchema, [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ])
  t.deepEqual(p.AttributeDefinitions, [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'S' },
    { AttributeName: 'customer_id', AttributeType: 'S' },
    { AttributeName: 'processed_at', AttributeType: 'S' },
  ])
  // Order records by customer (the data lake's history), and the stream the exporter reads.
  t.deepEqual(deployed('storage.yaml', 'OrdersTable')?.GlobalSecondaryIndexes, [
    {
      IndexName: 'by_customer',
      KeySchema: [
        { AttributeName: 'customer_id', KeyType: 'HASH' },
        { AttributeName: 'processed_at', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['order_id', 'amount_cents', 'currency'] },
    },
  ])
  t.deepEqual(p.StreamSpecification, { StreamViewType: 'NEW_IMAGE' })
  t.deepEqual(p.TimeToLiveSpecification, { AttributeName: 'expires_at', Enabled: true })
  t.deepEqual(p.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true })
  t.deepEqual(p.SSESpecification, { SSEEnabled: true })
  t.is(table.DeletionPolicy, 'Retain')
  t.is(table.UpdateReplacePolicy, 'Retain')
  t.is(deployed('storage.yaml', 'OrdersTable')?.DeletionProtectionEnabled, false)
  t.is(deployed('storage.yaml', 'OrdersTable', { TableDeletionProtection: 'true' })?.DeletionProtectionEnabled, true)
})

// ---------------------------------------------------------------------------------------------------------------
// IAM

test('role policies of every template allow named actions only: no wildcard in an action', (t) => {
  const policies = rolePolicies()
  // The functions' roles, the generator's schedule role, and the delivery pipeline's build, deploy, pipeline and
  // trigger roles.
  t.deepEqual(policies.map((p) => `${p.file} ${p.role}`).sort(), [
    'api.yaml LoggingRole',
    'export.yaml ExporterRole',
    'functions.yaml ApiRole',
    'functions.yaml ValidatorRole',
    'functions.yaml WorkerRole',
    'lake.yaml GeneratorRole',
    'lake.yaml GeneratorScheduleRole',
    'pipeline.yaml BuildRole',
    'pipeline.yaml DeployAnalyticsPolicy',
    'pipeline.yaml DeployCapacityPolicy',
    'pipeline.yaml DeployLakePolicy',
    'pipeline.yaml DeployRole',
    'pipeline.yaml DeploySecurityPolicy',
    'pipeline.yaml DeployWorkflowPolicy',
    'pipeline.yaml PipelineRole',
    'pipeline.yaml SourceTriggerRole',
    'workflow.yaml StarterRole',
    'workflow.yaml StateMachineRole',
    'workflow.yaml TasksRole',
  ])
  for (const { role, statements } of policies) {
    t.true(statements.length > 0, `${role}`)
    for (const s of statements) {
      t.is(s.Effect, 'Allow', `${role} ${s.Sid}`)
      for (const action of list<string>(s.Action)) t.false(action.includes('*'), `${role} ${s.Sid} ${action}`)
    }
  }
})

test('the application roles use Resource * only for PutMetricData within the namespace, and log delivery', (t) => {
  const policies = rolePolicies().filter((p) => children.includes(p.file))
  t.is(policies.length, 10)
  for (const { role, statements } of policies) {
    for (const s of statements) {
      // Step Functions' log delivery (CloudWatch Logs' delivery actions have no resource-level permissions).
      if (role === 'StateMachineRole' && s.Sid === 'DeliverLogs') {
        t.true(
          list<string>(s.Action).every(
            (a) => a.startsWith('logs:') && /Deliver|ResourcePolic|DescribeLogGroups/.test(a),
          ),
        )
        continue
      }
      if (list(s.Resource).includes('*')) {
        t.deepEqual(
          list(s.Action),
          ['cloudwatch:PutMetricData'],
          `${role} ${s.Sid}: only PutMetricData may have Resource *`,
        )
        t.deepEqual(
          s.Condition,
          { StringEquals: { 'cloudwatch:namespace': { Ref: 'MetricsNamespace' } } },
          `${role} ${s.Sid}`,
        )
      }
    }
  }
})

/** The identity statements of each IAM resource (role, managed or inline policy), with the resource's Metadata. */
const iamStatements = (): { file: string; id: string; metadata: Obj; statements: Statement[] }[] =>
  allResources().flatMap(([file, id, r]) => {
    const documents =
      r.Type === 'AWS::IAM::Role'
        ? list<Obj>(props(r).Policies).map((p) => p.PolicyDocument)
        : r.Type === 'AWS::IAM::ManagedPolicy' || r.Type === 'AWS::IAM::Policy'
          ? [props(r).PolicyDocument]
          : []
    const statements = documents.flatMap((d) => list(obj(d).Statement).flatMap(branches))
    return statements.length ? [{ file, id, metadata: obj(r.Metadata), statements }] : []
  })
/** A Resource entry as the text it deploys from: a !Sub pattern, ${Logical.Arn} for a GetAtt, parts of a Join. */
const resourceText = (value: unknown): string => {
  if (typeof value === 'string') return value
  const v = obj(value)
  if (v['Fn::Sub'] !== undefined) {
    const [pattern, vars] = list(v['Fn::Sub'])
    return String(pattern).replace(/\$\{([A-Za-z0-9]+)\}/g, (whole, name: string) =>
      obj(vars)[name] === undefined ? whole : resourceText(obj(vars)[name]),
    )
  }
  if (v['Fn::GetAtt'] !== undefined) return `\${${list<string>(v['Fn::GetAtt']).join('.')}}`
  if (v.Ref !== undefined) return `\${${String(v.Ref)}}`
  if (v['Fn::Join'] !== undefined) {
    const parts = list(v['Fn::Join'])[1]
    return Array.isArray(parts) ? parts.map(resourceText).join('') : resourceText(parts)
  }
  if (v['Fn::Split'] !== undefined) return resourceText(list(v['Fn::Split'])[1])
  if (v['Fn::If'] !== undefined) return list(v['Fn::If']).slice(1).map(resourceText).join(' ')
  return ''
}

test("IAM resource wildcards stay inside the deployment's names, or carry a one-line reason in the resource's Metadata", (t) => {
  const outside: string[] = []
  const missing: string[] = []
  for (const { file, id, metadata, statements } of iamStatements()) {
    const reasons = obj(metadata.ResourceWildcards)
    for (const s of statements.filter((st) => st.Effect === 'Allow')) {
      const wild = list(s.Resource)
        .map(resourceText)
        .filter((text) => {
          const star = text.indexOf('*')
          if (star < 0) return false
          // Within the prefix: the wildcard follows the deployment's own name or one of this template's resources.
          const before = text.slice(0, star)
          const own = [...before.matchAll(/\$\{([A-Za-z0-9]+)(\.[A-Za-z]+)?\}/g)].some(
            ([, name]) => name === 'NamePrefix' || name === 'Application' || name! in tpl(file).Resources,
          )
          return !own
        })
      if (wild.length === 0) continue
      const reason = reasons[String(s.Sid)]
      if (!(typeof reason === 'string' && reason.trim().length > 20 && !reason.includes('\n')))
        missing.push(`${file} ${id} ${String(s.Sid)}: ${wild.join(', ')}`)
      outside.push(`${file} ${id} ${String(s.Sid)}`)
    }
    // No reason for a statement that does not need one (or that is gone).
    for (const sid of Object.keys(reasons))
      t.true(
        outside.includes(`${file} ${id} ${sid}`),
        `${file} ${id}: Metadata.ResourceWildcards.${sid} names no statement with a wildcard outside the prefix`,
      )
  }
  t.deepEqual(missing, [], 'each needs a one-line reason in its Metadata.ResourceWildcards, by Sid')
  t.true(outside.length >= 10, `${outside.length}`)
})

test("resource policies allow named actions only: the one wildcard Allow is the KMS key policy's account statement", (t) => {
  const wildcardAllows = resourcePolicies().flatMap((p) =>
    p.statements
      .filter(
        (s) =>
          s.Effect === 'Allow' && list<string>(s.Action).some((a) => a.includes('*') && a !== 'kms:GenerateDataKey*'),
      )
      .map((s) => `${p.id}/${s.Sid}`),
  )
  t.deepEqual(wildcardAllows.sort(), [
    'AlarmKey/AccountAdministers',
    'BuildLogKey/AccountAdministers',
    'LogKey/AccountAdministers',
  ])
})

test('the worker may store orders and reserve stock, consume the main queue, park rejects, alert and count', (t) => {
  const g = grants('functions.yaml', 'WorkerRole')
  for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'])
    t.deepEqual(g.get(action), [TABLE_ARN], `${action}`)
  for (const action of [
    'sqs:ReceiveMessage',
    'sqs:DeleteMessage',
    'sqs:GetQueueAttributes',
    'sqs:ChangeMessageVisibility',
  ]) {
    t.deepEqual(g.get(action), [arn('sqs', 'tp-orders-main')], `${action}`)
  }
  t.deepEqual(g.get('sqs:SendMessage'), [arn('sqs', 'tp-orders-main-dlq')])
  t.deepEqual(g.get('sns:Publish'), [arn('sns', 'tp-order-alerts')])
  t.deepEqual(g.get('cloudwatch:PutMetricData'), ['*'])
  t.deepEqual(g.get('logs:PutLogEvents'), ['<WorkerLogGroup.Arn>'])
  t.false(g.has('dynamodb:GetItem') || g.has('dynamodb:DeleteItem') || g.has('s3:GetObject'))
})

test('the validator may read order files (and tell a missing key by 404), queue and park orders, record rejects, write reports', (t) => {
  const g = grants('functions.yaml', 'ValidatorRole')
  const prefixes = [`arn:aws:s3:::${BUCKET}/orders/*`, `arn:aws:s3:::${BUCKET}/raw/*`]
  t.deepEqual(g.get('s3:GetObject'), prefixes, 'the objects under each intake prefix, nothing else of the bucket')
  t.deepEqual(g.get('s3:GetObjectVersion'), prefixes)
  t.deepEqual(g.get('s3:ListBucket'), [`arn:aws:s3:::${BUCKET}`])
  t.deepEqual(g.get('sqs:SendMessage')?.sort(), [
    arn('sqs', 'tp-orders-ingest'),
    arn('sqs', 'tp-orders-ingest-dlq'),
    arn('sqs', 'tp-orders-main'),
    arn('sqs', 'tp-orders-main-dlq'),
  ])
  for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'])
    t.deepEqual(g.get(action), [arn('sqs', 'tp-orders-ingest')], `${action}`)
  t.deepEqual(g.get('dynamodb:PutItem'), [TABLE_ARN])
  t.deepEqual(g.get('sns:Publish'), [arn('sns', 'tp-order-alerts')])
  t.deepEqual(g.get('cloudwatch:PutMetricData'), ['*'])
  t.deepEqual(g.get('s3:PutObject'), [`arn:aws:s3:::${BUCKET}/reports/*`], 'its reports, nothing else')
  t.false(g.has('s3:DeleteObject') || g.has('dynamodb:DeleteItem') || g.has('dynamodb:TransactWriteItems'))
  // A file's progress records (lib/aws/files.ts): read and updated, under the FILE# keys only.
  const role = deployed('functions.yaml', 'ValidatorRole')
  const statements = list<Obj>(role?.Policies).flatMap((p) => list<Statement>(obj(p.PolicyDocument).Statement))
  const progress = statements.filter((s) => list<string>(s.Action).includes('dynamodb:UpdateItem'))
  t.is(progress.length, 1)
  t.deepEqual(list<string>(progress[0]?.Action).sort(), ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'])
  t.deepEqual(obj(progress[0]?.Condition), { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['FILE#*'] } })
})

test('the API function may read order status, queue orders and cancel them (and announce it), nothing else', (t) => {
  const g = grants('functions.yaml', 'ApiRole')
  t.deepEqual([...g.keys()].sort(), [
    'cloudwatch:PutMetricData',
    'dynamodb:DeleteItem',
    'dynamodb:GetItem',
    'dynamodb:Query',
    'dynamodb:UpdateItem',
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    'sns:Publish',
    'sqs:SendMessage',
  ])
  for (const action of ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'])
    t.deepEqual(g.get(action), [TABLE_ARN], `${action}`)
  t.deepEqual(g.get('sns:Publish'), [arn('sns', 'tp-order-alerts')])
  t.false(g.has('dynamodb:PutItem'), 'a cancel writes no new record')
  t.deepEqual(g.get('sqs:SendMessage'), [arn('sqs', 'tp-orders-main')])
})

test('the generator may write new objects under raw/ of the intake bucket, its logs and its metrics, nothing else', (t) => {
  const g = grants('lake.yaml', 'GeneratorRole')
  t.deepEqual([...g.keys()].sort(), [
    'cloudwatch:PutMetricData',
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    's3:PutObject',
  ])
  t.deepEqual(
    g.get('s3:PutObject'),
    [`arn:aws:s3:::${BUCKET}/raw/*`],
    `the raw/ prefix only: not orders/, not reports/`,
  )
  t.deepEqual(g.get('logs:PutLogEvents'), ['<GeneratorLogGroup.Arn>'])
  t.deepEqual(g.get('cloudwatch:PutMetricData'), ['*'])
  const metrics = list<Statement>(
    obj(list<Obj>(deployed('lake.yaml', 'GeneratorRole')?.Policies)[0]?.PolicyDocument).Statement,
  ).find((s) => s.Action === 'cloudwatch:PutMetricData')
  t.deepEqual(metrics?.Condition, { StringEquals: { 'cloudwatch:namespace': 'OrderPipeline' } })
  t.deepEqual(
    list<Statement>(obj(deployed('lake.yaml', 'GeneratorRole')?.AssumeRolePolicyDocument).Statement).map(
      (s) => s.Principal,
    ),
    [{ Service: 'lambda.amazonaws.com' }],
  )
})

// ---------------------------------------------------------------------------------------------------------------
// Functions

const FUNCTIONS = {
  ApiFunction: {
    file: 'functions.yaml',
    bundle: 'api',
    logGroup: 'ApiLogGroup',
    role: 'ApiRole',
    required: ['ordersTable', 'mainQueueUrl'],
  },
  ValidatorFunction: {
    file: 'functions.yaml',
    bundle: 'validator',
    logGroup: 'ValidatorLogGroup',
    role: 'ValidatorRole',
    required: ['ordersTable', 'mainQueueUrl', 'mainDlqUrl', 'ingestDlqUrl'],
  },
  WorkerFunction: {
    file: 'functions.yaml',
    bundle: 'worker',
    logGroup: 'WorkerLogGroup',
    role: 'WorkerRole',
    required: ['ordersTable', 'mainDlqUrl'],
  },
  GeneratorFunction: {
    file: 'lake.yaml',
    bundle: 'generator',
    logGroup: 'GeneratorLogGroup',
    role: 'GeneratorRole',
    required: ['intakeBucket'],
  },
  ExporterFunction: {
    file: 'export.yaml',
    bundle: 'exporter',
    logGroup: 'ExporterLogGroup',
    role: 'ExporterRole',
    required: ['ordersTable'],
  },
  // One bundle, two entry points (handlers/workflow.ts).
  TasksFunction: {
    file: 'workflow.yaml',
    bundle: 'workflow',
    handler: 'index.handler',
    logGroup: 'TasksLogGroup',
    role: 'TasksRole',
    required: ['ordersTable'],
  },
  StarterFunction: {
    file: 'workflow.yaml',
    bundle: 'workflow',
    handler: 'index.starterHandler',
    logGroup: 'StarterLogGroup',
    role: 'StarterRole',
    required: ['stateMachineArn'],
  },
} as const satisfies Record<
  string,
  { file: string; bundle: string; handler?: string; logGroup: string; role: string; required: RequiredKey[] }
>

test('every function runs its dist bundle on nodejs22.x / arm64, with its own role', (t) => {
  const functions = children.flatMap((file) => resourcesOf(tpl(file), 'AWS::Lambda::Function'))
  t.deepEqual(functions.map(([id]) => id).sort(), Object.keys(FUNCTIONS).sort())
  for (const [id, fn] of functions) {
    const expected = FUNCTIONS[id as keyof typeof FUNCTIONS]
    t.truthy(tpl(expected.file).Resources[id], `${id} is in ${expected.file}`)
    const p = props(fn)
    t.is(p.Runtime, 'nodejs22.x', `${id}`)
    t.deepEqual(p.Architectures, [{ Ref: 'Architecture' }], `${id}: arm64 by default (Architecture)`)
    t.is(p.Handler, 'handler' in expected ? expected.handler : 'index.handler', `${id}`)
    // A folder relative to the template, packaged by `aws cloudformation package`: npm run build writes it.
    t.is(p.Code, `../dist/${expected.bundle}`, `${id}`)
    t.is(resolvePath(templateDir, String(p.Code)), join(root, 'dist', expected.bundle))
    t.deepEqual(p.Role, { 'Fn::GetAtt': [expected.role, 'Arn'] }, `${id}`)
    t.deepEqual(p.Timeout, { Ref: 'FunctionTimeout' })
    t.deepEqual(p.MemorySize, { Ref: 'FunctionMemory' })
  }
})

test('every function logs to a group created before it, named as Lambda names it, with the retention parameter', (t) => {
  for (const [id, expected] of Object.entries(FUNCTIONS)) {
    const fn = tpl(expected.file).Resources[id]
    t.deepEqual(list(fn?.DependsOn), [expected.logGroup], `${id}`)
    const group = deployed(expected.file, expected.logGroup)
    t.is(group?.LogGroupName, `/aws/lambda/${nameOf(expected.file, id, 'FunctionName')}`)
    t.deepEqual(props(tpl(expected.file).Resources[expected.logGroup]).RetentionInDays, { Ref: 'LogRetentionDays' })
  }
  t.is(main.Parameters?.LogRetentionDays?.Default, 365)
})

test('every function gets the environment its handler reads, and its configuration loads from it', (t) => {
  const expectedKeys: Record<keyof typeof FUNCTIONS, string[]> = {
    ApiFunction: [
      'ALERT_TOPIC_ARN',
      'CORS_ORIGINS',
      'DEFAULT_CURRENCY',
      'LOG_LEVEL',
      'MAIN_QUEUE_URL',
      'MAX_ORDER_AMOUNT',
      'METRICS_MODE',
      'METRICS_NAMESPACE',
      'ORDERS_TABLE',
      'STAGE',
    ],
    ValidatorFunction: [
      'ALERT_TOPIC_ARN',
      'DEFAULT_CURRENCY',
      'INGEST_DLQ_URL',
      'INGEST_QUEUE_URL',
      'LOG_LEVEL',
      'MAIN_DLQ_URL',
      'MAIN_QUEUE_URL',
      'MAX_ORDER_AMOUNT',
      'METRICS_MODE',
      'METRICS_NAMESPACE',
      'ORDERS_TABLE',
      'RANGE_BYTES',
      'STAGE',
    ],
    WorkerFunction: [
      'ALERT_TOPIC_ARN',
      'DEFAULT_CURRENCY',
      'LOG_LEVEL',
      'MAIN_DLQ_URL',
      'MAX_ORDER_AMOUNT',
      'METRICS_MODE',
      'METRICS_NAMESPACE',
      'ORDERS_TABLE',
      'ORDER_RETENTION_DAYS',
      'STAGE',
      'STOCK_TRACKING',
    ],
    GeneratorFunction: [
      'DEFAULT_CURRENCY',
      'GENERATED_ORDERS',
      'INTAKE_BUCKET',
      'LOG_LEVEL',
      'MAX_ORDER_AMOUNT',
      'METRICS_MODE',
      'METRICS_NAMESPACE',
      'STAGE',
    ],
    ExporterFunction: ['LAKE_BUCKET', 'LOG_LEVEL', 'METRICS_MODE', 'METRICS_NAMESPACE', 'ORDERS_TABLE', 'STAGE'],
    TasksFunction: [
      'CUSTOMER_TOPIC_ARN',
      'LOG_LEVEL',
      'MAX_ORDER_AMOUNT',
      'MAX_STOCK_WAITS',
      'METRICS_MODE',
      'METRICS_NAMESPACE',
      'ORDERS_TABLE',
      'PAYMENT_SUCCESS_RATE',
      'PAYMENT_TIMEOUT_RATE',
      'STAGE',
    ],
    StarterFunction: ['LOG_LEVEL', 'STAGE', 'STATE_MACHINE_ARN'],
  }
  for (const [id, expected] of Object.entries(FUNCTIONS) as [
    keyof typeof FUNCTIONS,
    (typeof FUNCTIONS)[keyof typeof FUNCTIONS],
  ][]) {
    const env = obj(obj(deployed(expected.file, id)?.Environment).Variables) as Record<string, string>
    t.deepEqual(Object.keys(env).sort(), expectedKeys[id], `${id}`)
    // no --enable-source-maps: stacks are mapped when logged (lib/runtime/stack.ts), not at every cold start
    t.is(env.NODE_OPTIONS, undefined)
    const config = loadConfig([...expected.required], env)
    t.is(config.stage, 'dev')
    t.is(config.metricsNamespace, 'OrderPipeline')
    t.is(config.metricsMode, 'api')
    if (id === 'WorkerFunction') {
      t.is(config.orderRetentionDays, 0, 'order records kept by default')
      t.is(
        obj(obj(deployed(expected.file, id, { OrderRetentionDays: '730' })?.Environment).Variables)
          .ORDER_RETENTION_DAYS,
        '730',
      )
    }
    if (env.METRICS_MODE !== undefined)
      t.is(
        obj(obj(deployed(expected.file, id, { MetricsMode: 'emf' })?.Environment).Variables).METRICS_MODE,
        'emf',
        `${id}: MetricsMode reaches it`,
      )
    t.is(config.defaultCurrency, 'EUR')
    t.is(config.maxOrderAmount, 10000)
    if (id === 'GeneratorFunction') {
      t.is(config.intakeBucket, BUCKET)
      t.is(config.generatedOrders, 1000)
      t.is(config.rawPrefix, 'raw/', `the prefix its role may write to`)
      t.is(config.generatorSeed, undefined, `each scheduled run its own seed`)
      continue
    }
    if (id === 'ExporterFunction') {
      t.is(config.ordersTable, 'tp-orders')
      t.is(env.LAKE_BUCKET, BUCKET, 'processed/ of the intake bucket, which its role may write to')
      continue
    }
    if (id === 'TasksFunction') {
      t.is(config.ordersTable, 'tp-orders')
      t.is(config.customerTopicArn, '<CustomerTopic>', "the stack's own topic")
      t.is(config.paymentSuccessRate, 0.9)
      t.is(config.paymentTimeoutRate, 0)
      t.is(config.maxStockWaits, 168)
      continue
    }
    if (id === 'StarterFunction') {
      t.is(config.stateMachineArn, '<StateMachine>', "the stack's own state machine")
      continue
    }
    t.is(config.ordersTable, 'tp-orders')
    if (id !== 'WorkerFunction') t.is(config.mainQueueUrl, queueUrl('tp-orders-main'))
    if (id !== 'ApiFunction') {
      t.is(config.mainDlqUrl, queueUrl('tp-orders-main-dlq'))
      t.is(config.alertTopicArn, arn('sns', 'tp-order-alerts'))
    }
    if (id === 'ValidatorFunction') t.is(config.ingestDlqUrl, queueUrl('tp-orders-ingest-dlq'))
    if (id === 'WorkerFunction') t.true(config.stockTracking)
  }
  const off = obj(
    obj(deployed('functions.yaml', 'WorkerFunction', { StockTracking: 'off' })?.Environment).Variables,
  ) as Record<string, string>
  t.false(loadConfig(['ordersTable', 'mainDlqUrl'], off).stockTracking)
  const generator = (overrides: Values) =>
    obj(obj(deployed('lake.yaml', 'GeneratorFunction', overrides)?.Environment).Variables) as Record<string, string>
  t.is(loadConfig(['intakeBucket'], generator({ GeneratedOrders: '250' })).generatedOrders, 250)
})

test('both queues feed their function with partial batch responses, enabled only by EventSourceMappingsEnabled', (t) => {
  const functions = tpl('functions.yaml')
  const mappings = Object.fromEntries(
    resourcesOf(functions, 'AWS::Lambda::EventSourceMapping').map(([, r]) => [
      String(obj(props(r).FunctionName).Ref),
      props(r),
    ]),
  )
  t.deepEqual(Object.keys(mappings).sort(), ['ValidatorFunction', 'WorkerFunction'])
  for (const [fn, queue, batchSize] of [
    ['ValidatorFunction', 'tp-orders-ingest', 'ValidatorBatchSize'],
    ['WorkerFunction', 'tp-orders-main', 'WorkerBatchSize'],
  ] as const) {
    const mapping = mappings[fn]!
    t.deepEqual(mapping.FunctionResponseTypes, ['ReportBatchItemFailures'], `${fn}`)
    t.deepEqual(mapping.BatchSize, { Ref: batchSize })
    t.deepEqual(mapping.MaximumBatchingWindowInSeconds, { Ref: 'MaximumBatchingWindow' })
    t.is(evaluate(mapping.EventSourceArn, functions, childValues('functions.yaml')), arn('sqs', queue))
    // A real boolean through a condition: moto reads the parameter's string "false" as enabled.
    t.deepEqual(mapping.Enabled, { 'Fn::If': ['MappingsEnabled', true, false] })
    t.is(evaluate(mapping.Enabled, functions, childValues('functions.yaml')), true)
    t.is(
      evaluate(mapping.Enabled, functions, childValues('functions.yaml', { EventSourceMappingsEnabled: 'false' })),
      false,
    )
  }
  t.deepEqual(functions.Conditions?.MappingsEnabled, { 'Fn::Equals': [{ Ref: 'EventSourceMappingsEnabled' }, 'true'] })
  t.is(main.Parameters?.WorkerBatchSize?.Default, 10)
  t.is(main.Parameters?.ValidatorBatchSize?.Default, 10)
  t.is(main.Parameters?.MaximumBatchingWindow?.Default, 0)
})

// ---------------------------------------------------------------------------------------------------------------
// The data lake's generator schedule

test('the generator schedule is DISABLED unless GeneratorSchedule gives an expression, and then runs it in UTC', (t) => {
  const off = deployed('lake.yaml', 'Schedule')
  t.like(off, { Name: 'tp-order-generator', State: 'DISABLED', ScheduleExpressionTimezone: 'UTC' })
  t.regex(String(off?.ScheduleExpression), /^rate\(/, `a valid placeholder while off`)
  t.is(main.Parameters?.GeneratorSchedule?.Default, 'off')
  for (const expression of ['rate(1 hour)', 'rate(15 minutes)', 'cron(0 6 * * ? *)']) {
    t.like(deployed('lake.yaml', 'Schedule', { GeneratorSchedule: expression }), {
      State: 'ENABLED',
      ScheduleExpression: expression,
    })
  }
  const target = obj(off?.Target)
  t.is(target.Arn, '<GeneratorFunction.Arn>')
  t.is(target.RoleArn, '<GeneratorScheduleRole.Arn>')
  // The scheduled time reaches the function, which takes its date and seed from it (a retry writes the same file).
  t.deepEqual(JSON.parse(String(target.Input)), { scheduledTime: '<aws.scheduler.scheduled-time>' })
  t.is(main.Parameters?.GeneratedOrders?.Default, 1000)
  t.is(
    obj(obj(deployed('lake.yaml', 'GeneratorFunction', { GeneratedOrders: '5000' })?.Environment).Variables)
      .GENERATED_ORDERS,
    '5000',
  )
})

test('GeneratorSchedule takes off, rate(...) or cron(...) and nothing else, in the root and in the lake stack', (t) => {
  for (const file of ['main.yaml', 'lake.yaml']) {
    const pattern = new RegExp(String(tpl(file).Parameters?.GeneratorSchedule?.AllowedPattern))
    for (const good of ['off', 'rate(1 hour)', 'rate(5 minutes)', 'rate(1 day)', 'cron(0 6 * * ? *)'])
      t.regex(good, pattern, `${file}: ${good}`)
    for (const bad of ['', 'on', 'hourly', 'rate(0 hours)', 'rate(1 week)', 'cron()', 'at(2026-01-07T10:00:00)'])
      t.notRegex(bad, pattern, `${file}: ${bad}`)
  }
})

test('the schedule role: EventBridge Scheduler of this account may assume it, and it may only invoke the generator', (t) => {
  const role = deployed('lake.yaml', 'GeneratorScheduleRole')
  t.deepEqual(list<Statement>(obj(role?.AssumeRolePolicyDocument).Statement), [
    {
      Effect: 'Allow',
      Principal: { Service: 'scheduler.amazonaws.com' },
      Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
    },
  ])
  const g = grants('lake.yaml', 'GeneratorScheduleRole')
  t.deepEqual([...g.keys()], ['lambda:InvokeFunction'])
  t.deepEqual(g.get('lambda:InvokeFunction'), ['<GeneratorFunction.Arn>'])
})

// ---------------------------------------------------------------------------------------------------------------
// API

const methods = (overrides: Values = {}): Record<string, Obj> => {
  const api = tpl('api.yaml')
  return Object.fromEntries(
    resourcesOf(api, 'AWS::ApiGateway::Method')
      .map(([id]) => [id, deployed('api.yaml', id, overrides)] as const)
      .filter((entry): entry is [string, Obj] => entry[1] !== undefined),
  )
}

test('with ApiAuth API_KEY (the default) the routes need a key from the usage plan; with IAM they need SigV4', (t) => {
  const api = tpl('api.yaml')
  const withKey = methods()
  t.deepEqual(
    Object.values(withKey)
      .map((m) => `${String(m.HttpMethod)} ${String(m.ResourceId)}`)
      .sort(),
    ['GET <OrderResource>', 'POST <CancelResource>', 'POST <OrdersResource>'],
  )
  t.is(deployed('api.yaml', 'CancelResource')?.PathPart, 'cancel')
  t.is(deployed('api.yaml', 'CancelResource')?.ParentId, '<OrderResource>')
  for (const m of Object.values(withKey)) {
    t.is(m.ApiKeyRequired, true)
    t.is(m.AuthorizationType, 'NONE')
  }
  for (const id of ['UsagePlan', 'ApiKey', 'UsagePlanKey']) t.truthy(deployed('api.yaml', id), `${id} with API_KEY`)
  t.deepEqual(obj(deployed('api.yaml', 'UsagePlan')?.Throttle), { RateLimit: '50', BurstLimit: '100' })
  for (const m of Object.values(methods({ ApiAuth: 'IAM' }))) {
    t.is(m.ApiKeyRequired, false)
    t.is(m.AuthorizationType, 'AWS_IAM')
  }
  for (const id of ['UsagePlan', 'ApiKey', 'UsagePlanKey'])
    t.is(deployed('api.yaml', id, { ApiAuth: 'IAM' }), undefined, `${id} without API_KEY`)
  t.deepEqual(api.Parameters?.ApiAuth?.AllowedValues, ['API_KEY', 'IAM'])
  t.deepEqual(main.Parameters?.ApiAuth?.AllowedValues, ['API_KEY', 'IAM'])
})

test('CORS preflights exist only with an origin, need no credentials, and the origin reaches the function', (t) => {
  const withCors = methods({ CorsOrigin: 'https://shop.example.com' })
  const preflights = Object.values(withCors).filter((m) => m.HttpMethod === 'OPTIONS')
  t.is(preflights.length, 2)
  for (const m of preflights) {
    t.is(m.AuthorizationType, 'NONE')
    t.is(m.ApiKeyRequired, false)
  }
  t.false(Object.values(methods()).some((m) => m.HttpMethod === 'OPTIONS'))
  const env = obj(
    obj(deployed('functions.yaml', 'ApiFunction', { CorsOrigin: 'https://shop.example.com' })?.Environment).Variables,
  )
  t.is(env.CORS_ORIGINS, 'https://shop.example.com')
  t.is(main.Parameters?.CorsOrigin?.Default, '')
  t.notRegex('*', new RegExp(String(main.Parameters?.CorsOrigin?.AllowedPattern)))
  t.regex('', new RegExp(String(main.Parameters?.CorsOrigin?.AllowedPattern)))
})

test('every route proxies to the API function, which API Gateway may invoke from this API only', (t) => {
  const uri = `arn:aws:apigateway:eu-west-3:lambda:path/2015-03-31/functions/${arn('lambda', 'function:tp-order-api')}/invocations`
  for (const m of Object.values(methods({ CorsOrigin: 'https://shop.example.com' }))) {
    t.deepEqual(obj(m.Integration), { Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST', Uri: uri })
  }
  const permissions = resourcesOf(tpl('api.yaml'), 'AWS::Lambda::Permission').map(([id]) =>
    deployed('api.yaml', id, { CorsOrigin: 'https://shop.example.com' }),
  )
  t.deepEqual(permissions.map((p) => p?.SourceArn).sort(), [
    `arn:aws:execute-api:eu-west-3:123456789012:<OrdersApi>/*/GET/orders/*`,
    `arn:aws:execute-api:eu-west-3:123456789012:<OrdersApi>/*/OPTIONS/orders*`,
    `arn:aws:execute-api:eu-west-3:123456789012:<OrdersApi>/*/POST/orders`,
    `arn:aws:execute-api:eu-west-3:123456789012:<OrdersApi>/*/POST/orders/*/cancel`,
  ])
  for (const p of permissions) {
    t.is(p?.FunctionName, 'tp-order-api')
    t.is(p?.Principal, 'apigateway.amazonaws.com')
  }
  // No function of any template may be invoked by a service for another account (SourceAccount with SourceArn).
  for (const file of templateFiles)
    for (const [id] of resourcesOf(tpl(file), 'AWS::Lambda::Permission')) {
      const p = deployed(file, id, { CorsOrigin: 'https://shop.example.com' })
      t.is(p?.SourceAccount, '123456789012', `${file} ${id}`)
      t.truthy(p?.SourceArn, `${file} ${id}`)
    }
})

test('POST /orders checks only the envelope at the gateway: a JSON object, the function says the rest', (t) => {
  const api = tpl('api.yaml')
  const post = props(api.Resources.PostOrderMethod)
  t.deepEqual(post.RequestModels, { 'application/json': { Ref: 'OrderEnvelopeModel' } })
  t.deepEqual(post.RequestValidatorId, { Ref: 'BodyValidator' })
  t.is(props(api.Resources.BodyValidator).ValidateRequestBody, true)
  t.deepEqual(props(api.Resources.OrderEnvelopeModel).Schema, {
    $schema: 'http://json-schema.org/draft-04/schema#',
    title: 'OrderEnvelope',
    type: 'object',
  })
  const badBody = props(api.Resources.BadRequestBodyResponse)
  const body = JSON.parse(String(obj(badBody.ResponseTemplates)['application/json'])) as {
    message: string
    errors: unknown[]
  }
  t.is(body.message, 'The order must be a JSON object')
})

test('the stage is named from Stage, throttled by the parameters, and deployed after the routes', (t) => {
  const stage = deployed('api.yaml', 'OrdersApiStage')
  t.is(stage?.StageName, 'dev')
  t.deepEqual(list(stage?.MethodSettings), [
    {
      ResourcePath: '/*',
      HttpMethod: '*',
      ThrottlingRateLimit: '50',
      ThrottlingBurstLimit: '100',
      MetricsEnabled: true,
      LoggingLevel: 'ERROR',
      DataTraceEnabled: false,
    },
  ])
  const deployment = tpl('api.yaml').Resources.OrdersApiDeploymentV2!
  t.true(['PostOrderMethod', 'GetOrderMethod'].every((m) => list(deployment.DependsOn).includes(m)))
  t.deepEqual(
    evaluate(deployment.Metadata, tpl('api.yaml'), childValues('api.yaml', { CorsOrigin: 'https://shop.example.com' })),
    { CorsMethods: ['<OrdersOptionsMethod>', '<OrderOptionsMethod>'] },
  )
})

// ---------------------------------------------------------------------------------------------------------------
// Observability

test('the alarm topic is encrypted with a customer-managed key that CloudWatch may use and the account administers', (t) => {
  const o = tpl('observability.yaml')
  t.deepEqual(props(o.Resources.AlarmTopic).KmsMasterKeyId, { Ref: 'AlarmKey' })
  t.is(o.Resources.AlarmKey?.Type, 'AWS::KMS::Key')
  t.is(props(o.Resources.AlarmKey).EnableKeyRotation, true)
  const statements = list<Statement>(obj(deployed('observability.yaml', 'AlarmKey')?.KeyPolicy).Statement)
  const cloudWatch = statements.find((s) => obj(s.Principal).Service === 'cloudwatch.amazonaws.com')
  t.deepEqual(list(cloudWatch?.Action).sort(), ['kms:Decrypt', 'kms:GenerateDataKey*'])
  t.is(cloudWatch?.Effect, 'Allow')
  t.true(statements.some((s) => obj(s.Principal).AWS === 'arn:aws:iam::123456789012:root' && s.Action === 'kms:*'))
  // CloudWatch alarms of this account may publish to the topic.
  const topicPolicy = resourcePolicies().find((p) => p.id === 'AlarmTopicPolicy')
  t.true(
    topicPolicy?.statements.some(
      (s) =>
        s.Effect === 'Allow' && obj(s.Principal).Service === 'cloudwatch.amazonaws.com' && s.Action === 'sns:Publish',
    ),
  )
  // The alerts topic has only account principals publishing: the AWS managed key is enough there.
  t.is(props(tpl('messaging.yaml').Resources.AlertTopic).KmsMasterKeyId, 'alias/aws/sns')
})

test('alarms watch each DLQ, the oldest message of both queues, errors of each function and the reject rate', (t) => {
  const o = tpl('observability.yaml')
  const alarms = resourcesOf(o, 'AWS::CloudWatch::Alarm').map(
    ([id]) => ({ id, ...deployed('observability.yaml', id) }) as Obj,
  )
  const watching = (metric: string) =>
    alarms
      .filter((a) => a.MetricName === metric)
      .map((a) => String(list<Obj>(a.Dimensions)[0]?.Value))
      .sort()
  t.deepEqual(watching('ApproximateNumberOfMessagesVisible'), ['tp-orders-ingest-dlq', 'tp-orders-main-dlq'])
  t.deepEqual(watching('ApproximateAgeOfOldestMessage'), ['tp-orders-ingest', 'tp-orders-main'])
  t.deepEqual(watching('Errors'), ['tp-order-api', 'tp-order-validator', 'tp-order-worker'])
  for (const a of alarms.filter((x) => x.MetricName === 'ApproximateNumberOfMessagesVisible')) {
    t.is(a.Threshold, 0)
    t.is(a.ComparisonOperator, 'GreaterThanThreshold')
  }
  const rejectRate = alarms.find((a) => a.id === 'RejectRateAlarm')
  const queries = list<Obj>(rejectRate?.Metrics)
  const metricOf = (id: string) => obj(obj(queries.find((q) => q.Id === id)?.MetricStat).Metric)
  t.deepEqual(metricOf('processed'), {
    Namespace: 'OrderPipeline',
    MetricName: 'OrdersProcessed',
    Dimensions: [{ Name: 'Stage', Value: 'dev' }],
  })
  t.deepEqual(metricOf('rejected'), {
    Namespace: 'OrderPipeline',
    MetricName: 'OrdersRejected',
    Dimensions: [{ Name: 'Stage', Value: 'dev' }],
  })
  const expression = queries.find((q) => q.ReturnData === true)
  t.regex(String(expression?.Expression), /^rejected \/ \(.*processed.*\+ rejected\)$/)
  t.is(rejectRate?.Threshold, String(main.Parameters?.RejectRateThreshold?.Default))
  const notPublished = alarms.find((a) => a.id === 'MetricsNotPublishedAlarm')
  t.like(notPublished, { Namespace: 'OrderPipeline', MetricName: 'MetricsNotPublished', Threshold: 0 })
  t.is(alarms.length, 9)
  for (const a of alarms) {
    t.deepEqual(a.AlarmActions, ['<AlarmTopic>'], `${String(a.id)}`)
    t.is(a.TreatMissingData, 'notBreaching', `${String(a.id)}`)
  }
})

test('the e-mail subscription exists only when AlarmEmail is given', (t) => {
  t.is(deployed('observability.yaml', 'AlarmEmailSubscription'), undefined)
  t.is(deployed('observability.yaml', 'AlarmEmailDlq'), undefined)
  t.deepEqual(deployed('observability.yaml', 'AlarmEmailSubscription', { AlarmEmail: 'ops@example.com' }), {
    TopicArn: '<AlarmTopic>',
    Protocol: 'email',
    Endpoint: 'ops@example.com',
    RedrivePolicy: { deadLetterTargetArn: '<AlarmEmailDlq.Arn>' },
  })
})

test('every SNS subscription parks what it cannot deliver in a DLQ of its own, which only its topic may send to', (t) => {
  const given = { AlarmEmail: 'ops@example.com', NotificationEmail: 'orders@example.com' }
  const subscriptions = children.flatMap((file) =>
    resourcesOf(tpl(file), 'AWS::SNS::Subscription').map(([id]) => ({ file, id })),
  )
  t.is(subscriptions.length, 2)
  for (const { file, id } of subscriptions) {
    const sub = deployed(file, id, given)!
    const target = /^<(\w+)\.Arn>$/.exec(String(obj(sub.RedrivePolicy).deadLetterTargetArn))?.[1]
    t.truthy(target, `${file} ${id} has a redrive policy`)
    const queue = deployed(file, target!, given)!
    t.is(queue.SqsManagedSseEnabled, true)
    t.is(queue.MessageRetentionPeriod, 14 * 24 * 3600)
    t.is(tpl(file).Resources[target!]?.Condition, tpl(file).Resources[id]?.Condition, 'created with its subscription')
    const policy = resourcesOf(tpl(file), 'AWS::SQS::QueuePolicy')
      .map(([pid]) => deployed(file, pid, given))
      .find((p) => list(p?.Queues).includes(`<${target}>`))
    const statements = list<Statement>(obj(policy?.PolicyDocument).Statement)
    t.like(statements[0], {
      Effect: 'Allow',
      Principal: { Service: 'sns.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Condition: {
        ArnEquals: { 'aws:SourceArn': String(sub.TopicArn) },
        StringEquals: { 'aws:SourceAccount': '123456789012' },
      },
    })
    t.like(statements[1], { Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })
  }
})

test('the dashboard is valid JSON showing outcomes, queue and DLQ depths, function errors and durations, the workflow', (t) => {
  const body = JSON.parse(String(deployed('observability.yaml', 'Dashboard')?.DashboardBody)) as {
    widgets: { properties: { metrics: string[][] } }[]
  }
  const shown = body.widgets.flatMap((w) => w.properties.metrics.map((m) => m.slice(0, 4).join(' ')))
  for (const name of ['OrdersProcessed', 'OrdersRejected', 'OrdersDuplicate', 'OrdersPendingStock', 'OrdersAccepted']) {
    t.true(shown.includes(`OrderPipeline ${name} Stage dev`), `${name}`)
  }
  for (const queue of ['tp-orders-ingest', 'tp-orders-main', 'tp-orders-ingest-dlq', 'tp-orders-main-dlq']) {
    t.true(shown.includes(`AWS/SQS ApproximateNumberOfMessagesVisible QueueName ${queue}`), `${queue}`)
  }
  for (const fn of ['tp-order-api', 'tp-order-validator', 'tp-order-worker']) {
    t.true(shown.includes(`AWS/Lambda Errors FunctionName ${fn}`), `${fn}`)
    t.true(shown.includes(`AWS/Lambda Duration FunctionName ${fn}`), `${fn}`)
  }
  // The order workflow's: its metrics and its state machine's executions.
  for (const name of ['PaymentsSucceeded', 'PaymentsFailed', 'NotificationsSent', 'WorkflowsFailed'])
    t.true(shown.includes(`OrderPipeline ${name} Stage dev`), `${name}`)
  const machine = arn('states', 'stateMachine:tp-order-workflow')
  for (const name of ['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed'])
    t.true(shown.includes(`AWS/States ${name} StateMachineArn ${machine}`), `${name}`)
})

// ---------------------------------------------------------------------------------------------------------------
// Tags and documentation

test("every taggable resource carries the Stage and NamePrefix tags (the KMS key through its stack's tags)", (t) => {
  const taggable = new Set([
    'AWS::CloudFormation::Stack',
    'AWS::DynamoDB::Table',
    'AWS::SQS::Queue',
    'AWS::S3::Bucket',
    'AWS::SNS::Topic',
    'AWS::Lambda::Function',
    'AWS::Lambda::EventSourceMapping',
    'AWS::IAM::Role',
    'AWS::Logs::LogGroup',
    'AWS::ApiGateway::RestApi',
    'AWS::WAFv2::WebACL',
    'AWS::ApiGateway::Stage',
    'AWS::ApiGateway::UsagePlan',
    'AWS::ApiGateway::ApiKey',
    'AWS::CloudWatch::Alarm',
    'AWS::KMS::Key',
    'AWS::CodeCommit::Repository',
    'AWS::CodeBuild::Project',
    'AWS::CodeBuild::ReportGroup',
    'AWS::CodePipeline::Pipeline',
    'AWS::Events::Rule',
    'AWS::Athena::WorkGroup',
    'AWS::StepFunctions::StateMachine',
  ])
  // Every resource type of the templates is either taggable (above) or cannot carry tags.
  const untaggable = new Set([
    'AWS::ApiGateway::Deployment',
    'AWS::ApiGateway::GatewayResponse',
    'AWS::ApiGateway::Method',
    'AWS::ApiGateway::Model',
    'AWS::ApiGateway::RequestValidator',
    'AWS::ApiGateway::Resource',
    'AWS::ApiGateway::UsagePlanKey',
    'AWS::CloudWatch::Dashboard',
    'AWS::KMS::Alias',
    'AWS::IAM::Policy',
    'AWS::Lambda::Permission',
    'AWS::Logs::MetricFilter',
    'AWS::S3::BucketPolicy',
    'AWS::SNS::Subscription',
    'AWS::SNS::TopicPolicy',
    'AWS::SQS::QueuePolicy',
    // No Tags property (the schedule's role and function carry them; the deploy role carries its policy's).
    'AWS::Scheduler::Schedule',
    'AWS::IAM::ManagedPolicy',
    // The data lake's catalog and queries (analytics.yaml): Glue databases and tables, Athena named queries.
    'AWS::Glue::Database',
    'AWS::Glue::Table',
    'AWS::Athena::NamedQuery',
    // The region's API Gateway settings, and the web ACL's association with the stage.
    'AWS::ApiGateway::Account',
    'AWS::WAFv2::WebACLAssociation',
    // The table's auto scaling (TableBillingMode PROVISIONED).
    'AWS::ApplicationAutoScaling::ScalableTarget',
    'AWS::ApplicationAutoScaling::ScalingPolicy',
  ])
  t.deepEqual(
    allResources()
      .map(([, , r]) => r.Type)
      .filter((type) => !taggable.has(type) && !untaggable.has(type)),
    [],
  )
  const untagged = allResources()
    .filter(([, , r]) => taggable.has(r.Type))
    .filter(([, , r]) => {
      const tags = list<Obj>(props(r).Tags)
      return !(
        tags.some((tag) => tag.Key === 'Stage' && obj(tag.Value).Ref === 'Stage') &&
        tags.some((tag) => tag.Key === 'NamePrefix' && obj(tag.Value).Ref === 'NamePrefix')
      )
    })
    .map(([file, id]) => `${file} ${id}`)
  // moto fails on a KMS key's Tags (it expects TagKey/TagValue); the stack's tags (deploy.sh --tags, and the
  // nested stacks' Tags) reach the keys on AWS.
  t.deepEqual(untagged.sort(), ['observability.yaml AlarmKey', 'pipeline.yaml BuildLogKey', 'storage.yaml LogKey'])
})

test('every template says why it is a stack of its own, and every parameter is described', (t) => {
  for (const file of templateFiles) {
    const template = tpl(file)
    t.true((template.Description ?? '').length > 100, `${file}`)
    for (const [name, p] of Object.entries(template.Parameters ?? {}))
      t.truthy((p as { Description?: string }).Description, `${file} ${name}`)
  }
})

test('each function log group counts the "metrics not published" lines into MetricsNotPublished, which an alarm watches', (t) => {
  for (const [fn, file] of [
    ['Api', 'functions.yaml'],
    ['Validator', 'functions.yaml'],
    ['Worker', 'functions.yaml'],
    ['Generator', 'lake.yaml'],
  ] as const) {
    const filter = deployed(file, `${fn}MetricsNotPublishedFilter`)
    t.is(filter?.LogGroupName, `<${fn}LogGroup>`, `${fn}: its own log group`)
    t.is(filter?.FilterPattern, `{ $.msg = "${LOG.METRICS_NOT_PUBLISHED}" }`, `${fn}: the message the functions log`)
    t.like(list<Obj>(filter?.MetricTransformations)[0], {
      MetricNamespace: 'OrderPipeline',
      MetricName: 'MetricsNotPublished',
      MetricValue: '1',
    })
  }
  t.like(deployed('observability.yaml', 'MetricsNotPublishedAlarm'), {
    MetricName: 'MetricsNotPublished',
    ComparisonOperator: 'GreaterThanThreshold',
  })
})

test('IntakePrefixes must not include reports/, where the validator writes each file report', (t) => {
  t.true(rulesAccept(main, valuesOf(main)))
  t.true(rulesAccept(main, valuesOf(main, { IntakePrefixes: 'orders/,raw/,lake/' })))
  t.false(rulesAccept(main, valuesOf(main, { IntakePrefixes: 'orders/,reports/' })))
  const pattern = new RegExp(String(main.Parameters?.IntakePrefixes?.AllowedPattern))
  t.regex('orders/,raw/', pattern)
  for (const bad of ['orders', 'orders/,', 'a/,b/,c/,d/', '/', 'orders/,raw'])
    t.notRegex(bad, pattern, `${bad} is refused`)
})

test('the exporter reads the imported stream, queries the customer index only, writes processed/ only; its mapping takes new PROCESSED orders', (t) => {
  // export.yaml is not a child of main.yaml yet: resolved with its own defaults.
  const exportTpl = tpl('export.yaml')
  const resolved = (id: string, overrides: Values = {}) =>
    resolvedResource(exportTpl, id, valuesOf(exportTpl, overrides))
  const g = grantsOfRole(resolved('ExporterRole'))
  const stream = { 'Fn::ImportValue': 'tp-orders-stream-arn' }
  for (const action of ['dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:DescribeStream'])
    t.deepEqual(g.get(action), [stream as unknown as string], `${action}`)
  t.deepEqual(g.get('dynamodb:Query'), [`${TABLE_ARN}/index/by_customer`])
  t.deepEqual(g.get('s3:PutObject'), [`arn:aws:s3:::${BUCKET}/processed/*`])
  t.deepEqual(g.get('sqs:SendMessage'), ['<ExportDlq.Arn>'])
  t.false(g.has('dynamodb:GetItem') || g.has('dynamodb:PutItem') || g.has('s3:GetObject'))
  const mapping = resolved('ExporterMapping')!
  t.like(mapping, { BisectBatchOnFunctionError: true, StartingPosition: 'TRIM_HORIZON' })
  t.is(resolved('ExporterMapping', { EventSourceMappingsEnabled: 'false' }), undefined, 'left out on the local stack')
  // The filter, read as the local runner reads it (scripts/local/stream-poller.ts): new PROCESSED order records only.
  const pattern = JSON.parse(String(list<Obj>(obj(mapping.FilterCriteria).Filters)[0]?.Pattern)) as never
  const record = (eventName: string, pk: string, status?: string) => ({
    eventName,
    dynamodb: { NewImage: { pk: { S: pk }, ...(status ? { status: { S: status } } : {}) } },
  })
  t.true(matchesPattern(record('INSERT', 'ORDER#O-1', 'PROCESSED'), pattern))
  t.false(matchesPattern(record('MODIFY', 'ORDER#O-1', 'PROCESSED'), pattern))
  t.false(matchesPattern(record('INSERT', 'STOCK#SKU-1'), pattern))
  t.false(matchesPattern(record('INSERT', 'REJECTION#O-1', 'REJECTED'), pattern))
  t.false(matchesPattern(record('INSERT', 'FILE#s3://b/k'), pattern))
})

test('X-Ray traces every function, the API stage and the state machine, and Tracing off turns each off', (t) => {
  const functions = children.flatMap((file) =>
    resourcesOf(tpl(file), 'AWS::Lambda::Function').map(([id]) => ({ file, id })),
  )
  t.true(functions.length >= 7, `${functions.length} functions`)
  for (const { file, id } of functions) {
    t.deepEqual(deployed(file, id)?.TracingConfig, { Mode: 'Active' }, `${file} ${id}`)
    t.deepEqual(deployed(file, id, { Tracing: 'off' })?.TracingConfig, { Mode: 'PassThrough' }, `${file} ${id}`)
  }
  t.is(deployed('api.yaml', 'OrdersApiStage')?.TracingEnabled, true)
  t.is(deployed('api.yaml', 'OrdersApiStage', { Tracing: 'off' })?.TracingEnabled, false)
  t.deepEqual(deployed('workflow.yaml', 'StateMachine')?.TracingConfiguration, { Enabled: true })
  t.deepEqual(deployed('workflow.yaml', 'StateMachine', { Tracing: 'off' })?.TracingConfiguration, { Enabled: false })
  // The root's Tracing reaches every child with a function or the stage.
  for (const child of ['Functions', 'Api', 'Lake', 'Export', 'Workflow'])
    t.deepEqual(obj(props(main.Resources[child]).Parameters).Tracing, { Ref: 'Tracing' }, `${child}`)
})

test('the roles of traced functions may send traces (X-Ray takes no resource ARN), only while Tracing is on', (t) => {
  const roles = (file: string) => resourcesOf(tpl(file), 'AWS::IAM::Role').map(([id]) => id)
  const attached = new Map<string, string[]>()
  for (const file of children)
    for (const [id, policy] of resourcesOf(tpl(file), 'AWS::IAM::Policy')) {
      t.is(policy.Condition, 'TracingOn', `${file} ${id}`)
      for (const reason of Object.values(obj(obj(policy.Metadata).ResourceWildcards)))
        t.regex(String(reason), /no resource-level permissions/, `${file} ${id}`)
      t.is(deployed(file, id, { Tracing: 'off' }), undefined, `${file} ${id} is not created with Tracing off`)
      const p = deployed(file, id)!
      for (const s of list<Statement>(obj(p.PolicyDocument).Statement)) {
        t.deepEqual(list(s.Resource), ['*'])
        t.true(
          list<string>(s.Action).every((a) => /^xray:(PutTraceSegments|PutTelemetryRecords|GetSampling\w+)$/.test(a)),
        )
      }
      for (const role of list<string>(props(policy).Roles).map((r) => String(obj(r).Ref)))
        attached.set(file, [...(attached.get(file) ?? []), role])
    }
  // Every role a function or the state machine runs as, and no other (the schedule's role runs nothing traced).
  for (const file of ['functions.yaml', 'lake.yaml', 'export.yaml', 'workflow.yaml'])
    t.deepEqual(
      (attached.get(file) ?? []).sort(),
      roles(file)
        .filter((r) => r !== 'GeneratorScheduleRole')
        .sort(),
      `${file}`,
    )
})

test('KMS key policies grant a service only with a condition naming this account or its resources; kms:* only to the account', (t) => {
  const keys = templateFiles.flatMap((file) => resourcesOf(tpl(file), 'AWS::KMS::Key').map(([id]) => ({ file, id })))
  t.deepEqual(keys.map(({ file, id }) => `${file} ${id}`).sort(), [
    'observability.yaml AlarmKey',
    'pipeline.yaml BuildLogKey',
    'storage.yaml LogKey',
  ])
  for (const { file, id } of keys) {
    const key = file === 'pipeline.yaml' ? resolvedResource(tpl(file), id, valuesOf(tpl(file))) : deployed(file, id)
    for (const s of list<Statement>(obj(key?.KeyPolicy).Statement)) {
      const principal = obj(s.Principal)
      if (list(s.Action).includes('kms:*'))
        t.deepEqual(principal, { AWS: 'arn:aws:iam::123456789012:root' }, `${file} ${id} ${s.Sid}`)
      if (principal.Service) {
        const keysOfCondition = Object.values(obj(s.Condition)).flatMap((c) => Object.keys(obj(c)))
        t.true(
          keysOfCondition.some((k) =>
            ['aws:SourceAccount', 'aws:SourceArn', 'kms:ViaService', 'kms:EncryptionContext:aws:logs:arn'].includes(k),
          ),
          `${file} ${id} ${s.Sid}: a condition on the caller`,
        )
      }
    }
  }
})

test('the intake bucket expires old versions, and its reports and processed/ files only as the parameters say', (t) => {
  const rules = (values: Values = {}) =>
    list<Obj>(obj(deployed('messaging.yaml', 'IntakeBucket', values)?.LifecycleConfiguration).Rules)
  t.deepEqual(
    rules().map((r) => r.Id),
    ['ExpireNoncurrentVersions', 'AbortIncompleteUploads'],
  )
  t.deepEqual(rules()[0]?.NoncurrentVersionExpiration, { NoncurrentDays: 30 })
  const kept = rules({ ReportRetentionDays: '90', ProcessedRetentionDays: '730' })
  t.like(kept[2], { Id: 'ExpireReports', Status: 'Enabled', Prefix: 'reports/', ExpirationInDays: '90' })
  t.like(kept[3], { Id: 'ExpireProcessed', Status: 'Enabled', Prefix: 'processed/', ExpirationInDays: '730' })
  for (const name of ['ReportRetentionDays', 'ProcessedRetentionDays']) {
    t.like(tpl('messaging.yaml').Parameters?.[name], { Default: 0, MinValue: 0 })
    t.deepEqual(obj(props(main.Resources.Messaging).Parameters)[name], { Ref: name }, `${name}`)
  }
})

// ---------------------------------------------------------------------------------------------------------------
// Security: the log key, the API's logs and web ACL, the buckets' access logs

/** An ArnLike pattern (`*` any run of characters, `?` one) as a test of one ARN. */
const arnLike = (pattern: string, value: string): boolean =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  ).test(value)

test("every log group is encrypted with the log key, whose policy lets CloudWatch Logs use it for this deployment's groups only", (t) => {
  const logKey = { 'Fn::ImportValue': 'tp-order-log-key-arn' }
  const policy = list<Statement>(obj(deployed('storage.yaml', 'LogKey')?.KeyPolicy).Statement)
  const logs = policy.find((s) => obj(s.Principal).Service === 'logs.eu-west-3.amazonaws.com')
  t.deepEqual(list(logs?.Action).sort(), [
    'kms:Decrypt',
    'kms:DescribeKey',
    'kms:Encrypt',
    'kms:GenerateDataKey',
    'kms:GenerateDataKeyWithoutPlaintext',
    'kms:ReEncryptFrom',
    'kms:ReEncryptTo',
  ])
  const patterns = list<string>(obj(obj(logs?.Condition).ArnLike)['kms:EncryptionContext:aws:logs:arn'])
  t.true(patterns.length >= 4)
  const groups = children.flatMap((file) =>
    resourcesOf(tpl(file), 'AWS::Logs::LogGroup').map(([id]) => ({ file, id, group: deployed(file, id)! })),
  )
  t.is(groups.length, 10)
  for (const { file, id, group } of groups) {
    t.deepEqual(group.KmsKeyId, logKey, `${file} ${id}`)
    t.deepEqual(props(tpl(file).Resources[id]).RetentionInDays, { Ref: 'LogRetentionDays' }, `${file} ${id}`)
    // The API's execution log group is named after the API's id, which the test stands for with a made-up one.
    const name = String(group.LogGroupName).replace('<OrdersApi>', 'a1b2c3d4e5')
    t.true(
      patterns.some((p) => arnLike(p, arn('logs', `log-group:${name}`))),
      `${file} ${id}: ${name} is one of the key's log groups`,
    )
  }
  // Not another application's groups, nor another stage's API.
  for (const other of ['/aws/lambda/other-order-api', '/aws/lambda/tpx', 'API-Gateway-Execution-Logs_a1b2c3d4e5/prod'])
    t.false(
      patterns.some((p) => arnLike(p, arn('logs', `log-group:${other}`))),
      `${other} may not use the key`,
    )
  // Every child with a log group passes LogRetentionDays on, 365 by default (Control Tower's year).
  for (const child of ['Functions', 'Api', 'Lake', 'Export', 'Workflow', 'Messaging'])
    t.deepEqual(obj(props(main.Resources[child]).Parameters).LogRetentionDays, { Ref: 'LogRetentionDays' }, `${child}`)
  // The build log, in the pipeline stack, has a key of its own, for the pipeline's build groups only.
  const pipeline = tpl('pipeline.yaml')
  t.deepEqual(props(pipeline.Resources.BuildLogGroup).KmsKeyId, { 'Fn::GetAtt': ['BuildLogKey', 'Arn'] })
  t.is(pipeline.Parameters?.BuildLogRetentionDays?.Default, 365)
  const build = list<Statement>(
    obj(resolvedResource(pipeline, 'BuildLogKey', valuesOf(pipeline))?.KeyPolicy).Statement,
  ).find((s) => obj(s.Principal).Service === 'logs.eu-west-3.amazonaws.com')
  const buildPattern = String(obj(obj(build?.Condition).ArnLike)['kms:EncryptionContext:aws:logs:arn'])
  t.true(arnLike(buildPattern, arn('logs', 'log-group:/aws/codebuild/tp-order-delivery-build')))
  t.false(arnLike(buildPattern, arn('logs', 'log-group:/aws/lambda/tp-order-api')))
})

test('the stage writes a JSON access log line per request (no body, no header) and execution logs at ERROR, without data', (t) => {
  const stage = deployed('api.yaml', 'OrdersApiStage')!
  const access = obj(stage.AccessLogSetting)
  t.is(access.DestinationArn, '<AccessLogGroup.Arn>')
  t.is(deployed('api.yaml', 'AccessLogGroup')?.LogGroupName, '/aws/apigateway/tp-order-api-access')
  t.is(deployed('api.yaml', 'ExecutionLogGroup')?.LogGroupName, 'API-Gateway-Execution-Logs_<OrdersApi>/dev')
  // A valid JSON object once API Gateway fills in its $context variables (each inside quotes).
  const line = JSON.parse(String(access.Format).replace(/\$context\.[A-Za-z.]+/g, 'x')) as Record<string, string>
  t.deepEqual(Object.keys(line), [
    'requestId',
    'requestTime',
    'ip',
    'method',
    'path',
    'resourcePath',
    'status',
    'latencyMs',
    'integrationLatencyMs',
    'responseBytes',
    'apiKeyId',
    'error',
    'integrationError',
  ])
  const variables = [...String(access.Format).matchAll(/\$context\.([A-Za-z.]+)/g)].map((m) => m[1])
  t.true(variables.includes('identity.sourceIp') && variables.includes('identity.apiKeyId'))
  t.false(
    variables.some((v) => /body|header|querystring|requestOverride/i.test(v ?? '')),
    'nothing of the request itself',
  )
  for (const setting of list<Obj>(stage.MethodSettings)) {
    t.is(setting.LoggingLevel, 'ERROR')
    t.is(setting.DataTraceEnabled, false, 'no request or response bodies in the execution logs')
  }
  // The execution log group exists before the stage logs (or API Gateway creates it without retention or key).
  t.deepEqual(list(tpl('api.yaml').Resources.OrdersApiStage?.DependsOn), ['ExecutionLogGroup'])
})

test("ApiLoggingRole 'create' sets the region's API Gateway role to one for this API's log groups; 'existing' leaves it", (t) => {
  const account = deployed('api.yaml', 'ApiGatewayAccount')
  t.deepEqual(account, { CloudWatchRoleArn: '<LoggingRole.Arn>' })
  const role = deployed('api.yaml', 'LoggingRole')!
  t.is(role.RoleName, 'tp-order-api-logging-eu-west-3')
  const trust = list<Statement>(obj(role.AssumeRolePolicyDocument).Statement)[0]
  t.deepEqual(trust?.Principal, { Service: 'apigateway.amazonaws.com' })
  t.deepEqual(trust?.Condition, { StringEquals: { 'aws:SourceAccount': '123456789012' } })
  const g = grants('api.yaml', 'LoggingRole')
  t.deepEqual(g.get('logs:PutLogEvents'), ['<AccessLogGroup.Arn>', '<ExecutionLogGroup.Arn>'])
  // The stage is ordered after the account setting when this stack makes it.
  t.deepEqual(evaluate(tpl('api.yaml').Resources.OrdersApiStage?.Metadata, tpl('api.yaml'), childValues('api.yaml')), {
    LoggingAccount: '<ApiGatewayAccount>',
  })
  const existing = { ApiLoggingRole: 'existing' }
  t.is(deployed('api.yaml', 'ApiGatewayAccount', existing), undefined)
  t.is(deployed('api.yaml', 'LoggingRole', existing), undefined)
  t.deepEqual(
    evaluate(tpl('api.yaml').Resources.OrdersApiStage?.Metadata, tpl('api.yaml'), childValues('api.yaml', existing)),
    {},
  )
  t.deepEqual(obj(props(main.Resources.Api).Parameters).ApiLoggingRole, { Ref: 'ApiLoggingRole' })
})

test("Waf 'auto' puts a web ACL on a stage named prod only; its managed rule groups and rate rule; 'on'/'off' for any", (t) => {
  const acl = (values: Values) => deployed('api.yaml', 'WebAcl', values)
  t.is(acl({}), undefined, 'dev, auto: none')
  t.is(deployed('api.yaml', 'WebAclAssociation'), undefined)
  t.truthy(acl({ Stage: 'prod' }))
  t.truthy(acl({ Waf: 'on' }))
  t.is(acl({ Stage: 'prod', Waf: 'off' }), undefined)
  const web = acl({ Stage: 'prod', WafRateLimit: '500' })!
  t.like(web, { Name: 'tp-order-api', Scope: 'REGIONAL', DefaultAction: { Allow: {} } })
  const rules = list<Obj>(web.Rules)
  t.deepEqual(
    rules.map((r) => [r.Priority, r.Name]),
    [
      [0, 'AWSManagedRulesCommonRuleSet'],
      [1, 'AWSManagedRulesKnownBadInputsRuleSet'],
      [2, 'AWSManagedRulesAmazonIpReputationList'],
      [3, 'RateLimitPerIp'],
    ],
  )
  for (const r of rules.slice(0, 3)) {
    t.like(obj(r.Statement).ManagedRuleGroupStatement, { VendorName: 'AWS', Name: r.Name })
    t.deepEqual(r.OverrideAction, { None: {} }, `${String(r.Name)} blocks as AWS wrote it`)
  }
  // Orders may be 64 KB: the common group's 8 KB body rule counts only.
  t.deepEqual(list(obj(obj(rules[0]?.Statement).ManagedRuleGroupStatement).RuleActionOverrides), [
    { Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } },
  ])
  t.deepEqual(rules[3]?.Action, { Block: {} })
  t.deepEqual(obj(rules[3]?.Statement).RateBasedStatement, {
    Limit: '500',
    EvaluationWindowSec: 300,
    AggregateKeyType: 'IP',
  })
  t.deepEqual(deployed('api.yaml', 'WebAclAssociation', { Stage: 'prod' }), {
    ResourceArn: 'arn:aws:apigateway:eu-west-3::/restapis/<OrdersApi>/stages/<OrdersApiStage>',
    WebACLArn: '<WebAcl.Arn>',
  })
  for (const name of ['Waf', 'WafRateLimit'])
    t.deepEqual(obj(props(main.Resources.Api).Parameters)[name], { Ref: name }, `${name}`)
})

test('AccessLogging on: the intake and results buckets log to the access-log bucket, which only S3 logging for them may write', (t) => {
  const logBucket = deployed('messaging.yaml', 'AccessLogBucket')!
  const name = `tp-orders-logs-123456789012-eu-west-3`
  t.is(logBucket.BucketName, name)
  t.true(name.length <= 63)
  t.deepEqual(
    obj(list<Obj>(obj(logBucket.BucketEncryption).ServerSideEncryptionConfiguration)[0]).ServerSideEncryptionByDefault,
    { SSEAlgorithm: 'AES256' },
    'S3 delivers access logs to SSE-S3 buckets only',
  )
  t.like(list<Obj>(obj(logBucket.LifecycleConfiguration).Rules)[0], { ExpirationInDays: '365' })
  t.like(
    list<Obj>(
      obj(deployed('messaging.yaml', 'AccessLogBucket', { LogRetentionDays: '30' })?.LifecycleConfiguration).Rules,
    )[0],
    {
      ExpirationInDays: '30',
    },
  )
  t.deepEqual(deployed('messaging.yaml', 'IntakeBucket')?.LoggingConfiguration, {
    DestinationBucketName: '<AccessLogBucket>',
    LogFilePrefix: 'intake/',
  })
  t.deepEqual(deployed('analytics.yaml', 'ResultsBucket')?.LoggingConfiguration, {
    DestinationBucketName: name,
    LogFilePrefix: 'results/',
  })
  // The analytics stack deploys after the log bucket exists.
  t.deepEqual(list(main.Resources.Analytics?.DependsOn), ['Messaging'])
  const statements = list<Statement>(obj(deployed('messaging.yaml', 'AccessLogBucketPolicy')?.PolicyDocument).Statement)
  const writers = statements.filter((s) => s.Effect === 'Allow')
  t.deepEqual(
    writers.map((s) => [obj(s.Principal).Service, s.Action, obj(obj(s.Condition).ArnLike)['aws:SourceArn']]),
    [
      ['logging.s3.amazonaws.com', 's3:PutObject', `arn:aws:s3:::${BUCKET}`],
      ['logging.s3.amazonaws.com', 's3:PutObject', 'arn:aws:s3:::tp-orders-results-123456789012-eu-west-3'],
    ],
  )
  for (const s of writers)
    t.deepEqual(obj(s.Condition).StringEquals, { 'aws:SourceAccount': '123456789012' }, `${String(s.Sid)}`)
  t.true(statements.some((s) => s.Sid === 'DenyInsecureTransport' && s.Effect === 'Deny'))
  // Off: no log bucket, no logging.
  const off = { AccessLogging: 'off' }
  t.is(deployed('messaging.yaml', 'AccessLogBucket', off), undefined)
  t.is(deployed('messaging.yaml', 'AccessLogBucketPolicy', off), undefined)
  t.is(deployed('messaging.yaml', 'IntakeBucket', off)?.LoggingConfiguration, undefined)
  t.is(deployed('analytics.yaml', 'ResultsBucket', off)?.LoggingConfiguration, undefined)
  // The artifacts bucket of the pipeline stack, to a log bucket of that stack.
  const pipeline = tpl('pipeline.yaml')
  const artifacts = resolvedResource(pipeline, 'ArtifactsBucket', valuesOf(pipeline))
  t.deepEqual(artifacts?.LoggingConfiguration, {
    DestinationBucketName: '<AccessLogBucket>',
    LogFilePrefix: 'artifacts/',
  })
  t.is(resolvedResource(pipeline, 'AccessLogBucket', valuesOf(pipeline, off)), undefined)
  t.is(resolvedResource(pipeline, 'ArtifactsBucket', valuesOf(pipeline, off))?.LoggingConfiguration, undefined)
})

// ---------------------------------------------------------------------------------------------------------------
// Capacity: concurrency, architecture, the table's billing

test('MaximumConcurrency of the mappings and reserved concurrency of the functions: none by default, set by parameter', (t) => {
  for (const [mapping, param] of [
    ['ValidatorEventSource', 'ValidatorMaxConcurrency'],
    ['WorkerEventSource', 'WorkerMaxConcurrency'],
  ] as const) {
    t.is(deployed('functions.yaml', mapping)?.ScalingConfig, undefined, `${mapping}: no limit by default`)
    t.deepEqual(deployed('functions.yaml', mapping, { [param]: '20' })?.ScalingConfig, { MaximumConcurrency: '20' })
    t.deepEqual(obj(props(main.Resources.Functions).Parameters)[param], { Ref: param }, `${param}`)
  }
  for (const [fn, param] of [
    ['ApiFunction', 'ApiReservedConcurrency'],
    ['ValidatorFunction', 'ValidatorReservedConcurrency'],
    ['WorkerFunction', 'WorkerReservedConcurrency'],
  ] as const) {
    t.is(deployed('functions.yaml', fn)?.ReservedConcurrentExecutions, undefined, `${fn}: none reserved by default`)
    t.is(deployed('functions.yaml', fn, { [param]: '0' })?.ReservedConcurrentExecutions, '0', `${fn}: 0 pauses it`)
    t.is(deployed('functions.yaml', fn, { [param]: '50' })?.ReservedConcurrentExecutions, '50')
    t.deepEqual(obj(props(main.Resources.Functions).Parameters)[param], { Ref: param }, `${param}`)
  }
  // MaximumConcurrency is 2 at least: the root's Rules refuse 1.
  t.false(rulesAccept(main, valuesOf(main, { WorkerMaxConcurrency: '1' })))
  t.false(rulesAccept(main, valuesOf(main, { ValidatorMaxConcurrency: '1' })))
  t.true(rulesAccept(main, valuesOf(main, { WorkerMaxConcurrency: '2', ValidatorMaxConcurrency: '0' })))
})

test('Architecture sets every function (arm64 by default, x86_64 by choice)', (t) => {
  const functions = children.flatMap((file) =>
    resourcesOf(tpl(file), 'AWS::Lambda::Function').map(([id]) => ({ file, id })),
  )
  t.is(functions.length, 7)
  for (const { file, id } of functions) {
    t.deepEqual(deployed(file, id)?.Architectures, ['arm64'], `${file} ${id}`)
    t.deepEqual(deployed(file, id, { Architecture: 'x86_64' })?.Architectures, ['x86_64'], `${file} ${id}`)
  }
})

test('TableBillingMode PROVISIONED: capacity from its minimum, auto scaling of the table and its index to the target', (t) => {
  const table = deployed('storage.yaml', 'OrdersTable')!
  t.is(table.BillingMode, 'PAY_PER_REQUEST')
  t.is(table.ProvisionedThroughput, undefined)
  t.is(deployed('storage.yaml', 'TableWriteScaling'), undefined, 'no auto scaling on demand')
  const values = {
    TableBillingMode: 'PROVISIONED',
    TableReadCapacity: '3-40',
    TableWriteCapacity: '10-400',
    TableTargetUtilization: '60',
  }
  const provisioned = deployed('storage.yaml', 'OrdersTable', values)!
  t.is(provisioned.BillingMode, 'PROVISIONED')
  t.deepEqual(provisioned.ProvisionedThroughput, { ReadCapacityUnits: '3', WriteCapacityUnits: '10' })
  t.deepEqual(obj(list<Obj>(provisioned.GlobalSecondaryIndexes)[0]).ProvisionedThroughput, {
    ReadCapacityUnits: '3',
    WriteCapacityUnits: '10',
  })
  const scaling = resourcesOf(tpl('storage.yaml'), 'AWS::ApplicationAutoScaling::ScalableTarget').map(([id]) =>
    deployed('storage.yaml', id, values),
  )
  t.deepEqual(
    scaling.map((s) => [s?.ScalableDimension, s?.ResourceId, s?.MinCapacity, s?.MaxCapacity]),
    [
      ['dynamodb:table:ReadCapacityUnits', 'table/tp-orders', '3', '40'],
      ['dynamodb:table:WriteCapacityUnits', 'table/tp-orders', '10', '400'],
      ['dynamodb:index:ReadCapacityUnits', 'table/tp-orders/index/by_customer', '3', '40'],
      ['dynamodb:index:WriteCapacityUnits', 'table/tp-orders/index/by_customer', '10', '400'],
    ],
  )
  for (const [id] of resourcesOf(tpl('storage.yaml'), 'AWS::ApplicationAutoScaling::ScalingPolicy')) {
    const policy = deployed('storage.yaml', id, values)!
    const config = obj(policy.TargetTrackingScalingPolicyConfiguration)
    t.is(config.TargetValue, '60', `${id}`)
    const target = String(policy.ScalingTargetId).replace(/[<>]/g, '')
    const dimension = String(deployed('storage.yaml', target, values)?.ScalableDimension)
    t.is(
      obj(config.PredefinedMetricSpecification).PredefinedMetricType,
      dimension.endsWith('ReadCapacityUnits') ? 'DynamoDBReadCapacityUtilization' : 'DynamoDBWriteCapacityUtilization',
      `${id} tracks its own dimension`,
    )
  }
  for (const name of ['TableBillingMode', 'TableReadCapacity', 'TableWriteCapacity', 'TableTargetUtilization'])
    t.deepEqual(obj(props(main.Resources.Storage).Parameters)[name], { Ref: name }, `${name}`)
})

// ---------------------------------------------------------------------------------------------------------------
// QueueType fifo

test('QueueType fifo: the main queue and its DLQ are high-throughput FIFO queues, the ingest queue stays standard', (t) => {
  const fifo = { QueueType: 'fifo' }
  const queue = deployed('messaging.yaml', 'MainQueue', fifo)!
  t.like(queue, {
    QueueName: 'tp-orders-main.fifo',
    FifoQueue: true,
    ContentBasedDeduplication: false,
    DeduplicationScope: 'messageGroup',
    FifoThroughputLimit: 'perMessageGroupId',
  })
  t.like(deployed('messaging.yaml', 'MainDeadLetterQueue', fifo), {
    QueueName: 'tp-orders-main-dlq.fifo',
    FifoQueue: true,
  })
  // S3 cannot notify a FIFO queue.
  for (const id of ['IngestQueue', 'IngestDeadLetterQueue'])
    t.is(deployed('messaging.yaml', id, fifo)?.FifoQueue, undefined, `${id} stays standard`)
  // Standard by default: no FIFO property at all.
  const standard = deployed('messaging.yaml', 'MainQueue')!
  t.is(standard.QueueName, 'tp-orders-main')
  t.false(
    ['FifoQueue', 'ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit'].some((k) => k in standard),
  )
  for (const stack of ['Messaging', 'Functions', 'Observability'])
    t.deepEqual(obj(props(main.Resources[stack]).Parameters).QueueType, { Ref: 'QueueType' }, `${stack}`)
})

test('QueueType fifo: every function, role, mapping, alarm and dashboard names the .fifo queues', (t) => {
  const fifo = { QueueType: 'fifo' }
  const all = (file: string, values: Values) =>
    JSON.stringify(
      Object.keys(tpl(file).Resources).map((id) => resolvedResource(tpl(file), id, childValues(file, values))),
    )
  for (const file of ['functions.yaml', 'observability.yaml']) {
    const text = all(file, fifo)
    // Each mention of the main queue or its DLQ ends in .fifo (alarm names aside, which are not queue names).
    const names = [...text.matchAll(/tp-orders-main(-dlq)?(\.fifo)?(?![-\w.])/g)].map((m) => m[0])
    t.true(names.length > 0, `${file}`)
    t.deepEqual(
      names.filter((n) => !n.endsWith('.fifo')),
      [],
      `${file}: every main queue reference is the FIFO queue`,
    )
    t.notRegex(all(file, {}), /\.fifo/, `${file}: no .fifo by default`)
  }
  t.is(
    obj(obj(deployed('functions.yaml', 'WorkerFunction', fifo)?.Environment).Variables).MAIN_DLQ_URL,
    queueUrl('tp-orders-main-dlq.fifo'),
  )
  t.is(deployed('functions.yaml', 'WorkerEventSource', fifo)?.EventSourceArn, arn('sqs', 'tp-orders-main.fifo'))
})
