/**
 * scripts/delivery/run-buildspec.ts on small fixture buildspecs in temporary directories, and the real buildspec.yml: checked
 * statically against CodeBuild's rules, package.json and the pipeline that runs it, dry-run, and its build phase run
 * for real against a moto server (running its pre_build here would run the whole test suite again).
 */
import test from 'ava'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tempDir } from '../../helpers/fixtures.ts'
import { join } from 'node:path'
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { parse } from 'yaml'
import {
  checkBuildspec,
  globToRegExp,
  loadBuildspec,
  missingOutputs,
  selectPhases,
  PHASES,
  type Buildspec,
} from '../../../scripts/delivery/run-buildspec.ts'
import { loadTemplate, parseTemplate } from '../../../scripts/stack/template.ts'
import { configurationFileName } from '../../../scripts/delivery/template-config.ts'
import { evaluate, list, obj, valuesOf, type Obj, type Template } from '../../helpers/cfn.ts'
import { clientsFor, startMoto } from '../../helpers/moto.ts'

const root = new URL('../../../', import.meta.url).pathname
const REAL = join(root, 'buildspec.yml')

interface Run {
  code: number
  stdout: string
  stderr: string
}
const runBuildspec = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> =>
  new Promise((done) => {
    execFile(
      'npx',
      ['tsx', join(root, 'scripts/delivery/run-buildspec.ts'), ...args],
      { cwd: root, timeout: 55_000, env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })
      },
    )
  })

/** A directory holding `buildspec.yml` with this text. */
const fixture = (t: { teardown: (fn: () => void) => void }, text: string): { dir: string; file: string } => {
  const dir = tempDir(t, 'buildspec-')
  writeFileSync(join(dir, 'buildspec.yml'), text)
  return { dir, file: join(dir, 'buildspec.yml') }
}
const read = (dir: string, file: string): string => readFileSync(join(dir, file), 'utf8').trim()

const FAILING = `version: 0.2
env:
  variables:
    GREETING: hello
    OVERRIDDEN: from-buildspec
phases:
  install:
    commands:
      - echo "$GREETING $OVERRIDDEN" > install.txt
      - export FROM_INSTALL=carried
  pre_build:
    commands:
      - echo "$FROM_INSTALL" > pre_build.txt
      - mkdir -p sub && cd sub
      - pwd > ../cwd.txt && echo "$CODEBUILD_SRC_DIR" > ../src.txt
  build:
    commands:
      - echo built > built.txt
      - echo "about to fail" && exit 3
      - echo never > never.txt
    finally:
      - echo cleanup > cleanup.txt
  post_build:
    commands:
      - echo post > post.txt
`

// ---------------------------------------------------------------------------------------------------------------
// The runner on fixtures

test('the phases run in order, variables and the directory carry over, and the first failure stops the run', async (t) => {
  const { dir, file } = fixture(t, FAILING)
  const { code, stdout, stderr } = await runBuildspec(['--file', file], { OVERRIDDEN: 'from-env' })
  t.is(code, 1)
  t.regex(stderr, /FAILED in phase build, command 2 of 3 \(exit 3\): echo "about to fail" && exit 3/)
  t.regex(stdout, /about to fail/)
  t.is(read(dir, 'install.txt'), 'hello from-env', 'env.variables, overridden by the environment')
  t.is(read(dir, 'pre_build.txt'), 'carried', 'an exported variable reaches the next phase')
  t.is(read(dir, 'cwd.txt'), join(dir, 'sub'), 'cd carries over to the next command')
  t.is(read(dir, 'src.txt'), dir, "CODEBUILD_SRC_DIR is the buildspec's directory")
  t.true(existsSync(join(dir, 'sub/built.txt')))
  t.false(existsSync(join(dir, 'sub/never.txt')), 'nothing after the failing command runs')
  t.true(existsSync(join(dir, 'sub/cleanup.txt')), "the phase's finally commands run")
  t.false(existsSync(join(dir, 'sub/post.txt')), 'no later phase runs')
})

