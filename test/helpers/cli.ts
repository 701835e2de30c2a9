/** Runs a user command's commander program in-process and returns what it printed. */
import type { Command } from 'commander'

export const runCommand = async (program: Command, args: string[]): Promise<string> => {
  const lines: string[] = []
  const log = console.log
  console.log = (...parts: unknown[]) => {
    lines.push(parts.join(' '))
  }
  try {
    await program.parseAsync(['node', program.name(), ...args])
  } finally {
    console.log = log
  }
  return lines.join('\n')
}
