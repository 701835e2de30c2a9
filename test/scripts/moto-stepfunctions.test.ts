/**
 * scripts/local/moto_server.py's Step Functions: executions run from start-up, and their Lambda tasks (lambda:invoke
 * and a function ARN as Resource) are answered by the endpoint MOTO_LAMBDA_ENDPOINT names, here the Lambda Invoke API
 * served by the test. Each task's output is the next one's input, a function error's errorType is the task's Error
 * (Retry and Catch match it), a state machine runs more than once (moto#10077), a used execution name is refused,
 * and a state machine created by a CloudFormation stack runs. Each test has a moto of its own.
 * Step Functions calls go through the aws CLI (@aws-sdk/client-sfn is not installed).
 */
import test, { type ExecutionContext } from 'ava'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation'
import { freePort, startMotoServer } from '../../scripts/local/moto.ts'
import { tempDir } from '../helpers/fixtures.ts'

const REGION = 'eu-west-3'
const ACCOUNT = '123456789012'
const ROLE = `arn:aws:iam::${ACCOUNT}:role/orders-flow`
const functionArn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`

type Json = Record<string, unknown>
/** What a function answers: a result, or the error it throws (errorType as a Node function's err.name). */
type Answer = { result: unknown } | { errorType: string; errorMessage: string }
/** A call the endpoint got: the function as named in the request path (a name or an ARN), and its payload. */
interface Call {
  fn: string
  payload: Json
}

interface LambdaEndpoint {
  url: string
  calls: Call[]
  /** Resolves once `count` calls have been answered (or after 10 s: DescribeExecution tells what happened). */
  answered: (count: number) => Promise<void>
}

/** The Lambda Invoke API on a port of its own: each call recorded, answered by `answer` (`attempt` counts from 1). */
const lambdaEndpoint = async (
  t: ExecutionContext,
  answer: (fn: string, payload: Json, attempt: number) => Answer,
): Promise<LambdaEndpoint> => {
  const calls: Call[] = []
  let sent = 0
  const waiting: { count: number; resolve: () => void }[] = []
  const onSent = () => {
    sent++
    for (const w of waiting.filter((w) => w.count <= sent)) w.resolve()
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const match = /^\/2015-03-31\/functions\/([^/?]+)\/invocations/.exec(req.url ?? '')
      if (req.method !== 'POST' || !match) {
        res.writeHead(404).end()
        return
      }
      const fn = decodeURIComponent(match[1]!)
      const payload = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Json
      calls.push({ fn, payload })
      const reply = answer(fn, payload, calls.filter((c) => c.fn === fn).length)
      const headers = { 'content-type': 'application/json' }
      if ('errorType' in reply)
        res.writeHead(200, { ...headers, 'x-amz-function-error': 'Unhandled' }).end(JSON.stringify(reply), onSent)
      else res.writeHead(200, headers).end(JSON.stringify(reply.result), onSent)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const answered = (count: number) =>
    Promise.race([
      new Promise<void>((resolve) => (sent >= count ? resolve() : waiting.push({ count, resolve }))),
      sleep(10_000, undefined, { ref: false }),
    ])
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, answered }
}

/** A moto of the test's own, its Lambda tasks sent to `lambdaUrl`; its log's end goes into failure messages. */
const emulator = async (t: ExecutionContext, lambdaUrl: string): Promise<{ endpoint: string; log: string }> => {
  const log = join(tempDir(t, 'moto-sfn-'), 'moto.log')
  const { endpoint, child } = await startMotoServer(await freePort(), log, false, { MOTO_LAMBDA_ENDPOINT: lambdaUrl })
  t.teardown(() => {
    child?.kill()
  })
  return { endpoint, log }
}

const run = promisify(execFile)

/** `aws stepfunctions COMMAND --key value…` against `endpoint`, its JSON answer parsed. */
const sfn = async (endpoint: string, command: string, args: Record<string, string>): Promise<Json> => {
  const { stdout } = await run(
    'aws',
    ['stepfunctions', command, ...Object.entries(args).flatMap(([k, v]) => [`--${k}`, v]), '--output', 'json'],
    {
      env: {
        ...process.env,
        AWS_ENDPOINT_URL: endpoint,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_DEFAULT_REGION: REGION,
      },
    },
  )
  return (stdout.trim() ? JSON.parse(stdout) : {}) as Json
}

const createMachine = async (endpoint: string, name: string, definition: Json): Promise<string> =>
  (await sfn(endpoint, 'create-state-machine', { name, definition: JSON.stringify(definition), 'role-arn': ROLE }))
    .stateMachineArn as string

const start = async (endpoint: string, stateMachineArn: string, name: string, input: Json): Promise<string> =>
  (
    await sfn(endpoint, 'start-execution', {
      'state-machine-arn': stateMachineArn,
      name,
      input: JSON.stringify(input),
    })
  ).executionArn as string

interface Outcome {
  status: string
  output?: Json
  error?: string
  cause?: string
}

/**
 * DescribeExecution until the execution is no longer RUNNING (it runs in a moto thread), for 15 s at most; first
 * `after` (the endpoint's answers the execution waits for: each aws CLI call costs half a second of CPU).
 */
const outcome = async (endpoint: string, executionArn: string, after?: Promise<void>): Promise<Outcome> => {
  const deadline = Date.now() + 15_000
  await after
  for (;;) {
    await sleep(100)
    const described = await sfn(endpoint, 'describe-execution', { 'execution-arn': executionArn })
    if (described.status !== 'RUNNING' || Date.now() > deadline)
      return {
        status: described.status as string,
        ...(typeof described.output === 'string' ? { output: JSON.parse(described.output) as Json } : {}),
        ...(described.error !== undefined ? { error: described.error as string } : {}),
        ...(described.cause !== undefined ? { cause: described.cause as string } : {}),
      }
  }
}

/** The end of moto's log, for a failure's message. */
const tail = (log: string) => readFileSync(log, 'utf8').split('\n').slice(-15).join('\n')

test('a two-task machine runs to SUCCEEDED, each task given the output of the one before', async (t) => {
  // Arrange: validate through lambda:invoke (its result under Payload, as on AWS), price as a function ARN
  const lambda = await lambdaEndpoint(t, (fn, payload) =>
    fn === 'validate'
      ? { result: { ...payload, valid: true } }
      : { result: { ...payload, totalCents: (payload.quantity as number) * 250 } },
  )
  const { endpoint, log } = await emulator(t, lambda.url)
  const machine = await createMachine(endpoint, 'two-tasks', {
    StartAt: 'Validate',
    States: {
      Validate: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: { FunctionName: 'validate', 'Payload.$': '$' },
        ResultSelector: { 'order.$': '$.Payload', 'status.$': '$.StatusCode' },
        Next: 'Price',
      },
      Price: { Type: 'Task', Resource: functionArn('price'), InputPath: '$.order', End: true },
    },
  })

  // Act
  const result = await outcome(
    endpoint,
    await start(endpoint, machine, 'order-1', { orderId: 'o-1', quantity: 4 }),
    lambda.answered(2),
  )

  // Assess
  t.is(result.status, 'SUCCEEDED', `${JSON.stringify(result)}\n${tail(log)}`)
  t.deepEqual(result.output, { orderId: 'o-1', quantity: 4, valid: true, totalCents: 1000 })
  t.deepEqual(
    lambda.calls,
    [
      { fn: 'validate', payload: { orderId: 'o-1', quantity: 4 } },
      { fn: functionArn('price'), payload: { orderId: 'o-1', quantity: 4, valid: true } },
    ],
    `the endpoint's calls: ${JSON.stringify(lambda.calls)}`,
  )
})

