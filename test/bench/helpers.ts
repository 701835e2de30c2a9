/** Shared by the bench scenarios: what a section hands back, small statistics, target marks and text tables. */
import { pathToFileURL } from 'node:url'

/** One section of the report: its printed lines and the same figures for .build/bench.json. */
export interface Section {
  title: string
  lines: string[]
  figures: Record<string, unknown>
}

export type Scenario = () => Promise<Section>

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export const round = (value: number, digits = 2): number => Number(value.toFixed(digits))

/** `≤ 1.25 req PASS` / `≤ 500 KB OVER`: the bench reports targets, it never fails on them. */
/** A figure against its target: at most `bound` (the default), or at least it (`min`). */
export const target = (
  value: number,
  bound: number,
  unit: string,
  kind: 'max' | 'min' = 'max',
): { text: string; pass: boolean } => {
  const pass = kind === 'max' ? value <= bound : value >= bound
  const sign = kind === 'max' ? '≤' : '≥'
  return { text: `${sign} ${fmt(bound)} ${unit} ${pass ? 'PASS' : kind === 'max' ? 'OVER' : 'UNDER'}`, pass }
}

export const fmt = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })

/** A text table: the first column left-aligned, the others right-aligned (a trailing note column left-aligned). */
export const table = (headers: string[], rows: string[][], { indent = 2, noteColumn = false } = {}): string[] => {
  const all = [headers, ...rows]
  const widths = headers.map((_, c) => Math.max(...all.map((row) => (row[c] ?? '').length)))
  const last = headers.length - 1
  const line = (row: string[]) =>
    ' '.repeat(indent) +
    row
      .map((cell, c) => (c === 0 || (noteColumn && c === last) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd()
  return [line(headers), ' '.repeat(indent) + widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)]
}

export const printSection = (section: Section): void => {
  console.log(`\n${section.title}`)
  for (const line of section.lines) console.log(line)
}

/** Lets a scenario file run on its own: `npx tsx test/bench/worker-cpu.bench.ts`. */
export const runIfMain = async (moduleUrl: string, scenario: Scenario): Promise<void> => {
  if (process.argv[1] === undefined || pathToFileURL(process.argv[1]).href !== moduleUrl) return
  printSection(await scenario())
}
