/**
 * npm run help (scripts/help.ts): the user commands come from package.json (scripts run directly from scripts/, the
 * delivery and development tools left out), each with the first line of its --help; the README's table is exactly
 * what `npm run help -- --markdown` prints (regenerate it with `npm run help -- --write-readme`).
 */
import test from 'ava'
import { readFileSync } from 'node:fs'
import {
  commandHelp,
  describeCommand,
  formatMarkdown,
  fromHelpText,
  tableIn,
  userCommands,
  withTable,
  BEGIN,
  END,
} from '../../scripts/help.ts'

const root = new URL('../../', import.meta.url).pathname
const scripts = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts

test('the user commands are the scripts that run scripts/NAME.ts or scripts/NAME.sh, nothing else', (t) => {
  const found = userCommands({
    status: 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true tsx scripts/status.ts',
    deploy: 'scripts/deploy.sh',
    guard: 'tsx scripts/delivery/guard.ts',
    audit: 'scripts/delivery/audit.sh',
    bench: 'npm run build && tsx test/bench/run.ts',
    format: 'prettier --write "**/*.ts"',
    test: 'npm run test:checks && npm run test:unit',
  })
  t.deepEqual(found, [
    { name: 'deploy', file: 'scripts/deploy.sh' },
    { name: 'status', file: 'scripts/status.ts' },
  ])
  const names = userCommands(scripts).map((c) => c.name)
  for (const name of ['start', 'status', 'send', 'deploy', 'help', 'stock', 'console', 'chaos'])
    t.true(names.includes(name), `${name} is a user command`)
  for (const name of ['build', 'lint', 'guard', 'audit', 'buildspec', 'bench', 'format', 'lake-queries'])
    t.false(names.includes(name), `${name} is a delivery or development tool`)
})

test('a command whose script is missing is left out with a warning', async (t) => {
  const warnings: string[] = []
  t.is(await describeCommand({ name: 'later', file: 'scripts/not-there-yet.ts' }, (w) => warnings.push(w)), undefined)
  t.deepEqual(warnings, ['npm run later runs scripts/not-there-yet.ts, which is missing: left out'])
})

test("--help texts are read: commander's and a shell script's own", (t) => {
  t.deepEqual(
    fromHelpText(
      "Usage: logs [options] <function>\n\nPrint a function's log lines: CloudWatch Logs on AWS,\nthe local files.\n\nArguments:\n",
    ),
    { summary: "Print a function's log lines: CloudWatch Logs on AWS, the local files.", args: '<function>' },
  )
  t.deepEqual(
    fromHelpText('usage: scripts/x.sh [options]\n       scripts/x.sh --other\n\nDoes one thing\n(well).\n\nMore.\n'),
    { summary: 'Does one thing (well).', args: '' },
  )
})

test('every user command answers --help with a description, and the README table is what --markdown prints', async (t) => {
  const warnings: string[] = []
  const commands = await commandHelp(scripts, (w) => warnings.push(w))
  const present = userCommands(scripts).filter((c) => !warnings.some((w) => w.includes(`${c.file}, which is missing`)))
  t.deepEqual(
    commands.map((c) => c.name),
    present.map((c) => c.name),
    `every present command has a description: ${warnings.join('; ')}`,
  )
  t.true(commands.every((c) => c.summary.length > 10 && !c.summary.includes('\n')))
  t.true(commands.some((c) => c.usage === 'npm start'))
  t.true(commands.some((c) => c.usage === 'npm run send -- <file>'))
  const readme = readFileSync(`${root}README.md`, 'utf8')
  t.is(
    tableIn(readme),
    formatMarkdown(commands),
    'the README table of the commands is out of date: run npm run help -- --write-readme',
  )
})

test('the table is written between its markers only', (t) => {
  const readme = `# Title\n\n${BEGIN}\nold\n${END}\n\nafter\n`
  t.is(withTable(readme, '| new |'), `# Title\n\n${BEGIN}\n| new |\n${END}\n\nafter\n`)
  t.throws(() => withTable('no markers', 'x'), { message: /must hold <!-- commands:begin -->/ })
})
