/** Money is compared in integer cents, never in floats. */

/**
 * The amount in integer cents, or undefined when it has more than two decimals (or is not a finite number).
 * `c / 100 === n` holds exactly when n is the double nearest to a two-decimal value, which is what JSON gives.
 */
/** A validated amount (two decimals at most) in integer cents. */
export const centsOf = (n: number): number => Math.round(n * 100)

export const toCents = (n: unknown): number | undefined => {
  if (typeof n !== 'number' || !Number.isFinite(n)) return undefined
  const cents = centsOf(n)
  return cents / 100 === n ? cents : undefined
}

export const fromCents = (cents: number): number => cents / 100

/** "149.99" for 14999: for messages. */
export const formatCents = (cents: number): string => (cents / 100).toFixed(2)
