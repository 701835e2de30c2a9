/**
 * npm run help: every user command with one line each, like `make help`; --markdown prints the README's table of
 * them, --write-readme writes it into README.md (between `<!-- commands:begin -->` and `<!-- commands:end -->`;
 * test/scripts/help.test.ts fails when the two differ).
 *
 * The commands are package.json's scripts that run a file directly under scripts/ (`tsx scripts/NAME.ts`, or
 * `scripts/NAME.sh` such as deploy.sh); the delivery and development tools live under scripts/delivery/ or test/
 * and are left out, so a new command appears here by itself. Each line is the first line of the command's --help
 * description: read from its commander program where the module exports it behind the usual guard (importing it
 * runs nothing), else from its --help output. A script package.json names that is not there is skipped, with a
 * warning.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { Command } from 'commander'
import { run } from './cli.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

export const BEGIN = '<!-- commands:begin -->'
export const END = '<!-- commands:end -->'

export interface UserCommand {
  /** The package.json script: `npm run <name>` (`npm start` for start). */
  name: string
  /** The file it runs, relative to the repository. */
  file: string
}

export interface CommandHelp extends UserCommand {
  /** How it is called: `npm run logs -- <function>`. */
  usage: string
  /** The first line of its --help description. */
  summary: string
}

/** A script that runs a user command: `[VAR=value ...] tsx scripts/NAME.ts` or `scripts/NAME.sh`, nothing before. */
const COMMAND_SCRIPT = /^(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:tsx\s+)?(scripts\/[A-Za-z0-9_-]+\.(?:ts|sh))(?:\s|$)/

/** The user commands package.json names, by name. */
export const userCommands = (scripts: Record<string, string>): UserCommand[] =>
  Object.entries(scripts)
    .flatMap(([name, command]) => {
      const file = COMMAND_SCRIPT.exec(command)?.[1]
      return file ? [{ name, file }] : []
    })
    .sort((a, b) => a.name.localeCompare(b.name))

const readPackageScripts = (dir = root): Record<string, string> =>
  (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {}

const npmRun = (name: string): string => (name === 'start' || name === 'test' ? `npm ${name}` : `npm run ${name}`)

/** What a commander program says of itself: its first description line and its arguments or subcommands. */
const fromProgram = (program: Command): { summary: string; args: string } => {
  const args =
    program.commands.length > 0
      ? program.commands.map((c) => c.name()).join('|')
      : program.registeredArguments
          .map((a) => {
            const name = `${a.name()}${a.variadic ? '...' : ''}`
            return a.required ? `<${name}>` : `[${name}]`
          })
          .join(' ')
  return { summary: program.description().split('\n')[0]!.trim(), args }
}

/**
 * What a --help output says: commander's (`Usage: name [options] <args>`, a blank line, the description) or a
 * script's own (`usage: …` lines, a blank line, the first paragraph).
 */
export const fromHelpText = (text: string): { summary: string; args: string } => {
  const lines = text.split('\n')
  const usageAt = lines.findIndex((l) => /^usage:/i.test(l.trim()))
  const usage = usageAt >= 0 ? lines[usageAt]!.trim().replace(/^usage:\s*\S+\s*/i, '') : ''
  let i = usageAt + 1
  while (i < lines.length && lines[i]!.trim() !== '') i++
  while (i < lines.length && lines[i]!.trim() === '') i++
  const paragraph: string[] = []
  while (i < lines.length && lines[i]!.trim() !== '') paragraph.push(lines[i++]!.trim())
  const args = usage
    .replace(/\[options\]/g, '')
    .replace(/\[command\]/g, '')
    .trim()
  return { summary: paragraph.join(' '), args: commanderish(usage) ? args : '' }
}

/** A commander usage line names its arguments; a script's own usage line is left out of the table. */
const commanderish = (usage: string): boolean => /^\[options\]/.test(usage)

/** Whether importing the module runs nothing: it exports its program and parses only when run itself. */
const importable = (source: string): boolean =>
  /import\.meta\.url === `file:\/\/\$\{process\.argv\[1\]\}`/.test(source) &&
  /export\s+(?:\{[^}]*\bprogram\b[^}]*\}|const\s+program\b)/.test(source)

const helpOutput = async (file: string): Promise<string> => {
  const command = file.endsWith('.sh') ? ['bash', [file, '--help']] : ['node', ['--import', 'tsx', file, '--help']]
  const { stdout } = await promisify(execFile)(command[0] as string, command[1] as string[], {
    cwd: root,
    timeout: 30_000,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  })
  return stdout
}

