/**
 * npm run template-config: writes the template configuration file that the delivery pipeline's CloudFormation
 * deploy action reads (`TemplateConfiguration: BuildOutput::<stage>-configuration.json`), from the stage's
 * checked-in file cloudformation/config/<stage>.json plus NamePrefix and Stage, which come from the pipeline.
 * Every parameter is checked against cloudformation/main.yaml (declared, allowed value, pattern, range), so that a
 * typo fails the build rather than the deploy.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Command } from 'commander'
import { loadTemplate } from '../stack/template.ts'
import { run } from '../cli.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** What a stage's file may hold: CodePipeline's template configuration, NamePrefix and Stage left out. */
export interface StageConfig {
  Parameters?: Record<string, string | number | boolean>
  Tags?: Record<string, string>
  StackPolicy?: { Statement: unknown[] }
}

/** The file the deploy action reads: every value a string. */
export interface TemplateConfiguration {
  Parameters: Record<string, string>
  Tags: Record<string, string>
  StackPolicy?: { Statement: unknown[] }
}

interface ParameterSpec {
  Type?: string
  AllowedValues?: unknown[]
  AllowedPattern?: string
  MinValue?: number
  MaxValue?: number
}

/** Set by the pipeline (its NamePrefix and Stage parameters), never by a stage's file. */
const FROM_PIPELINE = ['NamePrefix', 'Stage'] as const

/** Why a value does not fit a parameter's definition, or undefined when it does. */
export const parameterProblem = (name: string, value: string, spec: ParameterSpec): string | undefined => {
  if (spec.AllowedValues && !spec.AllowedValues.map(String).includes(value)) {
    return `${name}: "${value}" is not one of ${spec.AllowedValues.map(String).join(', ')}`
  }
  if (spec.AllowedPattern && !new RegExp(spec.AllowedPattern).test(value))
    return `${name}: "${value}" does not match ${spec.AllowedPattern}`
  if (spec.Type === 'Number') {
    if (value.trim() === '' || !Number.isFinite(Number(value))) return `${name}: "${value}" is not a number`
    if (spec.MinValue !== undefined && Number(value) < spec.MinValue)
      return `${name}: ${value} is below ${spec.MinValue}`
    if (spec.MaxValue !== undefined && Number(value) > spec.MaxValue)
      return `${name}: ${value} is above ${spec.MaxValue}`
  }
  return undefined
}

/**
 * The template configuration of a stage, and what is wrong with its file (nothing is written when anything is).
 * @param parameters the root template's Parameters section
 */
export const buildConfiguration = (
  config: StageConfig,
  parameters: Record<string, ParameterSpec>,
  pipeline: { stage: string; prefix: string },
): { configuration: TemplateConfiguration; problems: string[] } => {
  const problems: string[] = []
  for (const key of Object.keys(config)) {
    if (!['Parameters', 'Tags', 'StackPolicy'].includes(key))
      problems.push(`unknown key ${key} (a template configuration has Parameters, Tags and StackPolicy)`)
  }
  const values: Record<string, string> = {}
  for (const [name, value] of Object.entries(config.Parameters ?? {})) {
    if ((FROM_PIPELINE as readonly string[]).includes(name)) {
      problems.push(`${name} comes from the pipeline's parameters: remove it from the stage file`)
      continue
    }
    const spec = parameters[name]
    if (!spec) {
      problems.push(`${name} is not a parameter of cloudformation/main.yaml`)
      continue
    }
    if (!['string', 'number', 'boolean'].includes(typeof value)) {
      problems.push(`${name}: a parameter value is a string, a number or a boolean`)
      continue
    }
    const problem = parameterProblem(name, String(value), spec)
    if (problem) problems.push(problem)
    values[name] = String(value)
  }
  for (const [name, value] of Object.entries({ NamePrefix: pipeline.prefix, Stage: pipeline.stage })) {
    const problem = parameters[name]
      ? parameterProblem(name, value, parameters[name]!)
      : `${name} is not a parameter of cloudformation/main.yaml`
    if (problem) problems.push(problem)
  }
  const tags: Record<string, string> = {}
  for (const [key, value] of Object.entries(config.Tags ?? {})) {
    if ((FROM_PIPELINE as readonly string[]).includes(key))
      problems.push(`tag ${key} comes from the pipeline: remove it from the stage file`)
    else if (typeof value !== 'string') problems.push(`tag ${key}: a tag value is a string`)
    else tags[key] = value
  }
  if (config.StackPolicy !== undefined && !Array.isArray(config.StackPolicy?.Statement))
    problems.push('StackPolicy needs a Statement list')
  return {
    configuration: {
      Parameters: { NamePrefix: pipeline.prefix, Stage: pipeline.stage, ...values },
      Tags: { Stage: pipeline.stage, NamePrefix: pipeline.prefix, ...tags },
      ...(config.StackPolicy ? { StackPolicy: config.StackPolicy } : {}),
    },
    problems,
  }
}

