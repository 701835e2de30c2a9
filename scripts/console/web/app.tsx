/** The console's page: the dashboard (#/), the order page (#/orders/ID) and the order form (#/new). */
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import type { FormConfig } from '../web.ts'
import { getJson } from './api.ts'
import { Dashboard } from './dashboard.tsx'
import { OrderForm } from './order-form.tsx'
import { OrderPage } from './order-page.tsx'

const useHash = () => {
  const [hash, setHash] = useState(location.hash)
  useEffect(() => {
    const onChange = () => setHash(location.hash)
    addEventListener('hashchange', onChange)
    return () => removeEventListener('hashchange', onChange)
  }, [])
  return hash
}

const NewOrder = () => {
  const [config, setConfig] = useState<FormConfig>()
  const [error, setError] = useState('')
  useEffect(() => {
    getJson<FormConfig>('/form/config.json')
      .then(setConfig)
      .catch((err: Error) => setError(err.message))
  }, [])
  return (
    <section>
      <h2>New order</h2>
      <p class="note">
        The same form a shop can host on its own: <a href="/form/">/form/</a> (README, "The order form").
      </p>
      {error && <p role="alert">{error}</p>}
      {config && <OrderForm config={config} />}
    </section>
  )
}

const PAGES = [
  ['#/', 'Dashboard'],
  ['#/orders', 'Orders'],
  ['#/new', 'New order'],
] as const

const App = () => {
  const hash = useHash() || '#/'
  const page = hash.startsWith('#/orders') ? '#/orders' : hash.startsWith('#/new') ? '#/new' : '#/'
  const orderId = decodeURIComponent(/^#\/orders\/(.+)$/.exec(hash)?.[1] ?? '')
  return (
    <>
      <header>
        <h1>Order pipeline</h1>
        <nav aria-label="Console">
          {PAGES.map(([href, label]) => (
            <a key={href} href={href} aria-current={page === href ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
      </header>
      <main>
        {page === '#/' && <Dashboard />}
        {page === '#/orders' && <OrderPage id={orderId} />}
        {page === '#/new' && <NewOrder />}
      </main>
    </>
  )
}

render(<App />, document.getElementById('app')!)
