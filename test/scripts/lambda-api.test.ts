/**
 * The local Lambda Invoke endpoint the emulator's Step Functions call: a function named by name or by its ARN (URL-
 * encoded, with a qualifier) gets the body as its event; its result comes back as JSON, its error as Lambda
 * reports a function error (200, X-Amz-Function-Error, errorType), which is what a state's Retry and Catch match.
 */
import test from 'ava'
import type { AddressInfo } from 'node:net'
import { functionNameOf, startLambdaApi } from '../../scripts/local/lambda-api.ts'
import { InvocationError } from '../../scripts/local/lambda-host.ts'

test('a function is found by its name or its ARN, a qualifier left aside', (t) => {
  t.is(functionNameOf('tp-order-workflow-tasks'), 'tp-order-workflow-tasks')
  t.is(
    functionNameOf('arn:aws:lambda:eu-west-3:123456789012:function:tp-order-workflow-tasks'),
    'tp-order-workflow-tasks',
  )
  t.is(
    functionNameOf('arn:aws:lambda:eu-west-3:123456789012:function:tp-order-workflow-tasks:live'),
    'tp-order-workflow-tasks',
  )
  t.is(functionNameOf('tp-order-workflow-tasks:3'), 'tp-order-workflow-tasks')
})

test('Invoke answers the result, or the function error with its type, as Lambda does', async (t) => {
  const calls: [string, unknown][] = []
  const server = await startLambdaApi({
    port: 0,
    invoke: async (name, event) => {
      calls.push([name, event])
      const { task } = event as { task: string }
      if (task === 'decline') throw new InvocationError('PaymentDeclined', 'declined by the provider')
      if (task === 'plain') throw new TypeError('no such field')
      return { ok: true, task }
    },
  })
  t.teardown(() => server.close())
  const base = `http://localhost:${(server.address() as AddressInfo).port}`
  const invoke = (name: string, body: string) =>
    fetch(`${base}/2015-03-31/functions/${encodeURIComponent(name)}/invocations`, { method: 'POST', body })
  // Act
  const ok = await invoke('arn:aws:lambda:eu-west-3:123456789012:function:tasks', '{"task": "pay"}')
  const declined = await invoke('tasks', '{"task": "decline"}')
  const plain = await invoke('tasks', '{"task": "plain"}')
  const notJson = await invoke('tasks', '{"task": ')
  const other = await fetch(`${base}/2015-03-31/functions/tasks`, { method: 'GET' })
  // Assess
  t.is(ok.status, 200)
  t.deepEqual(await ok.json(), { ok: true, task: 'pay' })
  t.is(declined.status, 200)
  t.is(declined.headers.get('x-amz-function-error'), 'Unhandled')
  t.deepEqual(await declined.json(), { errorType: 'PaymentDeclined', errorMessage: 'declined by the provider' })
  t.like(await plain.json(), { errorType: 'TypeError' })
  t.is(notJson.status, 400)
  t.is(other.status, 404)
  t.deepEqual(
    calls.map(([name]) => name),
    ['tasks', 'tasks', 'tasks'],
  )
})