/** The deploy action's file name for a stage (pipeline.yaml's TemplateConfiguration). */
export const configurationFileName = (stage: string): string => `${stage}-configuration.json`

interface Options {
  stage: string
  prefix: string
  configDir: string
  template: string
  outputDir: string
}

const program = new Command('template-config')
  .description("Write <stage>-configuration.json, the template configuration of the delivery pipeline's deploy action.")
  .option('--stage <stage>', 'the stage (reads <config-dir>/<stage>.json)', process.env.STAGE ?? 'dev')
  .option('--prefix <prefix>', 'the NamePrefix of the application', process.env.NAME_PREFIX ?? 'tp')
  .option('--config-dir <dir>', 'where the stage files are', join(root, 'cloudformation/config'))
  .option(
    '--template <file>',
    'the root template whose parameters the file must fit',
    join(root, 'cloudformation/main.yaml'),
  )
  .option('--output-dir <dir>', 'where to write <stage>-configuration.json', '.build/delivery')
  .addHelpText(
    'after',
    `
A stage file holds Parameters (values for main.yaml's parameters), Tags and an optional StackPolicy; NamePrefix and
Stage come from --prefix and --stage (the pipeline's CodeBuild project sets NAME_PREFIX and STAGE) and become both
parameters and tags. Unknown parameters, values outside AllowedValues, AllowedPattern or the range fail.`,
  )
  .action((options: Options) => {
    const file = resolve(options.configDir, `${options.stage}.json`)
    if (!existsSync(file)) {
      const stages = existsSync(options.configDir)
        ? readdirSync(options.configDir)
            .filter((f) => f.endsWith('.json'))
            .map((f) => f.replace(/\.json$/, ''))
        : []
      throw new Error(
        `no stage file ${file}: create it (it may be {}); stages with a file: ${stages.join(', ') || 'none'}`,
      )
    }
    let config: StageConfig
    try {
      config = JSON.parse(readFileSync(file, 'utf8')) as StageConfig
    } catch (err) {
      throw new Error(`${file} is not JSON: ${(err as Error).message}`)
    }
    const parameters = (loadTemplate(options.template).Parameters ?? {}) as Record<string, ParameterSpec>
    const { configuration, problems } = buildConfiguration(config, parameters, options)
    if (problems.length > 0) throw new Error(`${file}:\n  ${problems.join('\n  ')}`)
    mkdirSync(options.outputDir, { recursive: true })
    const output = join(options.outputDir, configurationFileName(options.stage))
    writeFileSync(output, `${JSON.stringify(configuration, null, 2)}\n`)
    console.log(`template configuration: ${output} (${Object.keys(configuration.Parameters).length} parameters)`)
  })

// realpath: run through a symbolic link (a checkout's scripts/ linked elsewhere), the module URL is the real path.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href)
  await run(program)
export { program }
