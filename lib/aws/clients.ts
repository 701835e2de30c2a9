/**
 * The one place that builds AWS SDK clients, for the functions and for the commands alike. Each factory takes where
 * to send requests: nothing for the SDK's own settings (AWS_REGION, AWS_ENDPOINT_URL, the standard credential
 * chain: what a Lambda function uses), or a region and an endpoint (what the commands pass from --region and
 * --endpoint). With a local emulator's endpoint, S3 uses path-style addressing (its buckets are not DNS names),
 * SQS sends to the endpoint rather than to the queue URL's host (queue URLs keep their AWS form, as
 * CloudFormation resolves them), and a missing credential is replaced by a placeholder the emulator accepts. No
 * credentials live in the code. A Lambda entry point builds its clients once, at cold start.
 *
 * One factory per client, so that a bundle carries only the clients its function uses (the SDK packages are free
 * of side effects: esbuild drops what is not called).
 */
import { APIGatewayClient } from '@aws-sdk/client-api-gateway'
import { CloudFormationClient } from '@aws-sdk/client-cloudformation'
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { LambdaClient } from '@aws-sdk/client-lambda'
import { S3Client } from '@aws-sdk/client-s3'
import { SNSClient } from '@aws-sdk/client-sns'
import { SQSClient } from '@aws-sdk/client-sqs'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'

/** Where requests go; both unset: the SDK's own settings. */
export interface Endpoint {
  region?: string
  /** An endpoint URL (the local moto server, for example); default AWS_ENDPOINT_URL, else AWS itself. */
  endpoint?: string
  /** A named profile of the shared AWS config files (as AWS_PROFILE), for its credentials and region. */
  profile?: string
}

const endpointOf = (where: Endpoint): string | undefined => where.endpoint ?? process.env.AWS_ENDPOINT_URL

/** Whether an endpoint is an emulator on this machine (localhost, 127.0.0.1, [::1]). */
export const isLocalEndpoint = (endpoint: string | undefined): boolean =>
  endpoint !== undefined && /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:|\/|$)/.test(endpoint)

/** The settings every client shares. */
export const clientConfig = (where: Endpoint = {}) => ({
  ...(where.region ? { region: where.region } : {}),
  ...(where.endpoint ? { endpoint: where.endpoint } : {}),
  ...(where.profile ? { profile: where.profile } : {}),
  // A local emulator takes any credentials.
  ...(isLocalEndpoint(where.endpoint) && !process.env.AWS_ACCESS_KEY_ID
    ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
    : {}),
})

export const dynamoClient = (where: Endpoint = {}): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(where)), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  })

export const sqsClient = (where: Endpoint = {}): SQSClient =>
  new SQSClient({ ...clientConfig(where), useQueueUrlAsEndpoint: endpointOf(where) === undefined })

export const s3Client = (where: Endpoint = {}): S3Client =>
  new S3Client({ ...clientConfig(where), forcePathStyle: endpointOf(where) !== undefined })

export const snsClient = (where: Endpoint = {}): SNSClient => new SNSClient(clientConfig(where))
export const cloudWatchClient = (where: Endpoint = {}): CloudWatchClient => new CloudWatchClient(clientConfig(where))
export const cloudWatchLogsClient = (where: Endpoint = {}): CloudWatchLogsClient =>
  new CloudWatchLogsClient(clientConfig(where))
export const cloudFormationClient = (where: Endpoint = {}): CloudFormationClient =>
  new CloudFormationClient(clientConfig(where))
export const lambdaClient = (where: Endpoint = {}): LambdaClient => new LambdaClient(clientConfig(where))
export const apiGatewayClient = (where: Endpoint = {}): APIGatewayClient => new APIGatewayClient(clientConfig(where))
