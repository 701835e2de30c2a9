/**
 * The delivery pipeline (cloudformation/pipeline.yaml), read as data: what cfn-lint does not check and moto does
 * not enforce (moto creates the bucket, roles, log group and rule, skips CodeCommit, CodeBuild and CodePipeline, and
 * ignores IAM): the event-driven source, the CodeConnections alternative, the build role's reach, the deploy
 * action, the approval, the artifacts bucket, and a deploy role that covers what the application stacks create.
 * Then the template deployed to a moto server of this file's own with scripts/deploy.sh --pipeline.
 */
import test from 'ava'
import { execFile } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { loadTemplate } from '../../scripts/stack/template.ts'
import { configurationFileName } from '../../scripts/delivery/template-config.ts'
import {
  grantsOfRole,
  list,
  obj,
  resolvedResource,
  resourcesOf,
  rulesAccept,
  valuesOf,
  type Obj,
  type Statement,
  type Template,
  type Values,
} from '../helpers/cfn.ts'
import { startMoto, type Moto } from '../helpers/moto.ts'

const root = new URL('../../', import.meta.url).pathname
const FILE = join(root, 'cloudformation/pipeline.yaml')
const pipeline = loadTemplate(FILE) as unknown as Template
const application = [
  'main.yaml',
  'storage.yaml',
  'messaging.yaml',
  'functions.yaml',
  'api.yaml',
  'observability.yaml',
  'lake.yaml',
  'export.yaml',
  'analytics.yaml',
  'workflow.yaml',
].map((f) => [f, loadTemplate(join(root, 'cloudformation', f)) as unknown as Template] as const)
const main = application[0]![1]

const CONNECTION = 'arn:aws:codeconnections:eu-west-3:123456789012:connection/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b'
const WITH_CONNECTION: Values = {
  SourceProvider: 'CodeConnections',
  ConnectionArn: CONNECTION,
  FullRepositoryId: 'my-org/order-pipeline',
}
const ACCOUNT = '123456789012'
const arn = (service: string, resource: string): string => `arn:aws:${service}:eu-west-3:${ACCOUNT}:${resource}`
const BUCKET = `tp-delivery-${ACCOUNT}-eu-west-3`
const PIPELINE_ARN = arn('codepipeline', 'tp-order-delivery')

/** A pipeline.yaml resource with the template's defaults plus `overrides`; undefined when conditioned out. */
const deployed = (logicalId: string, overrides: Values = {}): Obj | undefined =>
  resolvedResource(pipeline, logicalId, valuesOf(pipeline, overrides))
/** A role with its inline policies and the managed policies of this template attached to it (their Roles). */
const withManaged = (roleId: string, overrides: Values = {}): Obj | undefined => {
  const role = deployed(roleId, overrides)
  const managed = resourcesOf(pipeline, 'AWS::IAM::ManagedPolicy')
    .filter(([, r]) => list<Obj>(r.Properties?.Roles).some((ref) => obj(ref).Ref === roleId))
    .map(([id]) => ({ PolicyName: id, PolicyDocument: deployed(id, overrides)?.PolicyDocument }))
  return role && { ...role, Policies: [...list<Obj>(role.Policies), ...managed] }
}
const grants = (roleId: string, overrides: Values = {}): Map<string, string[]> =>
  grantsOfRole(withManaged(roleId, overrides))
const statementsOf = (roleId: string, overrides: Values = {}): Statement[] =>
  list<Obj>(withManaged(roleId, overrides)?.Policies).flatMap((p) => list<Statement>(obj(p.PolicyDocument).Statement))
const stages = (overrides: Values = {}): Obj[] => list<Obj>(deployed('Pipeline', overrides)?.Stages)
const action = (stage: string, overrides: Values = {}): Obj =>
  obj(list<Obj>(stages(overrides).find((s) => s.Name === stage)?.Actions)[0])

/** Does an IAM resource pattern (`*` and `?` wildcards) match an ARN? */
const iamMatches = (pattern: string, value: string): boolean =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  ).test(value)
const covered = (resources: string[] | undefined, value: string): boolean =>
  (resources ?? []).some((p) => iamMatches(p, value))

// The moto server of the deploy tests at the end of this file.
let moto: Moto | undefined
test.before(async () => {
  moto = await startMoto()
})
test.after.always(() => moto?.stop())

// ---------------------------------------------------------------------------------------------------------------
// Source

test('the CodeCommit source does not poll: an EventBridge rule on pushes to the branch starts this pipeline', (t) => {
  const source = action('Source')
  t.deepEqual(source.ActionTypeId, { Category: 'Source', Owner: 'AWS', Provider: 'CodeCommit', Version: '1' })
  t.like(source.Configuration, { RepositoryName: 'tp-order-pipeline', BranchName: 'main', PollForSourceChanges: false })
  t.is(obj(source.Configuration).PollForSourceChanges, false, 'a real boolean false, not the string')
  const rule = deployed('SourceTrigger')
  t.deepEqual(rule?.EventPattern, {
    source: ['aws.codecommit'],
    'detail-type': ['CodeCommit Repository State Change'],
    resources: [arn('codecommit', 'tp-order-pipeline')],
    detail: { event: ['referenceCreated', 'referenceUpdated'], referenceType: ['branch'], referenceName: ['main'] },
  })
  t.is(rule?.State, 'ENABLED')
  t.deepEqual(rule?.Targets, [{ Id: 'pipeline', Arn: PIPELINE_ARN, RoleArn: '<SourceTriggerRole.Arn>' }])
  t.is(arn('codepipeline', String(deployed('Pipeline')?.Name)), PIPELINE_ARN, 'the target is this pipeline')
  // The rule's role may start this pipeline and do nothing else; EventBridge assumes it.
  t.deepEqual([...grants('SourceTriggerRole')], [['codepipeline:StartPipelineExecution', [PIPELINE_ARN]]])
  t.deepEqual(
    obj(list<Statement>(obj(deployed('SourceTriggerRole')?.AssumeRolePolicyDocument).Statement)[0]?.Principal),
    { Service: 'events.amazonaws.com' },
  )
  // The repository is created by default, and kept when the stack goes.
  t.is(deployed('Repository')?.RepositoryName, 'tp-order-pipeline')
  t.is(pipeline.Resources.Repository?.DeletionPolicy, 'Retain')
})

