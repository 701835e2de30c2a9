/** The order page: an order looked up by id, as GET /orders/{id} answers it (through the console's /order-api). */
import { useEffect, useState } from 'preact/hooks'
import { getJson } from './api.ts'
import { OrderStatusView, type OrderStatus } from './order-status.tsx'

export const OrderPage = ({ id }: { id: string }) => {
  const [query, setQuery] = useState(id)
  const [answer, setAnswer] = useState<{ status?: OrderStatus; error?: string }>({})

  useEffect(() => {
    setQuery(id)
    if (!id) return setAnswer({})
    getJson<OrderStatus>(`/order-api/orders/${encodeURIComponent(id)}`)
      .then((status) => setAnswer({ status }))
      .catch((err: Error) => setAnswer({ error: err.message }))
  }, [id])

  return (
    <section>
      <h2>Look an order up</h2>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault()
          location.hash = `#/orders/${encodeURIComponent(query.trim())}`
        }}
      >
        <label for="order-id">Order id</label>
        <input id="order-id" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
        <button type="submit">Look up</button>
      </form>
      {answer.error && (
        <p role="alert" class="form-summary">
          {answer.error}
        </p>
      )}
      {answer.status && <OrderStatusView status={answer.status} />}
    </section>
  )
}
