/**
 * AWS clients, built once per cold start and shared by every invocation. Endpoints come from the SDK's own
 * settings (AWS_REGION, AWS_ENDPOINT_URL for a local emulator); no credentials live in the code.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { S3Client } from '@aws-sdk/client-s3'
import { SNSClient } from '@aws-sdk/client-sns'
import { SQSClient } from '@aws-sdk/client-sqs'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'

const once = <T>(make: () => T): (() => T) => {
  let value: T | undefined
  return () => (value ??= make())
}

export const dynamoClient = /* @__PURE__ */ once(() =>
  DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  }),
)
// With a local endpoint, queue URLs keep their AWS form (as CloudFormation resolves them): send to the endpoint.
export const sqsClient = /* @__PURE__ */ once(
  () => new SQSClient({ useQueueUrlAsEndpoint: !process.env.AWS_ENDPOINT_URL }),
)
export const s3Client = /* @__PURE__ */ once(
  () => new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) }),
)
export const cloudWatchClient = /* @__PURE__ */ once(() => new CloudWatchClient({}))
export const snsClient = /* @__PURE__ */ once(() => new SNSClient({}))