test('an existing repository and another branch: nothing created, the rule and the action follow them', (t) => {
  const overrides = { RepositoryName: 'shared-repo', BranchName: 'release/prod' }
  t.is(deployed('Repository', overrides), undefined)
  t.like(action('Source', overrides).Configuration, { RepositoryName: 'shared-repo', BranchName: 'release/prod' })
  const pattern = obj(deployed('SourceTrigger', overrides)?.EventPattern)
  t.deepEqual(pattern.resources, [arn('codecommit', 'shared-repo')])
  t.deepEqual(obj(pattern.detail).referenceName, ['release/prod'])
  t.deepEqual(grants('PipelineRole', overrides).get('codecommit:GetBranch'), [arn('codecommit', 'shared-repo')])
})

test('with CodeConnections the source is a connection action, with no CodeCommit resources or grants', (t) => {
  const source = action('Source', WITH_CONNECTION)
  t.deepEqual(source.ActionTypeId, {
    Category: 'Source',
    Owner: 'AWS',
    Provider: 'CodeStarSourceConnection',
    Version: '1',
  })
  t.deepEqual(source.Configuration, {
    ConnectionArn: CONNECTION,
    FullRepositoryId: 'my-org/order-pipeline',
    BranchName: 'main',
    DetectChanges: true,
    OutputArtifactFormat: 'CODE_ZIP',
  })
  for (const id of ['Repository', 'SourceTrigger', 'SourceTriggerRole'])
    t.is(deployed(id, WITH_CONNECTION), undefined, `${id}`)
  const g = grants('PipelineRole', WITH_CONNECTION)
  t.deepEqual(g.get('codeconnections:UseConnection'), [CONNECTION])
  t.deepEqual(g.get('codestar-connections:UseConnection'), [CONNECTION])
  t.false([...g.keys()].some((a) => a.startsWith('codecommit:')))
  t.false(
    [...grants('PipelineRole').keys()].some((a) => a.includes('connections:')),
    'CodeCommit pipelines get no connection grant',
  )
  // The Rules refuse an incomplete connection, and a CodeCommit repository name beside it.
  const accepts = (overrides: Values) => rulesAccept(pipeline, valuesOf(pipeline, overrides))
  t.true(accepts({}))
  t.true(accepts(WITH_CONNECTION))
  t.false(accepts({ ...WITH_CONNECTION, ConnectionArn: '' }))
  t.false(accepts({ ...WITH_CONNECTION, FullRepositoryId: '' }))
  t.false(accepts({ ...WITH_CONNECTION, RepositoryName: 'tp-order-pipeline' }))
  t.regex(CONNECTION, new RegExp(String(pipeline.Parameters?.ConnectionArn?.AllowedPattern)))
  t.regex(
    CONNECTION.replace('codeconnections', 'codestar-connections'),
    new RegExp(String(pipeline.Parameters?.ConnectionArn?.AllowedPattern)),
  )
})

// ---------------------------------------------------------------------------------------------------------------
// Build

test('the build role reaches only the artifacts bucket, its own log group and its own test report group', (t) => {
  const g = grants('BuildRole')
  t.deepEqual([...g.keys()].sort(), [
    'codebuild:BatchPutTestCases',
    'codebuild:CreateReport',
    'codebuild:CreateReportGroup',
    'codebuild:UpdateReport',
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    's3:GetBucketAcl',
    's3:GetBucketLocation',
    's3:GetObject',
    's3:GetObjectVersion',
    's3:ListBucket',
    's3:PutObject',
  ])
  for (const [action, resources] of g) {
    if (action.startsWith('s3:'))
      t.true(
        resources.every((r) => r === '<ArtifactsBucket.Arn>' || r === '<ArtifactsBucket.Arn>/*'),
        `${action} ${resources.join()}`,
      )
    if (action.startsWith('logs:')) t.deepEqual(resources, ['<BuildLogGroup.Arn>'], `${action}`)
    if (action.startsWith('codebuild:'))
      t.deepEqual(
        resources,
        [arn('codebuild', `report-group/${String(deployed('TestReportGroup')?.Name)}`)],
        `${action}`,
      )
  }
  t.false(statementsOf('BuildRole').some((s) => list(s.Resource).includes('*')))
  t.deepEqual(obj(list<Statement>(obj(deployed('BuildRole')?.AssumeRolePolicyDocument).Statement)[0]?.Principal), {
    Service: 'codebuild.amazonaws.com',
  })
})

test('the build runs buildspec.yml on Node.js 22 with the bucket, stage and prefix, logging to its group', (t) => {
  const project = deployed('BuildProject')!
  t.is(project.Name, 'tp-order-delivery-build')
  t.is(project.ServiceRole, '<BuildRole.Arn>')
  t.deepEqual(project.Source, { Type: 'CODEPIPELINE', BuildSpec: 'buildspec.yml' })
  t.deepEqual(project.Artifacts, { Type: 'CODEPIPELINE' })
  const environment = obj(project.Environment)
  t.is(environment.Image, 'aws/codebuild/standard:7.0')
  t.deepEqual(
    list<Obj>(environment.EnvironmentVariables).map((v) => [v.Name, v.Value]),
    [
      ['ARTIFACTS_BUCKET', '<ArtifactsBucket>'],
      ['STAGE', 'dev'],
      ['NAME_PREFIX', 'tp'],
    ],
  )
  t.deepEqual(project.Cache, { Type: 'S3', Location: '<ArtifactsBucket>/codebuild-cache' })
  t.deepEqual(obj(project.LogsConfig).CloudWatchLogs, { Status: 'ENABLED', GroupName: '<BuildLogGroup>' })
  t.is(deployed('BuildLogGroup')?.LogGroupName, '/aws/codebuild/tp-order-delivery-build')
  // CodeBuild names a buildspec report group "<project>-<key>": the group created here is the one the build fills.
  t.is(deployed('TestReportGroup')?.Name, `${String(project.Name)}-ava`)
  t.like(action('Build').ActionTypeId, { Category: 'Build', Provider: 'CodeBuild' })
  t.deepEqual(action('Build').Configuration, { ProjectName: '<BuildProject>' })
})

