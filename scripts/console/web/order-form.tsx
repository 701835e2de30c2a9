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
import { FieldError, ProductLine, TextField, type Line } from './fields.tsx'
import { OrderStatusView, type OrderStatus } from './order-status.tsx'

interface FieldError {
  path: string
  message: string
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
        <TextField
          id="customerName"
          label="Name"
          value={customer.customerName}
          onInput={(v) => setCustomer({ ...customer, customerName: v })}
          path="/customerName"
          error={errorAt('/customerName')}
          attrs={{ autocomplete: 'name' }}
        />
        <TextField
          id="customerEmail"
          label="Email"
          value={customer.customerEmail}
          onInput={(v) => setCustomer({ ...customer, customerEmail: v })}
          path="/customerEmail"
          error={errorAt('/customerEmail')}
          attrs={{ type: 'email', autocomplete: 'email' }}
        />
      </fieldset>
      <fieldset>
        <legend>Products</legend>
        {config.products.length === 0 && <p>No product is in stock yet.</p>}
        {lines.map((line, i) => (
          <ProductLine
            key={i}
            index={i}
            line={line}
            products={config.products}
            errors={{
              product: errorAt(`/items/${i}/productId`) || errorAt(`/items/${i}/price`),
              quantity: errorAt(`/items/${i}/quantity`),
            }}
            onChange={(changed) => setLines(lines.map((l, j) => (j === i ? changed : l)))}
            onRemove={lines.length > 1 ? () => setLines(lines.filter((_, j) => j !== i)) : undefined}
          />
        ))}
        <FieldError path="/items" message={errorAt('/items')} />
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
        {ADDRESS.map(([key, label]) => (
          <TextField
            key={key}
            id={key}
            label={label}
            value={address[key] ?? ''}
            onInput={(v) => setAddress({ ...address, [key]: v })}
            path={`/shippingAddress/${key}`}
            error={errorAt(`/shippingAddress/${key}`)}
          />
        ))}
        <FieldError path="/shippingAddress" message={errorAt('/shippingAddress')} />
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
        <FieldError path="/paymentMethod" message={errorAt('/paymentMethod')} />
      </fieldset>
      <button type="submit" disabled={phase.kind === 'sending'}>
        {phase.kind === 'sending' ? 'Sending…' : 'Place the order'}
      </button>
    </form>
  )
}
