/** What GET /orders/{id} says about an order, shown: status, stock, items, history, rejections with reasons. */
import { Head } from './table.tsx'

export interface OrderStatus {
  order_id: string
  status: string
  stock_status?: string
  received_at?: string
  processed_at?: string
  payment_id?: string
  items?: { sku: string; qty: number; stock: string }[]
  rejections: { status: string; message: string; reasons: { path: string; message: string }[]; at: string }[]
  history: { status: string; at: string }[]
}

const time = (iso: string) => new Date(iso).toLocaleString()

export const OrderStatusView = ({ status }: { status: OrderStatus }) => (
  <div class="order-status">
    <dl>
      <dt>Status</dt>
      <dd data-testid="status">{status.status}</dd>
      {status.stock_status && (
        <>
          <dt>Stock</dt>
          <dd>{status.stock_status}</dd>
        </>
      )}
      {status.payment_id && (
        <>
          <dt>Payment</dt>
          <dd>{status.payment_id}</dd>
        </>
      )}
    </dl>
    {status.items && status.items.length > 0 && (
      <table>
        <caption>Items</caption>
        <Head columns={['SKU', 'Quantity', 'Stock']} />
        <tbody>
          {status.items.map((i) => (
            <tr key={i.sku}>
              <td>{i.sku}</td>
              <td>{i.qty}</td>
              <td>{i.stock}</td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
    <h3>History</h3>
    <ol class="history" data-testid="history">
      {status.history.map((h) => (
        <li key={`${h.status}-${h.at}`}>
          <strong>{h.status}</strong> <time dateTime={h.at}>{time(h.at)}</time>
        </li>
      ))}
    </ol>
    {status.rejections.length > 0 && (
      <>
        <h3>Rejections</h3>
        <ul>
          {status.rejections.map((r) => (
            <li key={r.at}>
              <strong>{r.status}</strong> {r.message}
              {r.reasons.length > 0 && (
                <ul>
                  {r.reasons.map((f) => (
                    <li key={f.path}>
                      <code>{f.path}</code>: {f.message}
                    </li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ul>
      </>
    )}
  </div>
)
