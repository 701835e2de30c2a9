/**
 * What a deployed stack holds, read back through the CloudFormation API (nested stacks included), and the
 * names a user or script needs. moto shows no Outputs for stacks deployed with change sets, so the local stack
 * finds its resources this way; on AWS the same works next to the root stack's Outputs.
 */
import {
  CloudFormationClient,
  DescribeStacksCommand,
  paginateListStackResources,
  type Stack,
} from '@aws-sdk/client-cloudformation'

export interface StackResource {
  logicalId: string
  type: string
  physicalId: string
  stack: string
}

/** Every resource of a stack and of its nested stacks. */
export const listResources = async (cfn: CloudFormationClient, stackName: string): Promise<StackResource[]> => {
  const all: StackResource[] = []
  for await (const page of paginateListStackResources({ client: cfn }, { StackName: stackName })) {
    for (const r of page.StackResourceSummaries ?? []) {
      const resource = {
        logicalId: r.LogicalResourceId!,
        type: r.ResourceType!,
        physicalId: r.PhysicalResourceId ?? '',
        stack: stackName,
      }
      all.push(resource)
      if (resource.type === 'AWS::CloudFormation::Stack' && resource.physicalId)
        all.push(...(await listResources(cfn, resource.physicalId)))
    }
  }
  return all
}

export interface Deployment {
  prefix: string
  region: string
  accountId: string
  table: string
  bucket: string
  mainQueueUrl: string
  mainDlqUrl: string
  ingestQueueUrl: string
  ingestDlqUrl: string
  alertTopicArn: string | undefined
  /**
   * The functions; the exporter where the deployment has the data lake's export, the workflow's tasks and starter
   * where it has the order workflow.
   */
  functions: {
    api: string
    validator: string
    worker: string
    exporter?: string
    workflowTasks?: string
    workflowStarter?: string
  }
  restApiId: string | undefined
  /** The order workflow's state machine, where the deployment has it. */
  stateMachineArn: string | undefined
}

/** The optional functions of a deployment, by the names their stacks give them. */
const OPTIONAL_FUNCTIONS = {
  exporter: 'order-exporter',
  workflowTasks: 'order-workflow-tasks',
  workflowStarter: 'order-workflow-starter',
} as const

/** The names of a deployment, from its resources (names derive from the prefix; see cloudformation/). */
export const describeDeployment = (resources: StackResource[], prefix: string, region: string): Deployment => {
  const byType = (type: string) => resources.filter((r) => r.type === type)
  const queue = (name: string): string => {
    const url = byType('AWS::SQS::Queue')
      .map((r) => r.physicalId)
      // The main queue and its DLQ are <name>.fifo with QueueType fifo.
      .find((u) => u.endsWith(`/${name}`) || u.endsWith(`/${name}.fifo`))
    if (!url) throw new Error(`queue ${name} not found in the stack`)
    return url
  }
  const need = (type: string, match: (id: string) => boolean, what: string): string => {
    const id = byType(type)
      .map((r) => r.physicalId)
      .find(match)
    if (!id) throw new Error(`${what} not found in the stack`)
    return id
  }
  const mainQueueUrl = queue(`${prefix}-orders-main`)
  return {
    prefix,
    region,
    accountId: new URL(mainQueueUrl).pathname.split('/')[1] ?? '123456789012',
    table: need('AWS::DynamoDB::Table', (id) => id === `${prefix}-orders`, `table ${prefix}-orders`),
    bucket: need('AWS::S3::Bucket', (id) => id.startsWith(`${prefix}-orders-intake`), 'the intake bucket'),
    mainQueueUrl,
    mainDlqUrl: queue(`${prefix}-orders-main-dlq`),
    ingestQueueUrl: queue(`${prefix}-orders-ingest`),
    ingestDlqUrl: queue(`${prefix}-orders-ingest-dlq`),
    alertTopicArn: byType('AWS::SNS::Topic')
      .map((r) => r.physicalId)
      .find((arn) => arn.endsWith(`:${prefix}-order-alerts`)),
    functions: {
      api: need('AWS::Lambda::Function', (id) => id === `${prefix}-order-api`, `function ${prefix}-order-api`),
      validator: need(
        'AWS::Lambda::Function',
        (id) => id === `${prefix}-order-validator`,
        `function ${prefix}-order-validator`,
      ),
      worker: need('AWS::Lambda::Function', (id) => id === `${prefix}-order-worker`, `function ${prefix}-order-worker`),
      ...Object.fromEntries(
        Object.entries(OPTIONAL_FUNCTIONS).flatMap(([key, name]) =>
          byType('AWS::Lambda::Function').some((r) => r.physicalId === `${prefix}-${name}`)
            ? [[key, `${prefix}-${name}`]]
            : [],
        ),
      ),
    },
    restApiId: byType('AWS::ApiGateway::RestApi')[0]?.physicalId,
    stateMachineArn: byType('AWS::StepFunctions::StateMachine')
      .map((r) => r.physicalId)
      .find((arn) => arn.endsWith(`:stateMachine:${prefix}-order-workflow`)),
  }
}

