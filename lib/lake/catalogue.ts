/**
 * The product catalogue of the data lake (catalogue.json: 200 made-up products in 10 categories), loaded and typed
 * once. The order generator (generate.ts) draws its SKUs and prices from it, weighted by popularity; the
 * enrichment (enrich.ts) looks up each SKU's category with `skuOf`; a demo loads `stockLevels()` into the table
 * (`npm run stock -- set $(…)`, or lib/aws/table.ts setStock per SKU).
 *
 * The popularity weights follow Zipf's law over a global rank (weight ≈ 10000 / rank^1.1): a long tail, where the
 * top 10 % of the SKUs take about two thirds of the weight. Stock levels follow popularity (20 + weight / 4).
 */
import data from './catalogue.json' with { type: 'json' }

export const CATEGORIES = [
  'electronics',
  'home',
  'kitchen',
  'books',
  'toys',
  'sports',
  'beauty',
  'garden',
  'fashion',
  'grocery',
] as const
export type Category = (typeof CATEGORIES)[number]

/** The category of a SKU the catalogue does not have. */
export const UNKNOWN_CATEGORY = 'unknown'

export interface Product {
  /** `SKU-<CATEGORY CODE>-<NNN>`: an id as the order schemas want it (letters, digits and `-`). */
  sku: string
  name: string
  category: Category
  /** The unit price in cents (EUR). */
  price_cents: number
  /** Relative popularity (a positive integer): how often the generator draws this SKU, against the others' weights. */
  weight: number
  /** The initial stock level a demo loads. */
  stock: number
}

const SKU_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,63}$/

/** The catalogue as read, checked once at load so that a bad edit of catalogue.json fails loudly, not in an order. */
const load = (products: unknown[]): readonly Product[] => {
  const seen = new Set<string>()
  for (const p of products as Product[]) {
    const ok =
      SKU_PATTERN.test(p.sku) &&
      !seen.has(p.sku) &&
      (CATEGORIES as readonly string[]).includes(p.category) &&
      typeof p.name === 'string' &&
      p.name.length > 0 &&
      p.name.length <= 256 &&
      Number.isSafeInteger(p.price_cents) &&
      p.price_cents > 0 &&
      Number.isSafeInteger(p.weight) &&
      p.weight > 0 &&
      Number.isSafeInteger(p.stock) &&
      p.stock >= 0
    if (!ok) throw new TypeError(`lib/lake/catalogue.json: invalid product ${JSON.stringify(p)}`)
    seen.add(p.sku)
  }
  return Object.freeze(products.map((p) => Object.freeze({ ...(p as Product) })))
}

/** Every product, in the file's order (by category, then number). */
export const catalogue: readonly Product[] = load(data.products)

const bySku = new Map(catalogue.map((p) => [p.sku, p]))

/** The product of a SKU, or undefined when the catalogue does not have it. */
export const productOf = (sku: string): Product | undefined => bySku.get(sku)

/** The category of a SKU (the enrichment's lookup): `unknown` when the catalogue does not have it. */
export const skuOf = (sku: string): string => bySku.get(sku)?.category ?? UNKNOWN_CATEGORY

/**
 * The stock levels to load for a demo, as `[sku, available]` pairs (the shape of scripts/stock.ts parseLevel):
 * each SKU's initial stock, times `scale` (rounded; default 1).
 * @example for (const [sku, n] of stockLevels()) await setStock(dynamo, table, sku, n, now)
 */
export const stockLevels = (scale = 1): [string, number][] => {
  if (!(scale >= 0) || !Number.isFinite(scale)) throw new RangeError(`stockLevels: scale must be >= 0, got ${scale}`)
  return catalogue.map((p) => [p.sku, Math.round(p.stock * scale)])
}