test('a task failing with PaymentTimeout is retried by its Retry, and succeeds on the second call', async (t) => {
  // Arrange: the first call times out, the second charges
  const lambda = await lambdaEndpoint(t, (_fn, payload, attempt) =>
    attempt === 1
      ? { errorType: 'PaymentTimeout', errorMessage: 'the payment provider did not answer' }
      : { result: { orderId: payload.orderId, charged: true } },
  )
  const { endpoint, log } = await emulator(t, lambda.url)
  const machine = await createMachine(endpoint, 'retry', {
    StartAt: 'Charge',
    States: {
      Charge: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: { FunctionName: functionArn('charge'), 'Payload.$': '$' },
        OutputPath: '$.Payload',
        Retry: [{ ErrorEquals: ['PaymentTimeout'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 1 }],
        End: true,
      },
    },
  })

  // Act
  const result = await outcome(
    endpoint,
    await start(endpoint, machine, 'order-2', { orderId: 'o-2' }),
    lambda.answered(2),
  )

  // Assess
  t.is(result.status, 'SUCCEEDED', `${JSON.stringify(result)}\n${tail(log)}`)
  t.deepEqual(result.output, { orderId: 'o-2', charged: true })
  t.deepEqual(
    lambda.calls.map((c) => c.fn),
    [functionArn('charge'), functionArn('charge')],
    `two calls, the second after the Retry: ${JSON.stringify(lambda.calls)}`,
  )
})

