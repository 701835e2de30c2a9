/**
 * The order form: customer, products from the catalogue with quantities, shipping address, payment method. It
 * sends a camelCase API order to POST {apiUrl}/orders with an Idempotency-Key (the same key for a retry of the same
 * content, so a retry is a duplicate and not a second order), shows the order id of a 202 or the 400's field errors
 * next to the fields they name, then follows the order's status until it settles.
 *
 * The checks are the API's (its JSON Schema): the form sends what was typed and shows what the API says.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import type { FormConfig } from '../web.ts'
import { getJson, RequestError } from './api.ts'
import { OrderStatusView, type OrderStatus } from './order-status.tsx'

interface FieldError {
  path: string
  message: string
}

interface Line {
  sku: string
  quantity: string
}

const ADDRESS = [
  ['street', 'Street'],
  ['city', 'City'],
  ['postalCode', 'Postal code'],
  ['country', 'Country'],
] as const

export const PAYMENT_METHODS = [
  ['CARD', 'Card'],
  ['PAYPAL', 'PayPal'],
  ['BANK_TRANSFER', 'Bank transfer'],
] as const

/** How long the form follows an order before it says where to look it up. */
const FOLLOW_MS = 120_000

/** The field a JSON pointer of the API's errors names: the longest known path it starts with. */
export const fieldOf = (path: string, known: string[]): string | undefined =>
  known.filter((k) => path === k || path.startsWith(`${k}/`)).sort((a, b) => b.length - a.length)[0]

const newKey = () => crypto.randomUUID()

const headersOf = (config: FormConfig): Record<string, string> => (config.apiKey ? { 'x-api-key': config.apiKey } : {})

type Phase =
  | { kind: 'editing' }
  | { kind: 'sending' }
  | { kind: 'accepted'; orderId: string; duplicate: boolean }
  | { kind: 'failed'; message: string }

