/**
 * What moto's CloudFormation silently skips but the flow needs, applied after a local deploy from the template's
 * own values: each bucket's VersioningConfiguration and NotificationConfiguration (S3 → ingest queue).
 * Usage: tsx scripts/local/apply-skipped.ts --stack-name NAME --endpoint URL [--region REGION]
 */
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation'
import {
  PutBucketNotificationConfigurationCommand,
  PutBucketVersioningCommand,
  type QueueConfiguration,
} from '@aws-sdk/client-s3'
import { listResources, queueArn, type StackResource } from '../stack/deployment.ts'
import { evaluate, loadTemplate, type Scope } from '../stack/template.ts'
import { s3Client, cloudFormationClient } from '../../lib/aws/clients.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

interface CfnQueueConfiguration {
  Event: string
  Queue: string
  Filter?: { S3Key?: { Rules?: { Name: string; Value: string }[] } }
}

/** CloudFormation's notification shape → the S3 API's. */
export const toApiQueueConfigurations = (configs: CfnQueueConfiguration[]): QueueConfiguration[] =>
  configs.map((c) => ({
    QueueArn: c.Queue,
    Events: [c.Event] as QueueConfiguration['Events'],
    Filter: c.Filter?.S3Key?.Rules
      ? {
          Key: {
            FilterRules: c.Filter.S3Key.Rules.map((r) => ({ Name: r.Name as 'prefix' | 'suffix', Value: r.Value })),
          },
        }
      : undefined,
  }))

/** The values a nested stack's template can refer to: its parameters, pseudo parameters and resources. */
const scopeOf = async (
  cfn: CloudFormationClient,
  stackId: string,
  resources: StackResource[],
  region: string,
  accountId: string,
): Promise<Scope> => {
  const { Stacks = [] } = await cfn.send(new DescribeStacksCommand({ StackName: stackId }))
  const values: Record<string, string> = {
    'AWS::Region': region,
    'AWS::AccountId': accountId,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': Stacks[0]?.StackName ?? '',
  }
  for (const p of Stacks[0]?.Parameters ?? []) values[p.ParameterKey!] = p.ParameterValue ?? ''
  const physical: Record<string, string> = {}
  const attributes: Record<string, string> = {}
  for (const r of resources.filter((x) => x.stack === stackId)) {
    physical[r.logicalId] = r.physicalId
    if (r.type === 'AWS::SQS::Queue') {
      attributes[`${r.logicalId}.Arn`] = queueArn(r.physicalId, region)
      attributes[`${r.logicalId}.QueueName`] = r.physicalId.split('/').pop()!
      attributes[`${r.logicalId}.QueueUrl`] = r.physicalId
    }
    if (r.type === 'AWS::S3::Bucket') attributes[`${r.logicalId}.Arn`] = `arn:aws:s3:::${r.physicalId}`
  }
  const known = (map: Record<string, string>, key: string, what: string): string => {
    if (!(key in map)) throw new Error(`cannot resolve ${what} in stack ${stackId}`)
    return map[key]!
  }
  return {
    values,
    resource: (logicalId) => known(physical, logicalId, `!Ref ${logicalId}`),
    attribute: (logicalId, attribute) =>
      known(attributes, `${logicalId}.${attribute}`, `!GetAtt ${logicalId}.${attribute}`),
  }
}

export const applySkipped = async (options: {
  stackName: string
  endpoint: string
  region: string
  log?: (line: string) => void
}): Promise<void> => {
  const log = options.log ?? console.log
  const cfn = cloudFormationClient(options)
  const s3 = s3Client(options)
  const resources = await listResources(cfn, options.stackName)
  const accountId =
    resources.map((r) => /^https:\/\/sqs\.[^/]+\/(\d+)\//.exec(r.physicalId)?.[1]).find(Boolean) ?? '123456789012'

  const main = loadTemplate(join(root, 'cloudformation', 'main.yaml'))
  for (const [childId, child] of Object.entries(main.Resources)) {
    if (child.Type !== 'AWS::CloudFormation::Stack') continue
    const nested = resources.find((r) => r.logicalId === childId && r.type === 'AWS::CloudFormation::Stack')
    if (!nested) continue
    const template = loadTemplate(join(root, 'cloudformation', String(child.Properties?.TemplateURL)))
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== 'AWS::S3::Bucket') continue
      const bucket = resources.find((r) => r.stack === nested.physicalId && r.logicalId === logicalId)
      if (!bucket) continue
      const properties = evaluate(
        resource.Properties ?? {},
        template,
        await scopeOf(cfn, nested.physicalId, resources, options.region, accountId),
      ) as {
        VersioningConfiguration?: { Status: 'Enabled' | 'Suspended' }
        NotificationConfiguration?: { QueueConfigurations?: CfnQueueConfiguration[] }
      }
      if (properties.VersioningConfiguration) {
        await s3.send(
          new PutBucketVersioningCommand({
            Bucket: bucket.physicalId,
            VersioningConfiguration: { Status: properties.VersioningConfiguration.Status },
          }),
        )
        log(`applied versioning (${properties.VersioningConfiguration.Status}) to ${bucket.physicalId}`)
      }
      const queues = properties.NotificationConfiguration?.QueueConfigurations
      if (queues?.length) {
        await s3.send(
          new PutBucketNotificationConfigurationCommand({
            Bucket: bucket.physicalId,
            NotificationConfiguration: { QueueConfigurations: toApiQueueConfigurations(queues) },
          }),
        )
        log(
          `applied the notification of ${bucket.physicalId}: ${queues.map((q) => `${q.Event} ${q.Filter?.S3Key?.Rules?.map((r) => `${r.Name}=${r.Value}`).join(',') ?? ''} → ${q.Queue.split(':').pop()}`).join('; ')}`,
        )
      }
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      'stack-name': { type: 'string' },
      endpoint: { type: 'string' },
      region: { type: 'string', default: 'eu-west-3' },
      help: { type: 'boolean' },
    },
  })
  if (values.help || !values['stack-name'] || !values.endpoint) {
    console.log(
      "usage: tsx scripts/local/apply-skipped.ts --stack-name NAME --endpoint URL [--region REGION]\n  Applies the bucket versioning and notification that moto's CloudFormation skips, from the templates.",
    )
    process.exit(values.help ? 0 : 2)
  }
  try {
    await applySkipped({ stackName: values['stack-name'], endpoint: values.endpoint, region: values.region! })
  } catch (err) {
    console.error(`apply-skipped: ${(err as Error).message}`)
    process.exit(1)
  }
}
