/**
 * cloudformation/workflow.yaml read as data: the state machine's definition walked state by state (every state
 * reachable, every Task calls the tasks function with one of its tasks, retries the transient errors with backoff
 * and catches the rest where the design says), the roles' reach, the starter's stream mapping, and the root's
 * OrderWorkflow switch.
 */
import test from 'ava'
import { join } from 'node:path'
import { TASKS } from '../../handlers/workflow.ts'
import { loadTemplate } from '../../scripts/stack/template.ts'
import {
  conditionHolds,
  grantsOfRole,
  list,
  obj,
  props,
  resolvedResource,
  valuesOf,
  type Obj,
  type Template,
  type Values,
} from '../helpers/cfn.ts'

const root = new URL('../../', import.meta.url).pathname
const template = loadTemplate(join(root, 'cloudformation/workflow.yaml')) as unknown as Template
const main = loadTemplate(join(root, 'cloudformation/main.yaml')) as unknown as Template
const deployed = (id: string, overrides: Values = {}): Obj =>
  resolvedResource(template, id, valuesOf(template, overrides)) ?? {}

interface State {
  Type: string
  Next?: string
  End?: boolean
  Resource?: string
  Parameters?: { FunctionName?: string; Payload?: Record<string, unknown> }
  Retry?: { ErrorEquals: string[]; IntervalSeconds: number; BackoffRate: number; MaxAttempts: number }[]
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string | null }[]
  Choices?: { Next: string }[]
  Default?: string
  TimeoutSeconds?: number
  Seconds?: number
}
interface Definition {
  StartAt: string
  States: Record<string, State>
}
const definitionOf = (overrides: Values = {}): Definition =>
  JSON.parse(String(deployed('StateMachine', overrides).DefinitionString)) as Definition

const nextOf = (s: State): string[] => [
  ...(s.Next ? [s.Next] : []),
  ...(s.Choices ?? []).map((c) => c.Next),
  ...(s.Default ? [s.Default] : []),
  ...(s.Catch ?? []).map((c) => c.Next),
]

const TRANSIENT = ['PaymentTimeout', 'TransientError', 'Lambda.ServiceException', 'Lambda.TooManyRequestsException']

test('the definition is JSON whose every state is reachable from StartAt and leads to states it has', (t) => {
  const { StartAt, States } = definitionOf()
  const seen = new Set<string>()
  const walk = (name: string): void => {
    if (seen.has(name)) return
    t.truthy(States[name], `a state ${name}`)
    seen.add(name)
    for (const next of nextOf(States[name]!)) walk(next)
  }
  walk(StartAt)
  t.deepEqual([...seen].sort(), Object.keys(States).sort(), 'no state is unreachable')
  const terminal = Object.entries(States)
    .filter(([, s]) => nextOf(s).length === 0)
    .map(([name, s]) => `${name} ${s.Type}`)
  t.deepEqual(terminal.sort(), ['Declined Succeed', 'Failed Fail', 'Paid Succeed'])
})

test('every Task calls the tasks function with one of its tasks, retries transient errors and catches the rest', (t) => {
  const { States } = definitionOf({ WorkflowRetrySeconds: '3', FunctionTimeout: '20' })
  const tasks = Object.entries(States).filter(([, s]) => s.Type === 'Task')
  t.deepEqual(
    tasks.map(([name, s]) => `${name} ${String(s.Parameters?.Payload?.task)}`),
    [
      'CheckOrder checkOrder',
      'ProcessPayment processPayment',
      'SendNotification sendNotification',
      'ReleaseStock releaseStock',
      'NotifyDeclined sendNotification',
      'RecordFailure recordFailure',
    ],
  )
  t.deepEqual([...new Set(tasks.map(([, s]) => s.Parameters?.Payload?.task))].sort(), [...TASKS].sort())
  for (const [name, s] of tasks) {
    t.is(s.Resource, 'arn:aws:states:::lambda:invoke', `${name}`)
    t.is(s.Parameters?.FunctionName, '<TasksFunction.Arn>', `${name}`)
    t.is(s.Parameters?.Payload?.['orderId.$'], '$.orderId', `${name}`)
    t.is(s.TimeoutSeconds, 20, `${name}: the function's timeout`)
    const retry = s.Retry ?? []
    t.is(retry.length, 1, `${name}`)
    for (const error of TRANSIENT) t.true(retry[0]!.ErrorEquals.includes(error), `${name} retries ${error}`)
    t.false(retry[0]!.ErrorEquals.includes('PaymentDeclined'), `${name}: a declined payment is not retried`)
    t.false(retry[0]!.ErrorEquals.includes('States.ALL'), `${name}: only transient errors are retried`)
    t.like(retry[0], { IntervalSeconds: 3, BackoffRate: 2, MaxAttempts: 4 })
    const last = s.Catch?.at(-1)
    t.deepEqual(last?.ErrorEquals, ['States.ALL'], `${name}: everything else is caught`)
    t.is(last?.Next, name === 'RecordFailure' ? 'Failed' : 'RecordFailure', `${name}`)
  }
})

