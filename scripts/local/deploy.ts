/** The stacks deployed to the emulator with scripts/deploy.sh: what npm start, npm run chaos and the tests share. */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const DEPLOY = fileURLToPath(new URL('../deploy.sh', import.meta.url))

export interface EmulatorDeploy {
  endpoint: string
  prefix: string
  stage: string
  region?: string
  stackName?: string
  /** Build the bundles first (default: use dist/ as it is). */
  build?: boolean
  /** Template parameters, `Key=Value` on the command line. */
  parameters?: Record<string, string | number>
  /** Show the deploy's output as it goes (npm start) instead of keeping it for an error. */
  inherit?: boolean
}

/**
 * Runs scripts/deploy.sh against the emulator.
 * @throws naming the exit code and the end of the deploy's output
 */
export const deployToEmulator = async (options: EmulatorDeploy): Promise<void> => {
  const args = [
    ...['--endpoint', options.endpoint, '--prefix', options.prefix, '--stage', options.stage],
    ...(options.region ? ['--region', options.region] : []),
    ...(options.stackName ? ['--stack-name', options.stackName] : []),
    ...(options.build ? [] : ['--skip-build']),
    ...Object.entries(options.parameters ?? {}).map(([key, value]) => `${key}=${value}`),
  ]
  const child = spawn(DEPLOY, args, {
    cwd: root,
    env: { ...process.env, AWS_ENDPOINT_URL: options.endpoint },
    stdio: options.inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const code = await new Promise<number | null>((resolve, reject) => child.once('error', reject).once('close', resolve))
  if (code !== 0) throw new Error(`the deploy failed (exit ${code})${output ? `: ${output.slice(-600)}` : ''}`)
}