test('a task failing with PaymentDeclined is caught by its Catch into another task; an error not caught fails the execution', async (t) => {
  // Arrange
  const lambda = await lambdaEndpoint(t, (fn, payload) => {
    if (fn === functionArn('refuse')) return { result: { orderId: payload.orderId, refused: true, why: payload.error } }
    return payload.card === 'stolen'
      ? { errorType: 'CardStolen', errorMessage: 'card reported stolen' }
      : { errorType: 'PaymentDeclined', errorMessage: 'insufficient funds' }
  })
  const { endpoint, log } = await emulator(t, lambda.url)
  const machine = await createMachine(endpoint, 'catch', {
    StartAt: 'Charge',
    States: {
      Charge: {
        Type: 'Task',
        Resource: functionArn('charge'),
        Catch: [{ ErrorEquals: ['PaymentDeclined'], ResultPath: '$.error', Next: 'Refuse' }],
        End: true,
      },
      Refuse: { Type: 'Task', Resource: functionArn('refuse'), End: true },
    },
  })

  // Act
  const declined = await outcome(
    endpoint,
    await start(endpoint, machine, 'declined', { orderId: 'o-3', card: 'x' }),
    lambda.answered(2),
  )
  const stolen = await outcome(
    endpoint,
    await start(endpoint, machine, 'stolen', { orderId: 'o-4', card: 'stolen' }),
    lambda.answered(3),
  )

  // Assess
  t.is(declined.status, 'SUCCEEDED', `${JSON.stringify(declined)}\n${tail(log)}`)
  const why = declined.output?.why as { Error?: string; Cause?: string } | undefined
  t.like(declined.output, { orderId: 'o-3', refused: true }, `${JSON.stringify(declined.output)}`)
  t.is(why?.Error, 'PaymentDeclined', `the caught error: ${JSON.stringify(why)}`)
  t.deepEqual(JSON.parse(why?.Cause ?? '{}'), { errorType: 'PaymentDeclined', errorMessage: 'insufficient funds' })
  t.deepEqual(
    lambda.calls.map((c) => c.fn),
    [functionArn('charge'), functionArn('refuse'), functionArn('charge')],
    `${JSON.stringify(lambda.calls)}`,
  )
  t.is(stolen.status, 'FAILED', `${JSON.stringify(stolen)}`)
  t.is(stolen.error, 'CardStolen')
  t.regex(stolen.cause ?? '', /card reported stolen/)
})

test('three StartExecution calls on one state machine each run (moto#10077)', async (t) => {
  // Arrange
  const lambda = await lambdaEndpoint(t, (_fn, payload) => ({ result: { seen: payload.n } }))
  const { endpoint, log } = await emulator(t, lambda.url)
  const machine = await createMachine(endpoint, 'thrice', {
    StartAt: 'Echo',
    States: { Echo: { Type: 'Task', Resource: functionArn('echo'), End: true } },
  })

  // Act: the second waits for nothing; the third starts after the first two finished
  const first = await start(endpoint, machine, 'run-1', { n: 1 })
  const second = await start(endpoint, machine, 'run-2', { n: 2 })
  const early = [await outcome(endpoint, first), await outcome(endpoint, second, lambda.answered(2))]
  const third = await start(endpoint, machine, 'run-3', { n: 3 })
  const results = [...early, await outcome(endpoint, third, lambda.answered(3))]

  // Assess
  t.deepEqual(
    results.map((r) => r.status),
    ['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED'],
    `${JSON.stringify(results)}\n${tail(log)}`,
  )
  t.deepEqual(
    results.map((r) => r.output),
    [{ seen: 1 }, { seen: 2 }, { seen: 3 }],
  )
  t.is(lambda.calls.length, 3, `${JSON.stringify(lambda.calls)}`)
})