test('a declined payment is caught into the compensation: ReleaseStock, then NotifyDeclined, then Declined', (t) => {
  const { States } = definitionOf()
  t.deepEqual(States.ProcessPayment?.Catch?.[0], {
    ErrorEquals: ['PaymentDeclined'],
    ResultPath: '$.error',
    Next: 'ReleaseStock',
  })
  t.is(States.ProcessPayment?.Next, 'SendNotification')
  t.is(States.SendNotification?.Parameters?.Payload?.outcome, 'PAID')
  t.is(States.SendNotification?.Next, 'Paid')
  t.is(States.ReleaseStock?.Next, 'NotifyDeclined')
  t.is(States.NotifyDeclined?.Parameters?.Payload?.outcome, 'DECLINED')
  t.is(States.NotifyDeclined?.Next, 'Declined')
})

test('a pending-stock order waits StockRecheckSeconds and is checked again, until CheckOrder gives up', (t) => {
  const { StartAt, States } = definitionOf({ StockRecheckSeconds: '60' })
  t.is(StartAt, 'CheckOrder')
  t.is(States.CheckOrder?.Next, 'StockChoice')
  t.deepEqual(
    States.StockChoice?.Choices?.map((c) => c.Next),
    ['StockNotAvailable', 'WaitForStock'],
  )
  t.is(States.StockChoice?.Default, 'ProcessPayment')
  t.like(States.WaitForStock, { Type: 'Wait', Seconds: 60, Next: 'CountWait' })
  t.like(States.CountWait, { Type: 'Pass', Next: 'CheckOrder' })
  t.like(States.StockNotAvailable, { Type: 'Pass', Next: 'RecordFailure' })
})

test('the state machine role may invoke the tasks function only; the starter may start this state machine only', (t) => {
  const machine = grantsOfRole(deployed('StateMachineRole'))
  t.deepEqual(machine.get('lambda:InvokeFunction'), ['<TasksFunction.Arn>', '<TasksFunction.Arn>:*'])
  t.deepEqual(
    list<Obj>(obj(deployed('StateMachineRole').AssumeRolePolicyDocument).Statement).map((s) => s.Principal),
    [{ Service: 'states.amazonaws.com' }],
  )
  const starter = grantsOfRole(deployed('StarterRole'))
  t.deepEqual(starter.get('states:StartExecution'), ['<StateMachine>'])
  t.false(starter.has('lambda:InvokeFunction'))
  const tasks = grantsOfRole(deployed('TasksRole'))
  t.deepEqual(tasks.get('sns:Publish'), ['<CustomerTopic>'])
  t.false(tasks.has('dynamodb:DeleteItem'), 'the tasks never delete')
  t.false(tasks.has('dynamodb:Scan'))
  t.is(deployed('StateMachine').StateMachineType, 'STANDARD')
  t.like(obj(deployed('StateMachine').LoggingConfiguration), { Level: 'ERROR', IncludeExecutionData: false })
})

test("the starter's mapping takes new PROCESSED order records, reports failed items, and is left out locally", (t) => {
  const mapping = deployed('StarterMapping')
  t.deepEqual(list(mapping.FunctionResponseTypes), ['ReportBatchItemFailures'])
  t.is(mapping.StartingPosition, 'TRIM_HORIZON')
  const pattern = JSON.parse(String(list<Obj>(obj(mapping.FilterCriteria).Filters)[0]?.Pattern)) as Obj
  t.deepEqual(pattern, {
    eventName: ['INSERT'],
    dynamodb: { NewImage: { pk: { S: [{ prefix: 'ORDER#' }] }, status: { S: ['PROCESSED'] } } },
  })
  t.true(conditionHolds('MappingsEnabled', template, valuesOf(template)))
  t.false(conditionHolds('MappingsEnabled', template, valuesOf(template, { EventSourceMappingsEnabled: 'false' })))
  t.is(template.Resources.StarterMapping?.Condition, 'MappingsEnabled')
})

test('the root deploys the workflow unless OrderWorkflow is off', (t) => {
  t.is(main.Resources.Workflow?.Condition, 'WorkflowEnabled')
  t.true(conditionHolds('WorkflowEnabled', main, valuesOf(main)))
  t.false(conditionHolds('WorkflowEnabled', main, valuesOf(main, { OrderWorkflow: 'off' })))
  t.is(props(main.Resources.Workflow).TemplateURL, './workflow.yaml')
})

test('fractional defaults are strings: moto as installed truncates a float given to a nested stack (0.9 → 0)', (t) => {
  for (const tpl of [template, main]) t.is(tpl.Parameters?.PaymentSuccessRate?.Default, '0.9')
  t.is(Number(valuesOf(template).PaymentSuccessRate), 0.9)
})