const PRODUCING = `version: 0.2
phases:
  pre_build:
    commands:
      - mkdir -p reports && echo '<testsuites/>' > reports/unit.xml
  build:
    commands:
      - mkdir -p out/nested && echo one > out/a.json && echo two > out/nested/b.json
artifacts:
  base-directory: out
  files:
    - '*.json'
    - '**/b.json'
reports:
  unit:
    base-directory: reports
    files: [unit.xml]
    file-format: JUNITXML
`

test('a run ends by checking that the artifact and report files exist', async (t) => {
  const good = fixture(t, PRODUCING)
  const ok = await runBuildspec(['--file', good.file])
  t.is(ok.code, 0, `${ok.stderr}`)
  t.regex(ok.stdout, /outputs present \(artifacts and reports\)/)
  // The same buildspec naming an artifact the build does not write.
  const bad = fixture(t, PRODUCING.replace("- '**/b.json'", "- '**/b.json'\n    - packaged.yaml"))
  const missing = await runBuildspec(['--file', bad.file])
  t.is(missing.code, 1)
  t.regex(missing.stderr, /no file matches\n {2}artifacts: out\/packaged\.yaml/)
})

test("--phases runs the chosen phases in the buildspec's order, checking artifacts only when build ran", async (t) => {
  const { dir, file } = fixture(t, PRODUCING)
  const pre = await runBuildspec(['--file', file, '--phases', 'pre_build'])
  t.is(pre.code, 0, `${pre.stderr}`)
  t.true(existsSync(join(dir, 'reports/unit.xml')))
  t.false(existsSync(join(dir, 'out')))
  t.notRegex(pre.stdout, /outputs present/)
  const build = await runBuildspec(['--file', file, '--phases', 'build'])
  t.regex(build.stdout, /outputs present \(artifacts\)/)
  const unknown = await runBuildspec(['--file', file, '--phases', 'build,deploy'])
  t.is(unknown.code, 2)
  t.regex(unknown.stderr, /--phases: deploy \(this buildspec has pre_build, build\)/)
  const spec = parse(PRODUCING) as Buildspec
  t.deepEqual(selectPhases(spec, 'build,pre_build'), ['pre_build', 'build'])
  t.deepEqual(selectPhases(spec), ['pre_build', 'build'])
})

test("--dry-run prints every phase's commands and runs none of them", async (t) => {
  const { dir, file } = fixture(t, FAILING)
  const { code, stdout } = await runBuildspec(['--file', file, '--dry-run'])
  t.is(code, 0)
  t.regex(
    stdout,
    /phase install\n {2}\$ echo "\$GREETING \$OVERRIDDEN" > install\.txt\n {2}\$ export FROM_INSTALL=carried\n/,
  )
  t.regex(stdout, /phase build\n.*\n.*\n.*\n {2}finally \$ echo cleanup > cleanup\.txt/)
  t.regex(stdout, /dry run: nothing was run/)
  t.false(existsSync(join(dir, 'install.txt')))
})