export const OrderForm = ({ config }: { config: FormConfig }) => {
  const [customer, setCustomer] = useState({ customerName: '', customerEmail: '' })
  const [address, setAddress] = useState<Record<string, string>>({ street: '', city: '', postalCode: '', country: '' })
  const [paymentMethod, setPaymentMethod] = useState('CARD')
  const [lines, setLines] = useState<Line[]>([{ sku: config.products[0]?.sku ?? '', quantity: '1' }])
  const [errors, setErrors] = useState<FieldError[]>([])
  const [phase, setPhase] = useState<Phase>({ kind: 'editing' })
  const [status, setStatus] = useState<OrderStatus | undefined>()
  const [following, setFollowing] = useState<'yes' | 'settled' | 'gave up'>('yes')
  // The key of the content last sent: sending the same content again reuses it.
  const attempt = useRef<{ key: string; body: string } | undefined>(undefined)
  const summary = useRef<HTMLDivElement>(null)

  const product = (sku: string) => config.products.find((p) => p.sku === sku)

  const orderBody = () => {
    const shipping = Object.fromEntries(Object.entries(address).filter(([, v]) => v.trim() !== ''))
    const items = lines.map((l) => {
      const p = product(l.sku)
      return {
        productId: l.sku,
        ...(p ? { productName: p.name, price: p.price } : {}),
        quantity: /^\d+$/.test(l.quantity.trim()) ? Number(l.quantity) : l.quantity,
      }
    })
    return {
      ...(customer.customerName.trim() ? { customerName: customer.customerName.trim() } : {}),
      ...(customer.customerEmail.trim() ? { customerEmail: customer.customerEmail.trim() } : {}),
      ...(config.products[0] ? { currency: config.products[0].currency } : {}),
      items,
      ...(Object.keys(shipping).length > 0 ? { shippingAddress: shipping } : {}),
      paymentMethod,
    }
  }

  const known = [
    '/customerName',
    '/customerEmail',
    '/items',
    ...lines.flatMap((_, i) => [`/items/${i}/productId`, `/items/${i}/quantity`, `/items/${i}/price`]),
    '/shippingAddress',
    ...ADDRESS.map(([k]) => `/shippingAddress/${k}`),
    '/paymentMethod',
  ]
  const errorAt = (path: string) =>
    errors
      .filter((e) => fieldOf(e.path, known) === path)
      .map((e) => e.message)
      .join('; ')
  const unplaced = errors.filter((e) => fieldOf(e.path, known) === undefined)

  const submit = async (event: Event) => {
    event.preventDefault()
    if (phase.kind === 'sending') return
    const body = JSON.stringify(orderBody())
    if (attempt.current?.body !== body) attempt.current = { key: newKey(), body }
    setPhase({ kind: 'sending' })
    setErrors([])
    try {
      const response = await fetch(`${config.apiUrl}/orders`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': attempt.current.key, ...headersOf(config) },
        body,
      })
      const answer = (await response.json().catch(() => ({}))) as {
        message?: string
        orderId?: string
        status?: string
        errors?: FieldError[]
      }
      if (response.status === 202 || (response.status === 409 && answer.status === 'DUPLICATE')) {
        setPhase({ kind: 'accepted', orderId: answer.orderId!, duplicate: response.status === 409 })
        return
      }
      setErrors(answer.errors ?? [])
      setPhase({ kind: 'failed', message: answer.message ?? `The order was not accepted (HTTP ${response.status})` })
    } catch {
      setPhase({
        kind: 'failed',
        message: 'The order could not be sent (network error). Send it again: it will not be taken twice.',
      })
    }
  }

  useEffect(() => {
    if (phase.kind === 'failed') summary.current?.focus()
  }, [phase])

  // Following the accepted order until it settles (or FOLLOW_MS pass).
  useEffect(() => {
    if (phase.kind !== 'accepted') return
    let stopped = false
    const started = Date.now()
    const poll = async () => {
      while (!stopped) {
        try {
          const s = await getJson<OrderStatus>(
            `${config.apiUrl}/orders/${encodeURIComponent(phase.orderId)}`,
            headersOf(config),
          )
          setStatus(s)
          if (config.settled.includes(s.status)) return setFollowing('settled')
        } catch (err) {
          if (!(err instanceof RequestError && err.status === 404)) throw err
        }
        if (Date.now() - started > FOLLOW_MS) return setFollowing('gave up')
        await new Promise((r) => setTimeout(r, 1000))
      }
    }
    poll().catch(() => setFollowing('gave up'))
    return () => {
      stopped = true
    }
  }, [phase])

  const reset = () => {
    attempt.current = undefined
    setLines([{ sku: config.products[0]?.sku ?? '', quantity: '1' }])
    setStatus(undefined)
    setFollowing('yes')
    setPhase({ kind: 'editing' })
  }

  if (phase.kind === 'accepted')
    return (
      <section class="order-accepted" aria-live="polite">
        <h2>{phase.duplicate ? 'Order already received' : 'Order accepted'}</h2>
        <p>
          Order id <code data-testid="order-id">{phase.orderId}</code>
        </p>
        <p data-testid="order-status">
          {status ? (
            <>
              Status <strong>{status.status}</strong>
              {following === 'yes'
                ? ' (following…)'
                : following === 'gave up'
                  ? ' (still moving: look it up later)'
                  : ''}
            </>
          ) : (
            'Queued: waiting for the pipeline to store it…'
          )}
        </p>
        {status && <OrderStatusView status={status} />}
        <button type="button" onClick={reset}>
          Place another order
        </button>
      </section>
    )

  const input = (
    id: string,
    label: string,
    value: string,
    onInput: (v: string) => void,
    path: string,
    attrs: Record<string, string> = {},
  ) => {
    const error = errorAt(path)
    return (
      <div class="field">
        <label for={id}>{label}</label>
        <input
          id={id}
          name={id}
          value={value}
          onInput={(e) => onInput((e.target as HTMLInputElement).value)}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={error ? `${id}-error` : undefined}
          data-path={path}
          {...attrs}
        />
        {error && (
          <p class="field-error" id={`${id}-error`} data-error-for={path}>
            {error}
          </p>
        )}
      </div>
    )
  }

  return (
    <form class="order-form" onSubmit={submit} noValidate aria-label="Order form">
      <div ref={summary} tabIndex={-1} role="alert" class={phase.kind === 'failed' ? 'form-summary' : 'hidden'}>
        {phase.kind === 'failed' && (
          <>
            <p>{phase.message}</p>
            {unplaced.length > 0 && (
              <ul>
                {unplaced.map((e) => (
                  <li key={e.path}>{e.message}</li>
                ))}
              </ul>
            )}
          </>
        )}
      </div>
      <fieldset>
        <legend>Customer</legend>
        {input(
          'customerName',
          'Name',
          customer.customerName,
          (v) => setCustomer({ ...customer, customerName: v }),
          '/customerName',
          { autocomplete: 'name' },
        )}
        {input(
          'customerEmail',
          'Email',
          customer.customerEmail,
          (v) => setCustomer({ ...customer, customerEmail: v }),
          '/customerEmail',
          { type: 'email', autocomplete: 'email' },
        )}
      </fieldset>
      <fieldset>
        <legend>Products</legend>
        {config.products.length === 0 && <p>No product is in stock yet.</p>}
        {lines.map((line, i) => {
          const productError = errorAt(`/items/${i}/productId`) || errorAt(`/items/${i}/price`)
          const quantityError = errorAt(`/items/${i}/quantity`)
          const p = product(line.sku)
          return (
            <div class="line" key={i}>
              <div class="field">
                <label for={`product-${i}`}>Product {i + 1}</label>
                <select
                  id={`product-${i}`}
                  value={line.sku}
                  data-path={`/items/${i}/productId`}
                  aria-invalid={productError ? 'true' : undefined}
                  aria-describedby={productError ? `product-${i}-error` : undefined}
                  onChange={(e) =>
                    setLines(lines.map((l, j) => (j === i ? { ...l, sku: (e.target as HTMLSelectElement).value } : l)))
                  }
                >
                  {config.products.map((p) => (
                    <option value={p.sku} key={p.sku} disabled={p.available === 0}>
                      {p.name} ({p.price.toFixed(2)} {p.currency}){p.available === 0 ? ': out of stock' : ''}
                    </option>
                  ))}
                </select>
                {productError && (
                  <p class="field-error" id={`product-${i}-error`} data-error-for={`/items/${i}/productId`}>
                    {productError}
                  </p>
                )}
              </div>
              <div class="field quantity">
                <label for={`quantity-${i}`}>Quantity</label>
                <input
                  id={`quantity-${i}`}
                  inputMode="numeric"
                  value={line.quantity}
                  data-path={`/items/${i}/quantity`}
                  aria-invalid={quantityError ? 'true' : undefined}
                  aria-describedby={quantityError ? `quantity-${i}-error` : undefined}
                  onInput={(e) =>
                    setLines(
                      lines.map((l, j) => (j === i ? { ...l, quantity: (e.target as HTMLInputElement).value } : l)),
                    )
                  }
                />
                {quantityError && (
                  <p class="field-error" id={`quantity-${i}-error`} data-error-for={`/items/${i}/quantity`}>
                    {quantityError}
                  </p>
                )}
              </div>
              <p class="line-total" aria-label={`Line ${i + 1} total`}>
                {p && /^\d+$/.test(line.quantity)
                  ? `${(p.price * Number(line.quantity)).toFixed(2)} ${p.currency}`
                  : ''}
              </p>
              {lines.length > 1 && (
                <button
                  type="button"
                  class="secondary"
                  aria-label={`Remove product ${i + 1}`}
                  onClick={() => setLines(lines.filter((_, j) => j !== i))}
                >
                  Remove
                </button>
              )}
            </div>
          )
        })}
        {errorAt('/items') && (
          <p class="field-error" data-error-for="/items">
            {errorAt('/items')}
          </p>
        )}
        {lines.length < 50 && config.products.length > 0 && (
          <button
            type="button"
            class="secondary"
            onClick={() => setLines([...lines, { sku: config.products[0]!.sku, quantity: '1' }])}
          >
            Add a product
          </button>
        )}
      </fieldset>
      <fieldset>
        <legend>Shipping address</legend>
        {ADDRESS.map(([key, label]) =>
          input(key, label, address[key] ?? '', (v) => setAddress({ ...address, [key]: v }), `/shippingAddress/${key}`),
        )}
        {errorAt('/shippingAddress') && (
          <p class="field-error" data-error-for="/shippingAddress">
            {errorAt('/shippingAddress')}
          </p>
        )}
      </fieldset>
      <fieldset>
        <legend>Payment method</legend>
        {PAYMENT_METHODS.map(([value, label]) => (
          <label class="choice" key={value}>
            <input
              type="radio"
              name="paymentMethod"
              value={value}
              checked={paymentMethod === value}
              onChange={() => setPaymentMethod(value)}
            />
            {label}
          </label>
        ))}
        {errorAt('/paymentMethod') && (
          <p class="field-error" data-error-for="/paymentMethod">
            {errorAt('/paymentMethod')}
          </p>
        )}
      </fieldset>
      <button type="submit" disabled={phase.kind === 'sending'}>
        {phase.kind === 'sending' ? 'Sending…' : 'Place the order'}
      </button>
    </form>
  )
}