/** `https://sqs.eu-west-3.amazonaws.com/123456789012/name` → its ARN. */
export const queueArn = (url: string, region: string): string => {
  const [, account, name] = new URL(url).pathname.split('/')
  return `arn:aws:sqs:${region}:${account}:${name}`
}

/** The application stack of a deployment: `<prefix>-order-pipeline` unless --stack-name says otherwise. */
export const stackNameOf = (prefix: string): string => `${prefix}-order-pipeline`

/** Whether `err` says the resource does not exist (a stack, a queue, a table). */
export const isNotFound = (err: unknown): boolean =>
  [
    'ValidationError',
    'ResourceNotFoundException',
    'AWS.SimpleQueueService.NonExistentQueue',
    'QueueDoesNotExist',
  ].includes((err as { name?: string } | null)?.name ?? '')

/** A deployed stack, read once: its resources (nested ones included), its names, its parameters and outputs. */
export interface DeployedStack {
  stackName: string
  /** The root stack as DescribeStacks answers (status, times, parameters, outputs). */
  stack: Stack | undefined
  resources: StackResource[]
  deployment: Deployment
  /** A parameter of the root stack, or `fallback`. */
  parameter: (key: string, fallback: string) => string
  /** An output of the root stack (moto shows none for stacks deployed with change sets). */
  output: (key: string) => string | undefined
}

/** The deployment's stack does not exist; the message says what to check. */
export class StackNotFoundError extends Error {
  override readonly name = 'StackNotFoundError'
  constructor(
    readonly stackName: string,
    cause: unknown,
  ) {
    super(
      `stack ${stackName} not found (is it deployed, and are --prefix, --region, --profile and --endpoint right? npm start for the local stack)`,
      { cause },
    )
  }
}

/**
 * Reads a deployment's root stack and resources.
 * @throws StackNotFoundError when it does not exist (any other error as it is)
 */
export const readStack = async (
  cfn: CloudFormationClient,
  where: { stackName?: string; prefix: string; region: string },
): Promise<DeployedStack> => {
  const stackName = where.stackName ?? stackNameOf(where.prefix)
  const [resources, stacks] = await Promise.all([
    listResources(cfn, stackName),
    cfn.send(new DescribeStacksCommand({ StackName: stackName })),
  ]).catch((err: unknown) => {
    throw isNotFound(err) ? new StackNotFoundError(stackName, err) : err
  })
  const stack = stacks.Stacks?.[0]
  return {
    stackName,
    stack,
    resources,
    deployment: describeDeployment(resources, where.prefix, where.region),
    parameter: (key, fallback) => stack?.Parameters?.find((p) => p.ParameterKey === key)?.ParameterValue ?? fallback,
    output: (key) => stack?.Outputs?.find((o) => o.OutputKey === key)?.OutputValue,
  }
}