/** One command's help line; undefined (and a warning) when its file is missing or says nothing. */
export const describeCommand = async (
  command: UserCommand,
  warn: (line: string) => void = (line) => console.error(`help: ${line}`),
  dir = root,
): Promise<CommandHelp | undefined> => {
  const path = join(dir, command.file)
  if (!existsSync(path)) {
    warn(`npm run ${command.name} runs ${command.file}, which is missing: left out`)
    return undefined
  }
  let said: { summary: string; args: string } | undefined
  // This very module is still running its top-level await: importing it again would wait for itself.
  if (path === fileURLToPath(import.meta.url)) said = fromProgram(program)
  else if (path.endsWith('.ts') && importable(readFileSync(path, 'utf8'))) {
    try {
      const module = (await import(pathToFileURL(path).href)) as { program?: unknown }
      if (module.program instanceof Command) said = fromProgram(module.program)
    } catch {
      said = undefined
    }
  }
  if (!said) {
    try {
      said = fromHelpText(await helpOutput(command.file))
    } catch (err) {
      warn(`${command.file} --help failed (${(err as Error).message.split('\n')[0]}): left out`)
      return undefined
    }
  }
  if (!said.summary) {
    warn(`${command.file} --help has no description: left out`)
    return undefined
  }
  const usage = `${npmRun(command.name)}${said.args ? ` -- ${said.args}` : ''}`
  return { ...command, usage, summary: said.summary }
}

/** Every user command's help line, in name order. */
export const commandHelp = async (
  scripts: Record<string, string> = readPackageScripts(),
  warn?: (line: string) => void,
): Promise<CommandHelp[]> => {
  const found = await Promise.all(userCommands(scripts).map((c) => describeCommand(c, warn)))
  return found.filter((c): c is CommandHelp => c !== undefined)
}

/** The plain list: the call, then its line. */
export const formatList = (commands: CommandHelp[]): string => {
  const width = Math.max(...commands.map((c) => c.usage.length))
  return [
    ...commands.map((c) => `${c.usage.padEnd(width)}  ${c.summary}`),
    '',
    'Each answers --help: npm run NAME -- --help (npm start -- --help).',
  ].join('\n')
}

const cell = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|')

/** The README's table. */
export const formatMarkdown = (commands: CommandHelp[]): string =>
  [
    '| command | what it does |',
    '| --- | --- |',
    ...commands.map((c) => `| \`${cell(c.usage)}\` | ${cell(c.summary)} |`),
  ].join('\n')

/** The README with `table` between the markers. @throws when the markers are not there, once each, in order */
export const withTable = (readme: string, table: string): string => {
  const begin = readme.indexOf(BEGIN)
  const end = readme.indexOf(END)
  if (begin < 0 || end < begin || readme.indexOf(BEGIN, begin + 1) >= 0 || readme.indexOf(END, end + 1) >= 0)
    throw new Error(`README.md must hold ${BEGIN} and then ${END}, once each`)
  return `${readme.slice(0, begin + BEGIN.length)}\n${table}\n${readme.slice(end)}`
}

/** The table in the README, between the markers (undefined without them). */
export const tableIn = (readme: string): string | undefined => {
  const begin = readme.indexOf(BEGIN)
  const end = readme.indexOf(END)
  return begin < 0 || end < begin ? undefined : readme.slice(begin + BEGIN.length, end).trim()
}

const program = new Command('help')
  .description('List every command with one line each (npm run NAME -- --help for the whole of one).')
  .option('--markdown', "print the README's table of the commands")
  .option(
    '--write-readme',
    'write that table into README.md, between <!-- commands:begin --> and <!-- commands:end -->',
  )
  .option('--json', 'print JSON')
  .addHelpText(
    'after',
    `
The commands are package.json's scripts that run a file directly under scripts/ (tsx scripts/NAME.ts, or
scripts/deploy.sh); the delivery and development tools (scripts/delivery/, test/) are left out.`,
  )
  .action(async (options: { markdown?: boolean; writeReadme?: boolean; json?: boolean }) => {
    const commands = await commandHelp()
    if (options.writeReadme) {
      const file = join(root, 'README.md')
      const before = readFileSync(file, 'utf8')
      const after = withTable(before, formatMarkdown(commands))
      if (after !== before) writeFileSync(file, after)
      console.log(
        after === before
          ? 'README.md: the table was up to date'
          : `README.md: wrote the table of ${commands.length} commands`,
      )
    } else if (options.json) console.log(JSON.stringify(commands, null, 2))
    else console.log(options.markdown ? formatMarkdown(commands) : formatList(commands))
  })

if (import.meta.url === `file://${process.argv[1]}`) await run(program)
export { program }
