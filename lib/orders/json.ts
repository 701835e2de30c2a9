/** Parsed JSON as it comes in: anything. These narrow it without trusting it. */

export type JsonObject = Record<string, unknown>

/** A plain JSON object (not null, not an array). */
export const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