test('a broken buildspec fails the check, each problem named, and the runner refuses it (exit 2)', async (t) => {
  t.deepEqual(checkBuildspec(parse('version: 0.2\n')), [
    'phases: missing (a buildspec needs phases, from install, pre_build, build, post_build)',
  ])
  t.deepEqual(checkBuildspec(parse('version: 0.2\nphases:\n  build:\n    commands: []\n  pre_build: {}\n')), [
    'phases.build: has no commands',
    'phases.pre_build: has no commands',
  ])
  t.deepEqual(
    checkBuildspec(
      parse('version: 0.1\nphases:\n  biuld:\n    commands: [make]\n  build:\n    commands: [make, 3, ""]\n'),
    ),
    [
      'version: must be 0.2 (found 0.1)',
      'phases.biuld: unknown phase (phases are install, pre_build, build, post_build)',
      'phases.build.commands[1]: not a non-empty string (3)',
    ],
  )
  t.deepEqual(
    checkBuildspec(
      parse(
        [
          'version: 0.2',
          'env:',
          '  variables:',
          '    LIST: [a]',
          'phases:',
          '  install:',
          '    runtime-versions: { nodejs: 22 }',
          '  build:',
          '    commands: [make]',
          '    runtime-versions: { nodejs: 22 }',
          'artifacts:',
          '  files: []',
          '  base-directory: ../out',
          'reports:',
          '  unit:',
          '    files: [x.xml]',
          '    file-format: XML',
          'cache:',
          '  paths: /root/.npm',
        ].join('\n'),
      ),
    ),
    [
      'env.variables.LIST: not a string',
      'phases.build.runtime-versions: a mapping, in the install phase only',
      'artifacts.files: an empty list',
      'artifacts.base-directory: must stay inside the source directory (../out)',
      'reports.unit.file-format: one of JUNITXML, CUCUMBERJSON, TESTNGXML, VISUALSTUDIOTRX, NUNITXML, NUNIT3XML, CLOVERXML, COBERTURAXML, JACOCOXML, SIMPLECOV',
      'cache.paths: a list of strings',
    ],
  )
  const { dir, file } = fixture(t, 'version: 0.2\nphases:\n  build:\n    commands:\n')
  const refused = await runBuildspec(['--file', file])
  t.is(refused.code, 2)
  t.regex(refused.stderr, /is not a valid buildspec:\n {2}phases\.build: has no commands/)
  t.false(existsSync(join(dir, '.build')))
})

test('artifact patterns read as CodeBuild reads them', (t) => {
  t.true(globToRegExp('**/*').test('a/b/c.txt'))
  t.true(globToRegExp('**/*').test('c.txt'))
  t.true(globToRegExp('*-configuration.json').test('prod-configuration.json'))
  t.false(globToRegExp('*-configuration.json').test('x/prod-configuration.json'))
  t.true(globToRegExp('dist/**/*.mjs').test('dist/api/index.mjs'))
  t.false(globToRegExp('packaged.yaml').test('packagedXyaml'))
})

// ---------------------------------------------------------------------------------------------------------------
// The real buildspec.yml

const real = loadBuildspec(REAL)
const spec = real.spec
const commands = (phase: (typeof PHASES)[number]): string[] => spec.phases[phase]?.commands ?? []

test('buildspec.yml passes the check and has install, pre_build and build, each with commands', (t) => {
  t.deepEqual(real.problems, [])
  t.deepEqual(selectPhases(spec), ['install', 'pre_build', 'build'])
  for (const phase of ['install', 'pre_build', 'build'] as const) t.true(commands(phase).length > 0, `${phase}`)
  t.deepEqual(spec.phases.install?.['runtime-versions'], { nodejs: 22 })
  t.is(spec.env?.shell, 'bash', 'pre_build pipes ava into tap-junit with pipefail')
  t.deepEqual(spec.cache?.paths, ['/root/.npm/**/*'])
})

