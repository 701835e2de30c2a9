/** Stock levels as the operations read them from a person: `SKU=COUNT` on the command line, fields in the console. */

import { ID as SKU } from './paths.ts'

/** The largest level a person may set: a count, not an amount (DynamoDB would take far more). */
export const MAX_LEVEL = 1_000_000_000

/** A SKU and an available count, checked; the error names the field that is wrong. */
export const checkLevel = (sku: unknown, available: unknown): [string, number] => {
  if (typeof sku !== 'string' || !SKU.test(sku))
    throw new Error('sku: expected 1 to 64 letters, digits and . _ : # / - (starting with a letter or digit)')
  if (typeof available !== 'number' || !Number.isInteger(available) || available < 0 || available > MAX_LEVEL)
    throw new Error(`available: expected a whole number from 0 to ${MAX_LEVEL}`)
  return [sku, available]
}

/** `SKU-1=10` → ['SKU-1', 10]; a clear error otherwise. */
export const parseLevel = (arg: string): [string, number] => {
  const match = /^([^=]+)=(\d+)$/.exec(arg)
  try {
    if (!match) throw new Error('no SKU=COUNT')
    return checkLevel(match[1], Number(match[2]))
  } catch {
    throw new Error(`not a stock level: "${arg}" (expected SKU=COUNT, e.g. SKU-1=10)`)
  }
}
