/**
 * The console's pages, bundled by esbuild from web/ (Preact and Chart.js, TypeScript and JSX): in memory for the
 * console server, or to a folder as the stand-alone order form a shop hosts (`npm run console -- --write-form`).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const web = fileURLToPath(new URL('./web/', import.meta.url))

export interface Asset {
  type: string
  body: Buffer
}

/** What the order form reads from its `config.json`. */
export interface FormConfig {
  /** The order API's base URL: POST {apiUrl}/orders, GET {apiUrl}/orders/{id}. */
  apiUrl: string
  /** Sent as x-api-key where the API wants a key. It identifies the caller for throttling: it is not a secret. */
  apiKey?: string
  products: { sku: string; name: string; price: number; currency: string; available?: number }[]
  /** The statuses the form stops following an order at. */
  settled: string[]
}

const bundle = async (entry: string): Promise<Buffer> => {
  const result = await build({
    entryPoints: [join(web, entry)],
    bundle: true,
    write: false,
    format: 'esm',
    minify: true,
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'silent',
  })
  return Buffer.from(result.outputFiles[0]!.contents)
}

const file = (name: string): Buffer => readFileSync(join(web, name))

const JS = 'text/javascript; charset=utf-8'
const HTML = 'text/html; charset=utf-8'
const CSS = 'text/css; charset=utf-8'

/** The console's pages by path: the app at /, the stand-alone order form at /form/. */
export const consoleAssets = async (): Promise<Map<string, Asset>> => {
  const [app, form] = await Promise.all([bundle('app.tsx'), bundle('form-page.tsx')])
  return new Map([
    ['/', { type: HTML, body: file('index.html') }],
    ['/app.js', { type: JS, body: app }],
    ['/style.css', { type: CSS, body: file('style.css') }],
    ['/form/', { type: HTML, body: file('form.html') }],
    ['/form/form.js', { type: JS, body: form }],
    ['/form/style.css', { type: CSS, body: file('style.css') }],
  ])
}

/** Writes the stand-alone order form to `dir`: index.html, form.js, style.css and its config.json. */
export const writeForm = async (dir: string, config: FormConfig): Promise<string[]> => {
  mkdirSync(dir, { recursive: true })
  const files: [string, Buffer | string][] = [
    ['index.html', file('form.html')],
    ['form.js', await bundle('form-page.tsx')],
    ['style.css', file('style.css')],
    ['config.json', `${JSON.stringify(config, null, 2)}\n`],
  ]
  for (const [name, body] of files) writeFileSync(join(dir, name), body)
  return files.map(([name]) => join(dir, name))
}
