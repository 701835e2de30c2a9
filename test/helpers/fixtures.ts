/**
 * The seed orders (schemas/examples) and AWS event fixtures (test/fixtures), both copies of the project's shared
 * fixtures kept equal by test/fixtures.test.ts, so that a clone builds and tests on its own, in CodeBuild too, and a
 * minimal Lambda context.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda'
import { example, exampleText } from '../../schemas/examples.ts'

export const FIXTURES = new URL('../fixtures/', import.meta.url)
const root = FIXTURES

export const seedText = exampleText
export const seed = example
export const awsEvent = <T = unknown>(name: string): T =>
  JSON.parse(readFileSync(new URL(`aws-events/${name}`, root), 'utf8')) as T

let requests = 0
export const fakeContext = (): Context => ({
  awsRequestId: `req-${++requests}`,
  functionName: 'test-function',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-3:123456789012:function:test-function',
  memoryLimitInMB: '256',
  logGroupName: '/aws/lambda/test-function',
  logStreamName: 'test',
  callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
})

let messages = 0
/** An SQS record from the main queue carrying `body`. */
export const sqsRecord = (body: unknown, overrides: Partial<SQSRecord> = {}): SQSRecord => {
  const id = ++messages
  return {
    messageId: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`,
    receiptHandle: `handle-${id}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1767780000000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1767780000100',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-3:123456789012:tp-orders-main',
    awsRegion: 'eu-west-3',
    ...overrides,
  }
}

export const sqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records })

/** A temporary folder, removed when the test ends. */
export const tempDir = (t: { teardown: (fn: () => void) => void }, prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}
