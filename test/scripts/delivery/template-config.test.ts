import test from 'ava'
import { execFile } from 'node:child_process'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tempDir } from '../../helpers/fixtures.ts'
import { join } from 'node:path'
import { loadTemplate } from '../../../scripts/stack/template.ts'
import {
  buildConfiguration,
  configurationFileName,
  type StageConfig,
} from '../../../scripts/delivery/template-config.ts'

const root = new URL('../../../', import.meta.url).pathname
const configDir = join(root, 'cloudformation/config')
const parameters = loadTemplate(join(root, 'cloudformation/main.yaml')).Parameters as Parameters<
  typeof buildConfiguration
>[1]
const build = (config: StageConfig, stage = 'dev', prefix = 'tp') =>
  buildConfiguration(config, parameters, { stage, prefix })

test('every checked-in stage file fits main.yaml, and prod protects the table', (t) => {
  const stages = readdirSync(configDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.replace(/\.json$/, ''))
  t.true(stages.includes('dev') && stages.includes('prod'))
  for (const stage of stages) {
    const { problems, configuration } = build(
      JSON.parse(readFileSync(join(configDir, `${stage}.json`), 'utf8')) as StageConfig,
      stage,
    )
    t.deepEqual(problems, [], `${stage}`)
    t.like(configuration, { Parameters: { NamePrefix: 'tp', Stage: stage }, Tags: { Stage: stage, NamePrefix: 'tp' } })
    for (const value of Object.values(configuration.Parameters))
      t.is(typeof value, 'string', `${stage}: the deploy action takes strings`)
  }
  const prod = build(
    JSON.parse(readFileSync(join(configDir, 'prod.json'), 'utf8')) as StageConfig,
    'prod',
  ).configuration
  t.is(prod.Parameters.TableDeletionProtection, 'true')
  t.truthy(
    prod.StackPolicy?.Statement.some(
      (s) => JSON.stringify(s).includes('LogicalResourceId/Storage') && JSON.stringify(s).includes('"Deny"'),
    ),
  )
})

test('NamePrefix and Stage come from the pipeline; numbers and booleans become strings', (t) => {
  const { configuration, problems } = build(
    { Parameters: { FunctionTimeout: 10, QueueVisibilityTimeout: 60, StockTracking: 'off' }, Tags: { Team: 'orders' } },
    'qa',
    'tpqa',
  )
  t.deepEqual(problems, [])
  t.deepEqual(configuration, {
    Parameters: {
      NamePrefix: 'tpqa',
      Stage: 'qa',
      FunctionTimeout: '10',
      QueueVisibilityTimeout: '60',
      StockTracking: 'off',
    },
    Tags: { Stage: 'qa', NamePrefix: 'tpqa', Team: 'orders' },
  })
  t.is(configurationFileName('qa'), 'qa-configuration.json')
})

test('a stage file with a typo, a value main.yaml refuses or a pipeline-owned name fails before any deploy', (t) => {
  const { problems } = build({
    Parameters: {
      StockTraking: 'on',
      StockTracking: 'maybe',
      FunctionTimeout: 7,
      MaxReceiveCount: 0,
      AlarmEmail: 'not-an-address',
      NamePrefix: 'x',
    },
    Tags: { Stage: 'other' },
    Extra: true,
  } as StageConfig)
  t.deepEqual(problems, [
    'unknown key Extra (a template configuration has Parameters, Tags and StackPolicy)',
    'StockTraking is not a parameter of cloudformation/main.yaml',
    'StockTracking: "maybe" is not one of on, off',
    'FunctionTimeout: "7" is not one of 1, 3, 5, 10, 15, 30, 60, 120, 300, 900',
    'MaxReceiveCount: 0 is below 1',
    'AlarmEmail: "not-an-address" does not match ^([^@\\s]+@[^@\\s]+\\.[^@\\s]+)?$',
    "NamePrefix comes from the pipeline's parameters: remove it from the stage file",
    'tag Stage comes from the pipeline: remove it from the stage file',
  ])
  t.deepEqual(build({}, 'dev', 'Bad_Prefix').problems, [
    'NamePrefix: "Bad_Prefix" does not match ^[a-z][a-z0-9-]{0,19}$',
  ])
})

const runCli = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((done) => {
    execFile(
      'npx',
      ['tsx', join(root, 'scripts/delivery/template-config.ts'), ...args],
      { cwd: root, timeout: 30_000 },
      (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })
      },
    )
  })

test('the command writes <stage>-configuration.json, and names the file and the problems when it cannot', async (t) => {
  const dir = tempDir(t, 'template-config-')
  const ok = await runCli(['--stage', 'prod', '--prefix', 'tpprod', '--output-dir', join(dir, 'out')])
  t.is(ok.code, 0, `${ok.stderr}`)
  t.like(JSON.parse(readFileSync(join(dir, 'out', 'prod-configuration.json'), 'utf8')), {
    Parameters: { NamePrefix: 'tpprod', Stage: 'prod', TableDeletionProtection: 'true' },
  })
  const missing = await runCli(['--stage', 'qa', '--output-dir', join(dir, 'out')])
  t.is(missing.code, 1)
  t.regex(missing.stderr, /no stage file .*qa\.json: create it \(it may be \{\}\); stages with a file: dev, prod/)
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ Parameters: { LogLevel: 'loud' } }))
  const bad = await runCli(['--stage', 'bad', '--config-dir', dir, '--output-dir', join(dir, 'out')])
  t.is(bad.code, 1)
  t.regex(bad.stderr, /bad\.json:\n {2}LogLevel: "loud" is not one of fatal, error, warn, info, debug, trace, silent/)
  t.false(readdirSync(join(dir, 'out')).includes('bad-configuration.json'))
})