test('buildspec.yml installs from the lock file, and its pre_build is npm test with JUnit output where reports reads it', (t) => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>
    devDependencies: Record<string, string>
  }
  t.true(commands('install').some((c) => /^npm ci\b/.test(c)))
  t.true(
    commands('install').some(
      (c) => c.includes('pip install') && c.includes("'moto[server]'") && c.includes('cfn-lint'),
    ),
  )
  // npm test is test:checks then test:unit (ava): pre_build runs the first, then ava with TAP into tap-junit.
  t.is(pkg.scripts.test, 'npm run test:checks && npm run test:unit')
  t.is(pkg.scripts['test:unit'], 'ava')
  t.is(commands('pre_build')[0], 'npm run test:checks')
  // The policy scan gates both (zero unsuppressed failures), with the defaults and with the prod stage's values.
  t.true(pkg.scripts['test:checks']?.split(' && ').includes('npm run guard:gate'), 'test:checks runs the guard')
  t.deepEqual(pkg.scripts['guard:gate']?.split(' && '), [
    'tsx scripts/delivery/guard.ts',
    'tsx scripts/delivery/guard.ts --config cloudformation/config/prod.json',
  ])
  const ava = commands('pre_build')[1] ?? ''
  t.regex(ava, /^set -o pipefail; .*npx ava --tap \| tee \S+ \| npx tap-junit /)
  t.regex(pkg.devDependencies['tap-junit'] ?? '', /^\d+\.\d+\.\d+$/, 'an exact devDependency')
  const output = /--output (\S+)/.exec(ava)?.[1]
  const name = /--name (\S+)/.exec(ava)?.[1]
  const reports = Object.entries(spec.reports ?? {})
  t.is(reports.length, 1)
  const [key, group] = reports[0]!
  t.is(group['file-format'], 'JUNITXML')
  t.deepEqual([group['base-directory'], group.files], [output, [name]], 'the report is the file tap-junit writes')
  // CodeBuild files the report under <project>-<key>: the report group pipeline.yaml creates for the build role.
  const pipeline = loadTemplate(join(root, 'cloudformation/pipeline.yaml')) as unknown as Template
  const values = valuesOf(pipeline)
  t.is(
    evaluate(pipeline.Resources.TestReportGroup?.Properties?.Name, pipeline, values),
    `${String(evaluate(pipeline.Resources.BuildProject?.Properties?.Name, pipeline, values))}-${key}`,
  )
})

