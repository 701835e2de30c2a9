/** How the commands print: durations read and written the way people say them, and rows as aligned columns. */

/** `90s`, `30m`, `2h`, `1d` → milliseconds. */
export const parseDuration = (text: string): number => {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(text.trim())
  if (!match) throw new Error(`not a duration: "${text}" (expected a number and s, m, h or d, e.g. 30m)`)
  return Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd']
}

/** 95000 → "1m 35s". */
export const formatAge = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`
}

/** Rows as aligned columns under a header. */
export const formatTable = (rows: Record<string, unknown>[], columns: string[]): string => {
  const cells = [columns, ...rows.map((row) => columns.map((c) => String(row[c] ?? '')))]
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)))
  return cells
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}
