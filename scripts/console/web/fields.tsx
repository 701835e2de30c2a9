/**
 * The order form's fields: each labelled, and marked invalid with its error beside it (linked by
 * aria-describedby) when the API names it. `path` is the JSON pointer the API's errors use for the field.
 */
import type { FormConfig } from '../web.ts'

type Product = FormConfig['products'][number]

export interface Line {
  sku: string
  quantity: string
}

/** The error beside a field (or a group), found by tests and screen readers alike. */
export const FieldError = ({ id, path, message }: { id?: string; path: string; message: string }) =>
  message ? (
    <p class="field-error" id={id} data-error-for={path}>
      {message}
    </p>
  ) : null

/** What a control carries to say it is invalid, and where its error is. */
const invalid = (id: string, error: string) => ({
  'aria-invalid': error ? ('true' as const) : undefined,
  'aria-describedby': error ? `${id}-error` : undefined,
})

export const TextField = (props: {
  id: string
  label: string
  value: string
  onInput: (value: string) => void
  path: string
  error: string
  attrs?: Record<string, string>
}) => (
  <div class="field">
    <label for={props.id}>{props.label}</label>
    <input
      id={props.id}
      name={props.id}
      value={props.value}
      onInput={(e) => props.onInput((e.target as HTMLInputElement).value)}
      data-path={props.path}
      {...invalid(props.id, props.error)}
      {...props.attrs}
    />
    <FieldError id={`${props.id}-error`} path={props.path} message={props.error} />
  </div>
)

/** One product of the order: the product, its quantity, the line's total, and a way to remove it. */
export const ProductLine = (props: {
  index: number
  line: Line
  products: Product[]
  errors: { product: string; quantity: string }
  onChange: (line: Line) => void
  onRemove?: () => void
}) => {
  const { index: i, line, errors } = props
  const product = props.products.find((p) => p.sku === line.sku)
  return (
    <div class="line">
      <div class="field">
        <label for={`product-${i}`}>Product {i + 1}</label>
        <select
          id={`product-${i}`}
          value={line.sku}
          data-path={`/items/${i}/productId`}
          {...invalid(`product-${i}`, errors.product)}
          onChange={(e) => props.onChange({ ...line, sku: (e.target as HTMLSelectElement).value })}
        >
          {props.products.map((p) => (
            <option value={p.sku} key={p.sku} disabled={p.available === 0}>
              {p.name} ({p.price.toFixed(2)} {p.currency}){p.available === 0 ? ': out of stock' : ''}
            </option>
          ))}
        </select>
        <FieldError id={`product-${i}-error`} path={`/items/${i}/productId`} message={errors.product} />
      </div>
      <div class="field quantity">
        <label for={`quantity-${i}`}>Quantity</label>
        <input
          id={`quantity-${i}`}
          inputMode="numeric"
          value={line.quantity}
          data-path={`/items/${i}/quantity`}
          {...invalid(`quantity-${i}`, errors.quantity)}
          onInput={(e) => props.onChange({ ...line, quantity: (e.target as HTMLInputElement).value })}
        />
        <FieldError id={`quantity-${i}-error`} path={`/items/${i}/quantity`} message={errors.quantity} />
      </div>
      <p class="line-total" aria-label={`Line ${i + 1} total`}>
        {product && /^\d+$/.test(line.quantity)
          ? `${(product.price * Number(line.quantity)).toFixed(2)} ${product.currency}`
          : ''}
      </p>
      {props.onRemove && (
        <button type="button" class="secondary" aria-label={`Remove product ${i + 1}`} onClick={props.onRemove}>
          Remove
        </button>
      )}
    </div>
  )
}
