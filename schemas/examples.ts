/**
 * The seed orders, one or more per dialect (`schemas/examples/`, described in its README): what the demo sends,
 * what the README shows and what the tests start from. A copy of the project's shared seed orders, kept equal by
 * test/fixtures.test.ts.
 */
import { readFileSync } from 'node:fs'

export const EXAMPLES = new URL('./examples/', import.meta.url)

/** The text of one example, as a client would send it. */
export const exampleText = (name: string): string => readFileSync(new URL(name, EXAMPLES), 'utf8')

/** One example, parsed. */
export const example = (name: string): Record<string, unknown> =>
  JSON.parse(exampleText(name)) as Record<string, unknown>
