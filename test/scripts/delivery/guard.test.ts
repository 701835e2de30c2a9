/**
 * scripts/delivery/guard.ts: cfn-guard with AWS Control Tower's rules over the templates as they deploy. A
 * violation is found and named, a suppression counts only with its reason, parameters and conditions are decided
 * before the scan, and the controls the templates meet today stay met.
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { render, scan, suppressions } from '../../../scripts/delivery/guard.ts'
import { list, loadTemplate, obj, parseTemplate, type Template } from '../../../scripts/stack/template.ts'
import { tempDir } from '../../helpers/fixtures.ts'

const root = new URL('../../../', import.meta.url).pathname

const fn = (metadata?: object) => ({
  Type: 'AWS::Lambda::Function',
  ...(metadata ? { Metadata: metadata } : {}),
  Properties: {
    Handler: 'index.handler',
    Runtime: 'nodejs22.x',
    Role: 'arn:aws:iam::123456789012:role/r',
    Code: { ZipFile: 'x' },
  },
})

test('a function outside a VPC is a finding that names the resource, the rule and the control', (t) => {
  const findings = scan([{ name: 'bad', template: { Resources: { Fn: fn() } } as unknown as Template }])
  const vpc = findings.find((f) => f.rule === 'lambda_inside_vpc_check')
  t.like(vpc, { template: 'bad', resource: 'Fn', suppressed: undefined })
  t.regex(vpc?.control ?? '', /^\[CT\.LAMBDA\.PR\.3\]: Require an AWS Lambda function to be in a customer-managed/)
})

test('a suppression counts only with its reason', (t) => {
  const reason = {
    guard: { SuppressedRules: ['lambda_inside_vpc_check'], Reasons: { lambda_inside_vpc_check: 'no VPC' } },
  }
  const bare = { guard: { SuppressedRules: ['lambda_inside_vpc_check'] } }
  const findings = scan([
    { name: 'waivers', template: { Resources: { Reasoned: fn(reason), Bare: fn(bare) } } as unknown as Template },
  ]).filter((f) => f.rule === 'lambda_inside_vpc_check')
  t.is(findings.find((f) => f.resource === 'Reasoned')?.suppressed, 'no VPC')
  t.is(findings.find((f) => f.resource === 'Bare')?.suppressed, undefined)
  t.deepEqual(
    [...suppressions({ guard: { SuppressedRules: ['a', 'b'], Reasons: { a: ' why ', b: '  ' } } })],
    [['a', 'why']],
  )
})

test('templates are scanned as they deploy: parameters at their defaults, conditions decided, references kept', (t) => {
  const template = parseTemplate<Template>(`
Parameters:
  Days: { Type: Number, Default: 30 }
  Extra: { Type: String, Default: 'no' }
Conditions:
  WithExtra: !Equals [!Ref Extra, 'yes']
Resources:
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      RetentionInDays: !Ref Days
      LogGroupName: !Sub /aws/lambda/\${AWS::Region}-x
  Queue:
    Type: AWS::SQS::Queue
    Condition: WithExtra
  Policy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Bucket
      PolicyDocument: { Statement: [{ Resource: [!GetAtt Bucket.Arn, !Sub '\${Bucket.Arn}/*'] }] }
  Bucket:
    Type: AWS::S3::Bucket
`)
  const rendered = render(template)
  t.deepEqual(Object.keys(rendered.Resources).sort(), ['Bucket', 'Logs', 'Policy'])
  // A number parameter is a number to the rules (RetentionInDays >= 365 compares numbers), as it is to CloudFormation.
  t.like(rendered.Resources.Logs?.Properties, { RetentionInDays: 30, LogGroupName: '/aws/lambda/eu-west-3-x' })
  t.deepEqual(rendered.Resources.Policy?.Properties, {
    Bucket: { Ref: 'Bucket' },
    PolicyDocument: {
      Statement: [
        {
          Resource: [
            { 'Fn::GetAtt': ['Bucket', 'Arn'] },
            { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Bucket', 'Arn'] }, '/*']] },
          ],
        },
      ],
    },
  })
  t.deepEqual(Object.keys(render(template, { Extra: 'yes' }).Resources).sort(), ['Bucket', 'Logs', 'Policy', 'Queue'])
})

test('npm run guard exits 1 on a template with a violation, naming it, and 0 on one without', (t) => {
  const dir = tempDir(t, 'guard-')
  writeFileSync(join(dir, 'bad.yaml'), JSON.stringify({ Resources: { Fn: fn() } }))
  writeFileSync(
    join(dir, 'good.yaml'),
    JSON.stringify({ Resources: { Topic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'x' } } } }),
  )
  const run = (file: string) =>
    spawnSync('npx', ['tsx', 'scripts/delivery/guard.ts', join(dir, file)], { cwd: root, encoding: 'utf8' })
  const bad = run('bad.yaml')
  const good = run('good.yaml')
  t.is(bad.status, 1)
  t.regex(bad.stdout, /FAIL {2}bad\.yaml Fn {2}lambda_inside_vpc_check/)
  t.is(good.status, 0, `${good.stdout}${good.stderr}`)
  t.regex(good.stdout, /1 template: 0 failures/)
})

test('the controls the templates meet stay met: tracing, state machine logging, function policies, KMS grants, TLS-only buckets', (t) => {
  const files = [
    'api.yaml',
    'functions.yaml',
    'lake.yaml',
    'export.yaml',
    'workflow.yaml',
    'observability.yaml',
    'messaging.yaml',
    'analytics.yaml',
    'pipeline.yaml',
  ]
  const findings = scan(
    files.map((f) => ({ name: f, template: render(loadTemplate(join(root, 'cloudformation', f))) })),
  )
  const met = [
    'api_gw_xray_enabled_check',
    'step_functions_state_machine_tracing_enabled_check',
    'step_functions_state_machine_logging_enabled_check',
    'lambda_function_public_access_prohibited_check',
    'kms_create_grant_aws_service_check',
    's3_bucket_policy_ssl_requests_only_check',
  ]
  t.deepEqual(
    findings.filter((f) => met.includes(f.rule)).map((f) => `${f.template} ${f.resource} ${f.rule}`),
    [],
  )
  t.true(findings.length > 0, 'the scan ran and found what is still open')
})

test('every suppression in the templates has its reason and silences a rule the resource really breaks', (t) => {
  const dir = join(root, 'cloudformation')
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'))
  // The optional e-mails given, so that the resources they bring are scanned too.
  const given = { AlarmEmail: 'ops@example.com', NotificationEmail: 'orders@example.com' }
  const templates = files.map((f) => ({ name: f, raw: loadTemplate(join(dir, f)) }))
  const findings = scan(templates.map(({ name, raw }) => ({ name, template: render(raw, given) })))
  const declared = templates.flatMap(({ name, raw }) =>
    Object.entries(raw.Resources).flatMap(([id, r]) =>
      list<string>(obj(obj(r.Metadata).guard).SuppressedRules).map((rule) => ({
        name,
        id,
        rule,
        metadata: r.Metadata,
      })),
    ),
  )
  t.true(declared.length >= 16, `${declared.length} suppressions`)
  for (const { name, id, rule, metadata } of declared) {
    t.true((suppressions(metadata).get(rule)?.length ?? 0) > 20, `${name} ${id} ${rule}: a reason`)
    t.truthy(
      findings.find((f) => f.template === name && f.resource === id && f.rule === rule && f.suppressed),
      `${name} ${id} ${rule}: the scan finds it, suppressed`,
    )
  }
})
