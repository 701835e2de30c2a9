/**
 * The import rules of .eslintrc.cjs (import/no-restricted-paths zones, no-restricted-imports for lib/orders): a file
 * of each zone is linted with injected code that breaks one rule, through the project's own ESLint configuration.
 */
import test from 'ava'
// @ts-expect-error -- ESLint 8 ships no type declarations (and @types/eslint is not installed); typed below.
import { ESLint as UntypedESLint } from 'eslint'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

interface LintMessage {
  ruleId: string | null
  message: string
  fatal?: boolean
}
interface Linter {
  lintText(code: string, options: { filePath: string }): Promise<{ messages: LintMessage[] }[]>
}
const ESLint = UntypedESLint as new (options: { cwd: string; overrideConfig?: Record<string, unknown> }) => Linter

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const importRules = new Set(['import/no-restricted-paths', 'no-restricted-imports'])

// One instance for the whole file: typescript-eslint builds the TypeScript program once. Without
// disallowAutomaticSingleRunInference, CI=true makes typescript-eslint lint the file on disk, not the injected text.
const eslint = new ESLint({
  cwd: repoRoot,
  overrideConfig: { parserOptions: { disallowAutomaticSingleRunInference: true } },
})

async function lint(file: string, code: string): Promise<LintMessage[]> {
  const [result] = await eslint.lintText(`${code}\n`, { filePath: join(repoRoot, file) })
  return result?.messages ?? []
}

// import/no-restricted-paths skips what it cannot resolve: a case importing a file that was moved would prove nothing.
function relativeTargetsExist(file: string, code: string): boolean {
  return [...code.matchAll(/from '(\.[^']+)'/g)].every(([, spec]) =>
    existsSync(join(repoRoot, dirname(file), spec ?? '')),
  )
}

const failsLint = test.macro(async (t, file: string, code: string, ruleId: string, rule: RegExp) => {
  t.true(existsSync(join(repoRoot, file)) && relativeTargetsExist(file, code), 'the linted file and its import exist')
  const messages = await lint(file, code)
  t.deepEqual(
    messages.filter((m) => m.fatal),
    [],
    'the injected code parses',
  )
  const reported = messages.filter((m) => m.ruleId === ruleId)
  t.true(
    reported.some((m) => rule.test(m.message)),
    `${ruleId} reports ${String(rule)} for ${file}; got ${messages.map((m) => `${m.ruleId}: ${m.message}`).join(' | ')}`,
  )
})

const passesImportRules = test.macro(async (t, file: string, code: string) => {
  t.true(existsSync(join(repoRoot, file)) && relativeTargetsExist(file, code), 'the linted file and its import exist')
  const messages = await lint(file, code)
  t.deepEqual(
    messages.filter((m) => m.fatal || (m.ruleId !== null && importRules.has(m.ruleId))),
    [],
  )
})

test(
  'a file of lib/orders that imports lib/aws fails lint',
  failsLint,
  'lib/orders/money.ts',
  "import { sendMessages } from '../aws/queue.ts'",
  'import/no-restricted-paths',
  /lib\/orders is the pure domain/,
)

test(
  'a file of lib/orders that imports the AWS SDK fails lint',
  failsLint,
  'lib/orders/money.ts',
  "import { SQSClient } from '@aws-sdk/client-sqs'",
  'no-restricted-imports',
  /no AWS SDK/,
)

test(
  'a file of lib/aws that imports middlewares fails lint',
  failsLint,
  'lib/aws/queue.ts',
  "import { flushMetrics } from '../../middlewares/metrics.ts'",
  'import/no-restricted-paths',
  /lib\/ is the bottom layer/,
)

test(
  'a middleware that imports a handler fails lint',
  failsLint,
  'middlewares/metrics.ts',
  "import { handler } from '../handlers/worker.ts'",
  'import/no-restricted-paths',
  /middlewares\/ never import handlers\//,
)

test(
  'a script other than the build that imports a handler fails lint',
  failsLint,
  'scripts/status.ts',
  "import { handler } from '../handlers/worker.ts'",
  'import/no-restricted-paths',
  /handlers\/ are Lambda entry points/,
)

test(
  'a script that imports test helpers fails lint',
  failsLint,
  'scripts/status.ts',
  "import { seed } from '../test/helpers/fixtures.ts'",
  'import/no-restricted-paths',
  /test\/ is imported only by test\//,
)

test(
  'a file of lib/aws that imports lib/orders passes the import rules',
  passesImportRules,
  'lib/aws/queue.ts',
  "import { toCents } from '../orders/money.ts'",
)

test(
  'the build script that imports a handler passes the import rules',
  passesImportRules,
  'scripts/delivery/build.ts',
  "import { handler } from '../../handlers/worker.ts'",
)