// ---------------------------------------------------------------------------------------------------------------
// Deploy and approval

test('the deploy action creates or updates the application stack from the build output, under the deploy role', (t) => {
  const deploy = action('Deploy')
  t.deepEqual(deploy.ActionTypeId, { Category: 'Deploy', Owner: 'AWS', Provider: 'CloudFormation', Version: '1' })
  t.deepEqual(deploy.Configuration, {
    ActionMode: 'CREATE_UPDATE',
    StackName: 'tp-order-pipeline',
    TemplatePath: 'BuildOutput::packaged.yaml',
    TemplateConfiguration: `BuildOutput::${configurationFileName('dev')}`,
    Capabilities: 'CAPABILITY_IAM,CAPABILITY_NAMED_IAM,CAPABILITY_AUTO_EXPAND',
    RoleArn: '<DeployRole.Arn>',
  })
  t.deepEqual(deploy.InputArtifacts, action('Build').OutputArtifacts)
  t.deepEqual(action('Build').InputArtifacts, action('Source').OutputArtifacts)
  t.like(action('Deploy', { Stage: 'prod', ApplicationStackName: 'orders-prod' }).Configuration, {
    StackName: 'orders-prod',
    TemplateConfiguration: `BuildOutput::${configurationFileName('prod')}`,
  })
  // The pipeline may start CloudFormation on the application stack only, and hand it the deploy role only.
  const g = grants('PipelineRole')
  for (const [name, resources] of g)
    if (name.startsWith('cloudformation:'))
      t.deepEqual(resources, [arn('cloudformation', 'stack/tp-order-pipeline/*')], `${name}`)
  t.deepEqual(g.get('iam:PassRole'), ['<DeployRole.Arn>'])
  t.deepEqual(statementsOf('PipelineRole').find((s) => s.Sid === 'PassDeployRole')?.Condition, {
    StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' },
  })
  t.deepEqual(g.get('codebuild:StartBuild'), [arn('codebuild', `project/${String(deployed('BuildProject')?.Name)}`)])
  t.false(g.has('cloudformation:DeleteStack'), 'CREATE_UPDATE never deletes the application stack')
})

test('the manual approval sits between the build and the deploy only when RequireApproval is true', (t) => {
  t.deepEqual(
    stages().map((s) => s.Name),
    ['Source', 'Build', 'Deploy'],
  )
  t.deepEqual(
    stages({ RequireApproval: 'true' }).map((s) => s.Name),
    ['Source', 'Build', 'Approve', 'Deploy'],
  )
  const approve = action('Approve', { RequireApproval: 'true' })
  t.deepEqual(approve.ActionTypeId, { Category: 'Approval', Owner: 'AWS', Provider: 'Manual', Version: '1' })
  t.regex(String(obj(approve.Configuration).CustomData), /dev .*tp-order-pipeline/)
  t.is(pipeline.Parameters?.RequireApproval?.Default, 'false')
  t.deepEqual(pipeline.Parameters?.RequireApproval?.AllowedValues, ['true', 'false'])
})

// ---------------------------------------------------------------------------------------------------------------
// Artifacts bucket