test('StartExecution with the name of an execution that ran answers ExecutionAlreadyExists', async (t) => {
  // Arrange
  const lambda = await lambdaEndpoint(t, () => ({ result: {} }))
  const { endpoint, log } = await emulator(t, lambda.url)
  const machine = await createMachine(endpoint, 'named', {
    StartAt: 'Echo',
    States: { Echo: { Type: 'Task', Resource: functionArn('echo'), End: true } },
  })
  const ran = await outcome(endpoint, await start(endpoint, machine, 'order-5', { orderId: 'o-5' }), lambda.answered(1))

  // Act
  const again = await t.throwsAsync(start(endpoint, machine, 'order-5', { orderId: 'o-5', retry: true }))

  // Assess
  t.is(ran.status, 'SUCCEEDED', `${JSON.stringify(ran)}\n${tail(log)}`)
  t.regex(again?.message ?? '', /ExecutionAlreadyExists/)
  t.is(lambda.calls.length, 1, `the refused start ran nothing: ${JSON.stringify(lambda.calls)}`)
})

/** A role and a state machine whose task's function ARN is built with Fn::Sub from the stack's region and account. */
const TEMPLATE = `
Resources:
  FlowRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: { Service: states.amazonaws.com }
            Action: sts:AssumeRole
  OrderFlow:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      StateMachineName: order-flow
      StateMachineType: STANDARD
      RoleArn: !GetAtt FlowRole.Arn
      DefinitionString: !Sub |
        {
          "StartAt": "Notify",
          "States": {
            "Notify": {
              "Type": "Task",
              "Resource": "arn:aws:lambda:\${AWS::Region}:\${AWS::AccountId}:function:notify",
              "End": true
            }
          }
        }
`

test('a state machine created by a CloudFormation stack is described and runs', async (t) => {
  // Arrange
  const lambda = await lambdaEndpoint(t, (_fn, payload) => ({ result: { notified: payload.orderId } }))
  const { endpoint, log } = await emulator(t, lambda.url)
  const cloudFormation = new CloudFormationClient({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  })
  await cloudFormation.send(new CreateStackCommand({ StackName: 'flow', TemplateBody: TEMPLATE }))
  const { Stacks = [] } = await cloudFormation.send(new DescribeStacksCommand({ StackName: 'flow' }))
  const { StackResourceSummaries = [] } = await cloudFormation.send(
    new ListStackResourcesCommand({ StackName: 'flow' }),
  )
  const machine = StackResourceSummaries.find((r) => r.LogicalResourceId === 'OrderFlow')?.PhysicalResourceId ?? ''

  // Act
  const described = await sfn(endpoint, 'describe-state-machine', { 'state-machine-arn': machine })
  const result = await outcome(
    endpoint,
    await start(endpoint, machine, 'order-6', { orderId: 'o-6' }),
    lambda.answered(1),
  )

  // Assess
  t.is(Stacks[0]?.StackStatus, 'CREATE_COMPLETE', `${Stacks[0]?.StackStatusReason}`)
  t.is(machine, `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:order-flow`)
  t.regex(described.definition as string, /"Resource": "arn:aws:lambda:eu-west-3:123456789012:function:notify"/)
  t.regex(described.roleArn as string, /^arn:aws:iam::123456789012:role\//)
  t.is(result.status, 'SUCCEEDED', `${JSON.stringify(result)}\n${tail(log)}`)
  t.deepEqual(result.output, { notified: 'o-6' })
  t.deepEqual(lambda.calls, [{ fn: functionArn('notify'), payload: { orderId: 'o-6' } }])
})