test("buildspec.yml's artifacts are what the deploy action reads, from the variables the CodeBuild project sets", (t) => {
  const pipeline = loadTemplate(join(root, 'cloudformation/pipeline.yaml')) as unknown as Template
  const projectVariables = list<Obj>(
    obj(pipeline.Resources.BuildProject?.Properties?.Environment).EnvironmentVariables,
  ).map((v) => String(v.Name))
  const used = new Set(
    commands('build')
      .join('\n')
      .match(/\$\{?([A-Z_]+)/g)
      ?.map((v) => v.replace(/^\$\{?/, '')),
  )
  t.deepEqual([...used].sort(), [...projectVariables].sort(), "the build uses exactly the project's variables")
  for (const variable of ['STAGE', 'NAME_PREFIX'])
    t.truthy(spec.env?.variables?.[variable], `${variable} has a local default`)
  t.false('ARTIFACTS_BUCKET' in (spec.env?.variables ?? {}), 'no default bucket: a local run must name one')
  const deploy = obj(
    list<Obj>(list<Obj>(pipeline.Resources.Pipeline?.Properties?.Stages).find((s) => s.Name === 'Deploy')?.Actions)[0]
      ?.Configuration,
  )
  const values = valuesOf(pipeline, { Stage: 'prod' })
  const templatePath = String(evaluate(deploy.TemplatePath, pipeline, values)).replace('BuildOutput::', '')
  const configurationPath = String(evaluate(deploy.TemplateConfiguration, pipeline, values)).replace(
    'BuildOutput::',
    '',
  )
  t.is(configurationPath, configurationFileName('prod'))
  // The deploy action reads files at the root of the build artifact: each must match one of the artifact patterns.
  for (const path of [templatePath, configurationPath])
    t.true(
      spec.artifacts!.files.some((p) => globToRegExp(p).test(path)),
      `${path}`,
    )
  t.true(commands('build').some((c) => c.includes(`--output ${spec.artifacts!['base-directory']!}/${templatePath}`)))
  t.true(
    commands('build').some(
      (c) => c.includes('template-config') && c.includes(`--output-dir ${spec.artifacts!['base-directory']!}`),
    ),
  )
})

test('a dry run of buildspec.yml lists every command in order and runs nothing', async (t) => {
  const { code, stdout } = await runBuildspec(['--dry-run'])
  t.is(code, 0)
  const listed = stdout
    .split('\n')
    .filter((l) => l.startsWith('  $ '))
    .map((l) => l.slice(4))
  t.deepEqual(listed, [...commands('install'), ...commands('pre_build'), ...commands('build')])
  t.regex(
    stdout,
    /then checks: \.build\/delivery\/packaged\.yaml, \.build\/delivery\/\*-configuration\.json, \.build\/reports\/ava\.xml/,
  )
})

test('the build phase of buildspec.yml produces its artifacts: packaged.yaml on the bucket and the stage configuration', async (t) => {
  // A source directory of links to this checkout (its dist/ built by npm test), so that the outputs stay apart.
  const dir = tempDir(t, 'buildspec-real-')
  for (const entry of ['buildspec.yml', 'package.json', 'node_modules', 'scripts', 'cloudformation', 'dist'])
    symlinkSync(join(root, entry), join(dir, entry))
  mkdirSync(join(dir, '.build'))
  const moto = await startMoto()
  try {
    const { s3 } = clientsFor(moto.endpoint)
    await s3.send(
      new CreateBucketCommand({
        Bucket: 'rb-delivery',
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-3' },
      }),
    )
    const { code, stdout, stderr } = await runBuildspec(['--file', join(dir, 'buildspec.yml'), '--phases', 'build'], {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'eu-west-3',
      ARTIFACTS_BUCKET: 'rb-delivery',
      STAGE: 'prod',
      NAME_PREFIX: 'rb',
    })
    t.is(code, 0, `${stdout}\n${stderr}`)
    t.regex(stdout, /outputs present \(artifacts\)/)
    t.deepEqual(missingOutputs(spec, dir, { artifacts: true, reports: false }), [])
    const packaged = parseTemplate<Template>(readFileSync(join(dir, '.build/delivery/packaged.yaml'), 'utf8'))
    for (const [id, stack] of Object.entries(packaged.Resources))
      t.regex(String(stack.Properties?.TemplateURL), /rb-delivery\/packages\/[0-9a-f]+\.template$/, `${id}`)
    const uploaded =
      (await s3.send(new ListObjectsV2Command({ Bucket: 'rb-delivery' }))).Contents?.map((o) => o.Key) ?? []
    // One template per nested stack of main.yaml, one package per function bundle of those stacks.
    const main = loadTemplate(join(root, 'cloudformation/main.yaml')) as unknown as Template
    const children = Object.values(main.Resources).map(
      (r) => loadTemplate(join(root, 'cloudformation', String(r.Properties?.TemplateURL))) as unknown as Template,
    )
    const bundles = new Set(
      children.flatMap((c) =>
        Object.values(c.Resources)
          .filter((r) => r.Type === 'AWS::Lambda::Function')
          .map((r) => String(r.Properties?.Code)),
      ),
    )
    t.is(uploaded.filter((k) => k?.endsWith('.template')).length, children.length)
    t.is(uploaded.filter((k) => !k?.endsWith('.template')).length, bundles.size, `the ${bundles.size} bundles`)
    t.true(bundles.has('../dist/generator'), `the generator's bundle among them`)
    const configuration = JSON.parse(readFileSync(join(dir, '.build/delivery/prod-configuration.json'), 'utf8')) as {
      Parameters: Record<string, string>
    }
    t.like(configuration.Parameters, { NamePrefix: 'rb', Stage: 'prod', TableDeletionProtection: 'true' })
    // Without the bucket, the build stops on the first command and says why.
    const unnamed = await runBuildspec(['--file', join(dir, 'buildspec.yml'), '--phases', 'build'], {
      ARTIFACTS_BUCKET: '',
    })
    t.is(unnamed.code, 1)
    t.regex(unnamed.stderr, /ARTIFACTS_BUCKET must name the artifacts bucket/)
    t.regex(unnamed.stderr, /FAILED in phase build, command 1 of 2/)
  } finally {
    moto.stop()
  }
})