test('the artifacts bucket is encrypted, versioned, private, TLS-only, expires old artifacts, and is retained', (t) => {
  const bucket = pipeline.Resources.ArtifactsBucket!
  const p = deployed('ArtifactsBucket')!
  t.is(p.BucketName, BUCKET)
  t.deepEqual(obj(p.BucketEncryption).ServerSideEncryptionConfiguration, [
    { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
  ])
  t.deepEqual(p.VersioningConfiguration, { Status: 'Enabled' })
  t.deepEqual(p.PublicAccessBlockConfiguration, {
    BlockPublicAcls: true,
    BlockPublicPolicy: true,
    IgnorePublicAcls: true,
    RestrictPublicBuckets: true,
  })
  t.deepEqual(obj(p.OwnershipControls).Rules, [{ ObjectOwnership: 'BucketOwnerEnforced' }])
  t.deepEqual(obj(p.LifecycleConfiguration).Rules, [
    {
      Id: 'ExpireOldArtifacts',
      Status: 'Enabled',
      ExpirationInDays: '365',
      NoncurrentVersionExpiration: { NoncurrentDays: 30 },
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
    },
  ])
  t.is(bucket.DeletionPolicy, 'Retain')
  t.is(bucket.UpdateReplacePolicy, 'Retain')
  const policy = deployed('ArtifactsBucketPolicy')!
  t.is(policy.Bucket, '<ArtifactsBucket>')
  t.deepEqual(list<Statement>(obj(policy.PolicyDocument).Statement), [
    {
      Sid: 'DenyInsecureTransport',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: ['<ArtifactsBucket.Arn>', '<ArtifactsBucket.Arn>/*'],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
  ])
  t.deepEqual(deployed('Pipeline')?.ArtifactStore, { Type: 'S3', Location: '<ArtifactsBucket>' })
  t.deepEqual(list(pipeline.Resources.Pipeline?.DependsOn), ['ArtifactsBucketPolicy'])
  // --force-upload in the build keeps what a deployed stack references younger than the expiry.
  t.regex(readFileSync(join(root, 'buildspec.yml'), 'utf8'), /scripts\/delivery\/package\.sh [^\n]*--force-upload/)
})

// ---------------------------------------------------------------------------------------------------------------
// Deploy role

/** Which deploy role statement grants each resource type of the application templates. */
const DEPLOY_STATEMENT_FOR: Record<string, string[]> = {
  'AWS::CloudFormation::Stack': ['NestedStacks', 'PassSelfToNestedStacks', 'ReadPackages'],
  'AWS::DynamoDB::Table': ['OrdersTable'],
  'AWS::SQS::Queue': ['Queues'],
  'AWS::SQS::QueuePolicy': ['Queues'],
  'AWS::S3::Bucket': ['IntakeBucket', 'ResultsBucket', 'AccessLogBucket', 'BucketLogging'],
  'AWS::S3::BucketPolicy': ['IntakeBucket', 'ResultsBucket'],
  'AWS::SNS::Topic': ['Topics', 'CustomerTopic'],
  'AWS::SNS::TopicPolicy': ['Topics'],
  'AWS::SNS::Subscription': ['Topics'],
  'AWS::IAM::Policy': ['FunctionRoles', 'LakeRoles', 'WorkflowRoles'],
  'AWS::IAM::Role': [
    'ApiLoggingRole',
    'FunctionRoles',
    'PassFunctionRolesToLambda',
    'LakeRoles',
    'PassGeneratorRoleToLambda',
    'PassScheduleRoleToScheduler',
  ],
  'AWS::Lambda::Function': ['Functions', 'GeneratorFunction', 'ReadPackages'],
  'AWS::Lambda::Permission': ['Functions'],
  'AWS::Lambda::EventSourceMapping': [
    'CreateEventSourceMappings',
    'ReadEventSourceMappings',
    'ChangeEventSourceMappings',
    'TagEventSourceMappings',
  ],
  'AWS::Logs::LogGroup': ['FunctionLogGroups', 'GeneratorLogGroup', 'ListLogGroups', 'ApiLogGroups', 'LogGroupKeys'],
  'AWS::Logs::MetricFilter': ['FunctionLogGroups', 'GeneratorLogGroup'],
  'AWS::Scheduler::Schedule': ['GeneratorSchedule', 'PassScheduleRoleToScheduler'],
  'AWS::ApiGateway::RestApi': ['RestApi'],
  'AWS::ApiGateway::Resource': ['RestApi'],
  'AWS::ApiGateway::Method': ['RestApi'],
  'AWS::ApiGateway::Model': ['RestApi'],
  'AWS::ApiGateway::RequestValidator': ['RestApi'],
  'AWS::ApiGateway::GatewayResponse': ['RestApi'],
  'AWS::ApiGateway::Deployment': ['RestApi'],
  'AWS::ApiGateway::Stage': ['RestApi'],
  'AWS::ApiGateway::UsagePlan': ['RestApi'],
  'AWS::ApiGateway::ApiKey': ['RestApi'],
  'AWS::ApiGateway::UsagePlanKey': ['RestApi'],
  'AWS::CloudWatch::Alarm': ['Alarms'],
  'AWS::CloudWatch::Dashboard': ['Dashboard'],
  'AWS::KMS::Key': ['CreateAlarmKey', 'ManageAlarmKey'],
  'AWS::KMS::Alias': ['AlarmKeyAlias', 'LogKeyAlias', 'ManageAlarmKey'],
  'AWS::Glue::Database': ['Catalog'],
  'AWS::Glue::Table': ['Catalog'],
  'AWS::Athena::WorkGroup': ['WorkGroup'],
  'AWS::Athena::NamedQuery': ['WorkGroup'],
  'AWS::StepFunctions::StateMachine': ['StateMachine', 'PassStateMachineRole', 'StateMachineLogDelivery'],
  'AWS::ApiGateway::Account': ['ApiGatewayAccount', 'PassApiLoggingRole'],
  'AWS::WAFv2::WebACL': ['WebAcl'],
  'AWS::ApplicationAutoScaling::ScalableTarget': ['TableAutoScaling', 'AutoScalingServiceRole'],
  'AWS::ApplicationAutoScaling::ScalingPolicy': ['TableAutoScaling'],
  'AWS::WAFv2::WebACLAssociation': ['WebAcl', 'WebAclAssociation'],
}

test('the deploy role has a statement for every resource type the application stacks create', (t) => {
  const sids = new Set(statementsOf('DeployRole').map((s) => s.Sid))
  const types = new Set(application.flatMap(([, tpl]) => Object.values(tpl.Resources).map((r) => r.Type)))
  for (const type of types) {
    t.truthy(
      DEPLOY_STATEMENT_FOR[type],
      `${type} is created by the application stacks: grant the deploy role what it needs, and list it here`,
    )
    for (const sid of DEPLOY_STATEMENT_FOR[type] ?? []) t.true(sids.has(sid), `${type}: statement ${sid}`)
  }
  t.deepEqual(obj(list<Statement>(obj(deployed('DeployRole')?.AssumeRolePolicyDocument).Statement)[0]?.Principal), {
    Service: 'cloudformation.amazonaws.com',
  })
})

test("the deploy role acts on the application's own names: stacks, table, queues, bucket, topics, roles, functions, logs, alarms", (t) => {
  const g = grants('DeployRole')
  const child = (file: string) => application.find(([f]) => f === file)![1]
  const names = (file: string, type: string, property: string): string[] =>
    resourcesOf(child(file), type).map(([id]) =>
      // With the optional e-mails given, so that the resources they bring are named too.
      String(
        resolvedResource(
          child(file),
          id,
          valuesOf(child(file), {
            ...(child(file).Parameters?.AlarmEmail ? { AlarmEmail: 'ops@example.com' } : {}),
            ...(child(file).Parameters?.NotificationEmail ? { NotificationEmail: 'orders@example.com' } : {}),
          }),
        )?.[property],
      ),
    )
  // The root stack and each nested stack (named <root>-<LogicalId>-<random> by CloudFormation), and not the pipeline's stack.
  const stacks = g.get('cloudformation:CreateStack') ?? []
  for (const id of Object.keys(main.Resources))
    t.true(
      covered(stacks, arn('cloudformation', `stack/tp-order-pipeline-${id}-1A2B3C4D5E6F/0f1e2d3c`)),
      `nested stack ${id}`,
    )
  t.true(covered(stacks, arn('cloudformation', 'stack/tp-order-pipeline/0f1e2d3c')))
  t.false(
    covered(stacks, arn('cloudformation', 'stack/tp-order-pipeline-delivery/0f1e2d3c')),
    'the pipeline stack is out of reach',
  )
  t.deepEqual(
    g.get('s3:GetObject'),
    ['<ArtifactsBucket.Arn>/packages/*'],
    'the packages only (scripts/delivery/package.sh --s3-prefix packages)',
  )
  // What the children name, resolved with the defaults (NamePrefix tp on both sides).
  for (const table of names('storage.yaml', 'AWS::DynamoDB::Table', 'TableName'))
    t.true(covered(g.get('dynamodb:CreateTable'), arn('dynamodb', `table/${table}`)), `${table}`)
  t.false(g.has('dynamodb:DeleteTable'), 'the table is retained: the deploy role cannot delete it')
  for (const queue of names('messaging.yaml', 'AWS::SQS::Queue', 'QueueName'))
    t.true(covered(g.get('sqs:CreateQueue'), arn('sqs', queue)), `${queue}`)
  for (const bucket of names('messaging.yaml', 'AWS::S3::Bucket', 'BucketName'))
    t.true(covered(g.get('s3:CreateBucket'), `arn:aws:s3:::${bucket}`), `${bucket}`)
  const intake = `tp-orders-intake-${ACCOUNT}-eu-west-3`
  t.true(covered(g.get('s3:PutBucketNotification'), `arn:aws:s3:::${intake}`))
  for (const bucket of [intake, `tp-orders-results-${ACCOUNT}-eu-west-3`])
    t.true(covered(g.get('s3:PutBucketLogging'), `arn:aws:s3:::${bucket}`), `${bucket} logs its access`)
  for (const topic of [
    ...names('messaging.yaml', 'AWS::SNS::Topic', 'TopicName'),
    ...names('observability.yaml', 'AWS::SNS::Topic', 'TopicName'),
  ]) {
    t.true(covered(g.get('sns:CreateTopic'), arn('sns', topic)), `${topic}`)
  }
  const roles = [
    ...names('functions.yaml', 'AWS::IAM::Role', 'RoleName'),
    ...names('lake.yaml', 'AWS::IAM::Role', 'RoleName'),
  ]
  t.is(roles.length, 5)
  for (const role of roles) {
    t.true(covered(g.get('iam:PutRolePolicy'), `arn:aws:iam::${ACCOUNT}:role/${role}`), `${role}`)
    t.true(covered(g.get('iam:PassRole'), `arn:aws:iam::${ACCOUNT}:role/${role}`), `${role}`)
  }
  // Each role is passed to its own service: the generator's to Lambda, its schedule's to EventBridge Scheduler.
  const passedTo = (role: string) =>
    statementsOf('DeployRole')
      .filter(
        (s) => s.Action === 'iam:PassRole' && covered(list<string>(s.Resource), `arn:aws:iam::${ACCOUNT}:role/${role}`),
      )
      .map((s) => String(obj(obj(s.Condition).StringEquals)['iam:PassedToService']))
  t.deepEqual(passedTo('tp-order-generator-eu-west-3'), ['lambda.amazonaws.com'])
  t.deepEqual(passedTo('tp-order-generator-schedule-eu-west-3'), ['scheduler.amazonaws.com'])
  for (const [id] of resourcesOf(pipeline, 'AWS::IAM::Role')) {
    const own = `arn:aws:iam::${ACCOUNT}:role/${String(deployed(id)?.RoleName)}`
    t.false(covered(g.get('iam:PutRolePolicy'), own), `the deploy role cannot change the pipeline's ${id}`)
  }
  for (const fn of names('functions.yaml', 'AWS::Lambda::Function', 'FunctionName')) {
    t.true(covered(g.get('lambda:CreateFunction'), arn('lambda', `function:${fn}`)), `${fn}`)
    t.true(covered(g.get('lambda:AddPermission'), arn('lambda', `function:${fn}`)), `${fn}`)
  }
  for (const fn of names('lake.yaml', 'AWS::Lambda::Function', 'FunctionName'))
    t.true(covered(g.get('lambda:UpdateFunctionCode'), arn('lambda', `function:${fn}`)), `${fn}`)
  for (const group of [
    ...names('functions.yaml', 'AWS::Logs::LogGroup', 'LogGroupName'),
    ...names('lake.yaml', 'AWS::Logs::LogGroup', 'LogGroupName'),
  ])
    t.true(covered(g.get('logs:CreateLogGroup'), arn('logs', `log-group:${group}`)), `${group}`)
  for (const schedule of names('lake.yaml', 'AWS::Scheduler::Schedule', 'Name'))
    t.true(covered(g.get('scheduler:CreateSchedule'), arn('scheduler', `schedule/default/${schedule}`)), `${schedule}`)
  for (const alarm of names('observability.yaml', 'AWS::CloudWatch::Alarm', 'AlarmName'))
    t.true(covered(g.get('cloudwatch:PutMetricAlarm'), arn('cloudwatch', `alarm:${alarm}`)), `${alarm}`)
  for (const dashboard of names('observability.yaml', 'AWS::CloudWatch::Dashboard', 'DashboardName')) {
    t.true(
      covered(g.get('cloudwatch:PutDashboard'), `arn:aws:cloudwatch::${ACCOUNT}:dashboard/${dashboard}`),
      `${dashboard}`,
    )
  }
  for (const alias of [
    ...names('observability.yaml', 'AWS::KMS::Alias', 'AliasName'),
    ...names('storage.yaml', 'AWS::KMS::Alias', 'AliasName'),
  ])
    t.true(covered(g.get('kms:CreateAlias'), arn('kms', alias)), `${alias}`)
  // Every log group takes the log key; the API's two are created by the deploy role too.
  for (const file of ['functions.yaml', 'lake.yaml', 'export.yaml', 'workflow.yaml', 'api.yaml'])
    for (const group of names(file, 'AWS::Logs::LogGroup', 'LogGroupName'))
      t.true(covered(g.get('logs:AssociateKmsKey'), arn('logs', `log-group:${group}`)), `${file} ${group}`)
  for (const group of names('api.yaml', 'AWS::Logs::LogGroup', 'LogGroupName'))
    t.true(covered(g.get('logs:CreateLogGroup'), arn('logs', `log-group:${group}`)), `${group}`)
  for (const role of names('api.yaml', 'AWS::IAM::Role', 'RoleName')) {
    t.true(covered(g.get('iam:CreateRole'), `arn:aws:iam::${ACCOUNT}:role/${role}`), `${role}`)
    t.true(covered(g.get('iam:PassRole'), `arn:aws:iam::${ACCOUNT}:role/${role}`), `${role}`)
  }
  t.true(covered(g.get('apigateway:PATCH'), 'arn:aws:apigateway:eu-west-3::/account'))
  const acl = String(
    resolvedResource(child('api.yaml'), 'WebAcl', valuesOf(child('api.yaml'), { Waf: 'on' }))?.Name ?? '',
  )
  t.is(acl, 'tp-order-api')
  t.true(covered(g.get('wafv2:CreateWebACL'), arn('wafv2', `regional/webacl/${acl}/0a1b2c3d`)))
  t.false(covered(g.get('wafv2:CreateWebACL'), arn('wafv2', 'regional/webacl/other-api/0a1b2c3d')))
  // The data lake's export (export.yaml) and catalog (analytics.yaml).
  for (const role of names('export.yaml', 'AWS::IAM::Role', 'RoleName'))
    t.true(covered(g.get('iam:PassRole'), `arn:aws:iam::${ACCOUNT}:role/${role}`), `${role}`)
  for (const fn of names('export.yaml', 'AWS::Lambda::Function', 'FunctionName'))
    t.true(covered(g.get('lambda:CreateFunction'), arn('lambda', `function:${fn}`)), `${fn}`)
  for (const queue of names('export.yaml', 'AWS::SQS::Queue', 'QueueName'))
    t.true(covered(g.get('sqs:CreateQueue'), arn('sqs', queue)), `${queue}`)
  const database = String(
    obj(resolvedResource(child('analytics.yaml'), 'LakeDatabase', valuesOf(child('analytics.yaml')))?.DatabaseInput)
      .Name,
  )
  t.is(database, 'tp_orders_lake')
  t.true(covered(g.get('glue:CreateDatabase'), arn('glue', `database/${database}`)))
  for (const [id] of resourcesOf(child('analytics.yaml'), 'AWS::Glue::Table')) {
    const table = obj(resolvedResource(child('analytics.yaml'), id, valuesOf(child('analytics.yaml')))?.TableInput)
    t.true(covered(g.get('glue:CreateTable'), arn('glue', `table/${database}/${String(table.Name)}`)), `${id}`)
  }
  for (const group of names('analytics.yaml', 'AWS::Athena::WorkGroup', 'Name')) {
    t.true(covered(g.get('athena:CreateWorkGroup'), arn('athena', `workgroup/${group}`)), `${group}`)
    t.true(covered(g.get('athena:CreateNamedQuery'), arn('athena', `workgroup/${group}`)), `${group}`)
  }
  for (const bucket of names('analytics.yaml', 'AWS::S3::Bucket', 'BucketName'))
    t.true(covered(g.get('s3:PutBucketPolicy'), `arn:aws:s3:::${bucket}`), `${bucket}`)
  // The order workflow (workflow.yaml).
  const roleArn = (role: string) => `arn:aws:iam::${ACCOUNT}:role/${role}`
  for (const role of names('workflow.yaml', 'AWS::IAM::Role', 'RoleName')) {
    t.true(covered(g.get('iam:PutRolePolicy'), roleArn(role)), `${role}`)
    t.true(covered(g.get('iam:PassRole'), roleArn(role)), `${role}`)
  }
  t.deepEqual(passedTo('tp-order-workflow-eu-west-3'), ['states.amazonaws.com'])
  t.deepEqual(passedTo('tp-order-workflow-tasks-eu-west-3'), ['lambda.amazonaws.com'])
  for (const fn of names('workflow.yaml', 'AWS::Lambda::Function', 'FunctionName'))
    t.true(covered(g.get('lambda:UpdateFunctionCode'), arn('lambda', `function:${fn}`)), `${fn}`)
  for (const group of names('workflow.yaml', 'AWS::Logs::LogGroup', 'LogGroupName'))
    t.true(covered(g.get('logs:CreateLogGroup'), arn('logs', `log-group:${group}`)), `${group}`)
  for (const machine of names('workflow.yaml', 'AWS::StepFunctions::StateMachine', 'StateMachineName'))
    t.true(covered(g.get('states:CreateStateMachine'), arn('states', `stateMachine:${machine}`)), `${machine}`)
  for (const topic of names('workflow.yaml', 'AWS::SNS::Topic', 'TopicName'))
    t.true(covered(g.get('sns:CreateTopic'), arn('sns', topic)), `${topic}`)
  for (const queue of names('workflow.yaml', 'AWS::SQS::Queue', 'QueueName'))
    t.true(covered(g.get('sqs:CreateQueue'), arn('sqs', queue)), `${queue}`)
  for (const alarm of names('workflow.yaml', 'AWS::CloudWatch::Alarm', 'AlarmName'))
    t.true(covered(g.get('cloudwatch:PutMetricAlarm'), arn('cloudwatch', `alarm:${alarm}`)), `${alarm}`)
})

test("the deploy role's Resource * statements are the three AWS requires, each narrowed by a condition where AWS allows one", (t) => {
  const wildcard = statementsOf('DeployRole').filter((s) => list(s.Resource).includes('*'))
  t.deepEqual(
    wildcard.map((s) => s.Sid),
    [
      'CreateEventSourceMappings',
      'ReadEventSourceMappings',
      'CreateAlarmKey',
      'ExporterMapping',
      'StarterMapping',
      'StateMachineLogDelivery',
      'TableAutoScaling',
    ],
  )
  t.deepEqual(wildcard[4]?.Condition, {
    ArnEquals: { 'lambda:FunctionArn': arn('lambda', 'function:tp-order-workflow-starter') },
  })
  t.true(
    list<string>(wildcard[5]?.Action).every((a) => a.startsWith('logs:')),
    'log delivery only',
  )
  t.deepEqual(wildcard[3]?.Condition, {
    ArnEquals: { 'lambda:FunctionArn': arn('lambda', 'function:tp-order-exporter') },
  })
  const functionArns = ['tp-order-validator', 'tp-order-worker'].map((f) => arn('lambda', `function:${f}`))
  t.deepEqual(wildcard[0]?.Condition, { ArnEquals: { 'lambda:FunctionArn': functionArns } })
  t.deepEqual(
    list(wildcard[1]?.Action).sort(),
    ['lambda:GetEventSourceMapping', 'lambda:ListEventSourceMappings'],
    'read only',
  )
  t.deepEqual(wildcard[2]?.Condition, { StringEquals: { 'aws:RequestTag/NamePrefix': 'tp' } })
  t.deepEqual(statementsOf('DeployRole').find((s) => s.Sid === 'ManageAlarmKey')?.Condition, {
    StringEquals: { 'aws:ResourceTag/NamePrefix': 'tp' },
  })
  // Roles are passed to their own services only.
  for (const s of statementsOf('DeployRole').filter((x) => list(x.Action).includes('iam:PassRole')))
    t.truthy(obj(obj(s.Condition).StringEquals)['iam:PassedToService'], `${s.Sid}`)
  t.false(statementsOf('PipelineRole').some((s) => list(s.Resource).includes('*')))
  // Application Auto Scaling (TableBillingMode PROVISIONED) authorises on no narrower resource: its actions only.
  t.true(list<string>(wildcard[6]?.Action).every((a) => a.startsWith('application-autoscaling:')))
})

// ---------------------------------------------------------------------------------------------------------------
// Names and size

test('names derive from NamePrefix and fit AWS limits with the longest prefix, and the template fits a deploy from S3', (t) => {
  const prefix = 'a'.repeat(20)
  const bucket = String(deployed('ArtifactsBucket', { NamePrefix: prefix })?.BucketName).replace(
    'eu-west-3',
    'ap-southeast-5',
  )
  t.true(bucket.length <= 63, `${bucket}`)
  for (const [id] of resourcesOf(pipeline, 'AWS::IAM::Role')) {
    const name = String(deployed(id, { NamePrefix: prefix })?.RoleName).replace('eu-west-3', 'ap-southeast-5')
    t.true(name.startsWith(prefix) && name.length <= 64, `${name}`)
  }
  t.true(String(deployed('TestReportGroup', { NamePrefix: prefix })?.Name).length <= 128)
  t.true(String(deployed('SourceTrigger', { NamePrefix: prefix })?.Name).length <= 64)
  // Distinct from the application's names and from scripts/deploy.sh's artifacts bucket (<prefix>-artifacts-...).
  t.is(deployed('Pipeline')?.Name, 'tp-order-delivery')
  t.not(bucket, `${prefix}-artifacts-123456789012-ap-southeast-5`)
  // deploy.sh --pipeline uploads the template to the artifacts bucket: CloudFormation reads at most 1 MB from S3
  // (51,200 bytes in the request, which it outgrew).
  t.true(statSync(FILE).size < 1_000_000, `${statSync(FILE).size} bytes`)
})

test("the deploy role's policies fit IAM's size limits with the longest prefix and region names", (t) => {
  // IAM counts characters without whitespace: 10,240 for all of a role's inline policies, 6,144 for a managed policy.
  const longest = { NamePrefix: 'a'.repeat(20), ApplicationStackName: 'a'.repeat(100) }
  const size = (document: unknown) =>
    JSON.stringify(document)
      .replaceAll('eu-west-3', 'ap-southeast-5')
      .replaceAll('<ArtifactsBucket.Arn>', `arn:aws:s3:::${'a'.repeat(63)}`).length
  const inline = list<Obj>(deployed('DeployRole', longest)?.Policies).reduce((n, p) => n + size(p.PolicyDocument), 0)
  t.true(inline <= 10_240, `inline: ${inline} characters`)
  for (const id of ['DeployLakePolicy', 'DeployAnalyticsPolicy', 'DeployWorkflowPolicy']) {
    const managed = size(deployed(id, longest)?.PolicyDocument)
    t.true(managed <= 6_144, `${id}: ${managed} characters`)
    t.deepEqual(list(deployed(id)?.Roles), ['<DeployRole>'])
  }
})

// ---------------------------------------------------------------------------------------------------------------
// On moto, with scripts/deploy.sh --pipeline

interface Run {
  code: number
  stdout: string
  stderr: string
}
const exec = (command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> =>
  new Promise((done) => {
    execFile(
      command,
      args,
      { cwd: root, timeout: 55_000, env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })
      },
    )
  })
const aws = async <T = Obj>(moto: Moto, args: string[]): Promise<T> => {
  const { code, stdout, stderr } = await exec('aws', [...args, '--output', 'json'], {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_DEFAULT_REGION: 'eu-west-3',
  })
  if (code !== 0) throw new Error(`aws ${args.join(' ')}: ${stderr}`)
  return (stdout.trim() ? JSON.parse(stdout) : {}) as T
}

test.serial(
  'deploy.sh --pipeline deploys the stack to moto: bucket, roles, log group and rule created, the rest skipped',
  async (t) => {
    const m = moto!
    const first = await exec(join(root, 'scripts/deploy.sh'), [
      '--pipeline',
      '--endpoint',
      m.endpoint,
      '--prefix',
      'dl',
      '--stage',
      'test',
    ])
    t.is(first.code, 0, `${first.stdout}${first.stderr}`)
    t.regex(first.stdout, /stack dl-order-pipeline-delivery deployed/)
    const stack = (
      await aws<{ Stacks: Obj[] }>(m, [
        'cloudformation',
        'describe-stacks',
        '--stack-name',
        'dl-order-pipeline-delivery',
      ])
    ).Stacks[0]
    t.is(stack?.StackStatus, 'CREATE_COMPLETE')
    const resources = (
      await aws<{ StackResourceSummaries: Obj[] }>(m, [
        'cloudformation',
        'list-stack-resources',
        '--stack-name',
        'dl-order-pipeline-delivery',
      ])
    ).StackResourceSummaries
    t.deepEqual(
      resources
        .filter((r) => r.LogicalResourceId)
        .map((r) => `${String(r.LogicalResourceId)} ${String(r.ResourceType)}`)
        .sort(),
      [
        'AccessLogBucket AWS::S3::Bucket',
        'ArtifactsBucket AWS::S3::Bucket',
        'BuildLogGroup AWS::Logs::LogGroup',
        'BuildLogKey AWS::KMS::Key',
        'BuildLogKeyAlias AWS::KMS::Alias',
        'BuildRole AWS::IAM::Role',
        'DeployAnalyticsPolicy AWS::IAM::ManagedPolicy',
        'DeployCapacityPolicy AWS::IAM::ManagedPolicy',
        'DeployLakePolicy AWS::IAM::ManagedPolicy',
        'DeployRole AWS::IAM::Role',
        'DeploySecurityPolicy AWS::IAM::ManagedPolicy',
        'DeployWorkflowPolicy AWS::IAM::ManagedPolicy',
        'PipelineRole AWS::IAM::Role',
        'SourceTrigger AWS::Events::Rule',
        'SourceTriggerRole AWS::IAM::Role',
      ],
    )
    // moto skips the two bucket policies, the repository, the report group, the project and the pipeline: each is
    // listed CREATE_COMPLETE with neither a logical id nor a type, and nothing is created.
    const skipped = resources.filter((r) => !r.LogicalResourceId)
    t.is(skipped.length, 6)
    t.true(skipped.every((r) => r.ResourceStatus === 'CREATE_COMPLETE' && !r.ResourceType))
    t.deepEqual((await aws<{ projects: string[] }>(m, ['codebuild', 'list-projects'])).projects, [])
    t.deepEqual((await aws<{ pipelines: unknown[] }>(m, ['codepipeline', 'list-pipelines'])).pipelines, [])
    // What moto did create, with the template's values.
    const bucket = `dl-delivery-${ACCOUNT}-eu-west-3`
    const encryption = await aws<{ ServerSideEncryptionConfiguration: { Rules: Obj[] } }>(m, [
      's3api',
      'get-bucket-encryption',
      '--bucket',
      bucket,
    ])
    t.like(encryption.ServerSideEncryptionConfiguration.Rules[0], {
      ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' },
    })
    t.deepEqual((await aws<{ TagSet: Obj[] }>(m, ['s3api', 'get-bucket-tagging', '--bucket', bucket])).TagSet, [
      { Key: 'Stage', Value: 'test' },
      { Key: 'NamePrefix', Value: 'dl' },
    ])
    const rule = await aws(m, ['events', 'describe-rule', '--name', 'dl-order-delivery-source'])
    t.like(JSON.parse(String(rule.EventPattern)), {
      resources: [arn('codecommit', 'dl-order-pipeline')],
      detail: { referenceName: ['main'] },
    })
    const targets = (
      await aws<{ Targets: Obj[] }>(m, ['events', 'list-targets-by-rule', '--rule', 'dl-order-delivery-source'])
    ).Targets
    t.deepEqual(targets, [
      {
        Id: 'pipeline',
        Arn: arn('codepipeline', 'dl-order-delivery'),
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/dl-order-delivery-trigger-eu-west-3`,
      },
    ])
    const groups = (
      await aws<{ logGroups: Obj[] }>(m, ['logs', 'describe-log-groups', '--log-group-name-prefix', '/aws/codebuild/'])
    ).logGroups
    t.like(groups[0], { logGroupName: '/aws/codebuild/dl-order-delivery-build', retentionInDays: 365 })
    const policies = await aws<{ PolicyNames: string[] }>(m, [
      'iam',
      'list-role-policies',
      '--role-name',
      'dl-order-delivery-deploy-eu-west-3',
    ])
    t.deepEqual(policies.PolicyNames, ['order-delivery-deploy'])
    // The template went through the artifacts bucket (deploy.sh creates it), not in the request.
    const uploaded = await aws<{ Contents?: Obj[] }>(m, [
      's3api',
      'list-objects-v2',
      '--bucket',
      `dl-artifacts-${ACCOUNT}-eu-west-3`,
      '--prefix',
      'templates/',
    ])
    t.is(uploaded.Contents?.length, 1)
    // A second deploy succeeds: moto either answers "no changes" with an error that deploy.sh tolerates, or (for a
    // template read from S3) applies an update that changes nothing.
    const again = await exec(join(root, 'scripts/deploy.sh'), [
      '--pipeline',
      '--endpoint',
      m.endpoint,
      '--prefix',
      'dl',
      '--stage',
      'test',
    ])
    t.is(again.code, 0, `${again.stdout}${again.stderr}`)
    t.regex(again.stdout, /no changes to deploy|stack dl-order-pipeline-delivery deployed/)
    t.deepEqual(
      (
        await aws<{ PolicyNames: string[] }>(m, [
          'iam',
          'list-role-policies',
          '--role-name',
          'dl-order-delivery-deploy-eu-west-3',
        ])
      ).PolicyNames,
      ['order-delivery-deploy'],
    )
  },
)

test.serial('the CodeConnections variant deploys to moto without the CodeCommit rule and its role', async (t) => {
  const m = moto!
  const run = await exec(join(root, 'scripts/deploy.sh'), [
    '--pipeline',
    '--endpoint',
    m.endpoint,
    '--prefix',
    'cc',
    ...Object.entries(WITH_CONNECTION).map(([k, v]) => `${k}=${v}`),
  ])
  t.is(run.code, 0, `${run.stdout}${run.stderr}`)
  const resources = (
    await aws<{ StackResourceSummaries: Obj[] }>(m, [
      'cloudformation',
      'list-stack-resources',
      '--stack-name',
      'cc-order-pipeline-delivery',
    ])
  ).StackResourceSummaries
  const ids = resources.map((r) => String(r.LogicalResourceId)).filter(Boolean)
  t.false(ids.includes('SourceTrigger') || ids.includes('SourceTriggerRole'))
  t.true(ids.includes('PipelineRole'))
  const document = String(
    (
      await aws(m, [
        'iam',
        'get-role-policy',
        '--role-name',
        'cc-order-delivery-pipeline-eu-west-3',
        '--policy-name',
        'order-delivery-pipeline',
      ])
    ).PolicyDocument,
  )
  t.true(document.includes(CONNECTION))
  t.false(document.includes('codecommit:'))
})

test('deploy.sh documents --pipeline, and refuses --skip-build with it', async (t) => {
  const help = await exec(join(root, 'scripts/deploy.sh'), ['--help'])
  t.is(help.code, 0)
  t.regex(
    help.stdout,
    /--pipeline +deploy the delivery pipeline stack \(default name <prefix>-order-pipeline-delivery\)/,
  )
  t.regex(help.stdout, /--artifacts-bucket NAME +where packages go, and with --pipeline its template/)
  const refused = await exec(join(root, 'scripts/deploy.sh'), ['--pipeline', '--skip-build'])
  t.is(refused.code, 2)
  t.regex(refused.stderr, /--skip-build does not apply to --pipeline/)
})
