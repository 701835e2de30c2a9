/**
 * The operations dashboard: outcome counts, the metrics per minute, queue depths, stock levels (editable), the
 * latest intake reports, and each DLQ by error class with a dry-run preview and the replay itself.
 * Every panel refreshes itself every few seconds while the page is visible.
 */
import { useCallback, useEffect, useState } from 'preact/hooks'
import { getJson, postJson, postNdjson } from './api.ts'
import { Head } from './table.tsx'
import type { StockLevel } from '../../../lib/aws/table.ts'
import type { ReportSummary } from '../../ops/intake.ts'
import type { Console } from '../service.ts'
import { MetricsChart, type MetricSeries } from './chart.tsx'

const REFRESH_MS = 5000
/** The panels whose answer is a table scan (the server reuses it for 15 s) refresh less often. */
const SCAN_REFRESH_MS = 15_000

/** `load` now and every `every` ms while the page is visible; `reload` asks again now. */
const usePoll = <T,>(load: () => Promise<T>, every = REFRESH_MS) => {
  const [state, setState] = useState<{ value?: T; error?: string }>({})
  const reload = useCallback(() => {
    load()
      .then((value) => setState({ value }))
      .catch((err: Error) => setState((s) => ({ ...s, error: err.message })))
  }, [])
  useEffect(() => {
    reload()
    const timer = setInterval(() => document.visibilityState === 'visible' && reload(), every)
    return () => clearInterval(timer)
  }, [])
  return { ...state, reload }
}

const Panel = ({ title, id, error, children }: { title: string; id: string; error?: string; children: unknown }) => (
  <section class="panel" id={id} aria-labelledby={`${id}-title`}>
    <h2 id={`${id}-title`}>{title}</h2>
    {error && (
      <p role="alert" class="form-summary">
        {error}
      </p>
    )}
    {children as never}
  </section>
)

interface About {
  stack: string
  stage: string
  region: string
  table: string
  workflow: boolean
}

const OUTCOME_LABELS: [string, string][] = [
  ['PROCESSED', 'processed'],
  ['PENDING_STOCK', 'pending stock'],
  ['REJECTED', 'rejected'],
  ['DUPLICATE', 'duplicate (last hour)'],
  ['CONFLICT', 'conflict'],
]
const WORKFLOW_LABELS: [string, string][] = [
  ['PAYMENT_PENDING', 'payment pending'],
  ['PAID', 'paid'],
  ['NOTIFIED', 'notified'],
  ['PAYMENT_FAILED', 'payment failed'],
]

const Outcomes = ({ workflow }: { workflow: boolean }) => {
  const { value, error } = usePoll(() => getJson<Record<string, number>>('/api/outcomes'), SCAN_REFRESH_MS)
  return (
    <Panel title="Orders by outcome" id="outcomes" error={error}>
      <ul class="cards">
        {[...OUTCOME_LABELS, ...(workflow ? WORKFLOW_LABELS : [])].map(([key, label]) => (
          <li key={key} class="card" data-outcome={key}>
            <span class="count">{value ? (value[key] ?? 0) : '…'}</span>
            <span class="label">{label}</span>
          </li>
        ))}
      </ul>
    </Panel>
  )
}

const Metrics = () => {
  const { value, error } = usePoll(() => getJson<MetricSeries>('/api/metrics'))
  return (
    <Panel title="Metrics per minute, last hour" id="metrics" error={error}>
      {value ? <MetricsChart data={value} /> : <p>Loading…</p>}
    </Panel>
  )
}

const Queues = () => {
  const { value, error } = usePoll(() => getJson<Awaited<ReturnType<Console['queues']>>>('/api/queues'))
  return (
    <Panel title="Queues" id="queues" error={error}>
      <table>
        <Head columns={['Queue', 'Waiting', 'In flight', 'Oldest message']} />
        <tbody>
          {(value ?? []).map((q) => (
            <tr key={q.queue} data-queue={q.queue}>
              <th scope="row">{q.queue}</th>
              <td class="waiting">{q.waiting}</td>
              <td>{q['in flight']}</td>
              <td>{q['oldest message']}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Panel>
  )
}

const StockRow = ({ level, onSaved }: { level: StockLevel; onSaved: () => void }) => {
  const [value, setValue] = useState(String(level.available))
  const [message, setMessage] = useState('')
  useEffect(() => setValue(String(level.available)), [level.available])
  const id = `stock-${level.sku.replace(/[^A-Za-z0-9_-]/g, '_')}`
  const save = async (e: Event) => {
    e.preventDefault()
    try {
      const saved = await postJson<StockLevel>('/api/stock', {
        sku: level.sku,
        available: /^\d+$/.test(value.trim()) ? Number(value) : value,
      })
      setMessage(`saved: ${saved.available}`)
      onSaved()
    } catch (err) {
      setMessage((err as Error).message)
    }
  }
  return (
    <tr data-sku={level.sku}>
      <th scope="row">{level.sku}</th>
      <td>
        <form class="inline" onSubmit={save}>
          <label for={id} class="visually-hidden">
            Available {level.sku}
          </label>
          <input
            id={id}
            inputMode="numeric"
            value={value}
            onInput={(e) => setValue((e.target as HTMLInputElement).value)}
          />
          <button type="submit">Save</button>
          <span aria-live="polite" class="note">
            {message}
          </span>
        </form>
      </td>
      <td class="reserved">{level.reserved}</td>
      <td>{level.updated_at ? new Date(level.updated_at).toLocaleString() : ''}</td>
    </tr>
  )
}

/** How many SKUs the stock panel lists at once (the filter finds the others). */
const SHOWN_SKUS = 100

const Stock = () => {
  const { value, error, reload } = usePoll(() => getJson<StockLevel[]>('/api/stock'), SCAN_REFRESH_MS)
  const [filter, setFilter] = useState('')
  const shown = (value ?? []).filter((l) => l.sku.toLowerCase().includes(filter.toLowerCase()))
  return (
    <Panel title="Stock" id="stock" error={error}>
      <div class="inline">
        <label for="stock-filter">Filter SKUs</label>
        <input id="stock-filter" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
        <span class="note">
          {Math.min(shown.length, SHOWN_SKUS)} of {value?.length ?? 0} SKUs shown
        </span>
      </div>
      <div class="scroll">
        <table>
          <Head columns={['SKU', 'Available', 'Reserved', 'Updated']} />
          <tbody>
            {shown.slice(0, SHOWN_SKUS).map((l) => (
              <StockRow key={l.sku} level={l} onSaved={reload} />
            ))}
          </tbody>
        </table>
      </div>
    </Panel>
  )
}

const Reports = () => {
  const { value, error } = usePoll(() => getJson<ReportSummary[]>('/api/reports'))
  return (
    <Panel title="Latest order files" id="reports" error={error}>
      {value?.length === 0 && <p>No order file has been read yet.</p>}
      <div class="scroll">
        <table>
          <Head columns={['File', 'Accepted', 'Rejected', 'Reasons', 'Finished']} />
          <tbody>
            {(value ?? []).map((r) => (
              <tr key={r.reportKey}>
                <th scope="row">
                  <code>{r.key}</code>
                </th>
                <td>{r.accepted}</td>
                <td>{r.rejected}</td>
                <td>
                  <ul class="plain">
                    {Object.entries(r.rejectedByReason).map(([reason, n]) => (
                      <li key={reason}>
                        {reason} {n}
                      </li>
                    ))}
                  </ul>
                  {r.rejects.length > 0 && (
                    <details>
                      <summary>first rejects</summary>
                      <ul>
                        {r.rejects.map((x) => (
                          <li key={x.line}>
                            line {x.line}: {x.reason}
                          </li>
                        ))}
                      </ul>
                    </details>
                  )}
                </td>
                <td>{new Date(r.finishedAt).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Panel>
  )
}

interface ReplayLine {
  type: 'start' | 'message' | 'done' | 'error'
  total?: number
  done?: number
  messageId?: string
  class?: string
  order?: string
  action?: string
  replayed?: number
  skipped?: number
  failed?: number
  message?: string
}

const Dlq = ({ queue }: { queue: 'main' | 'ingest' }) => {
  const { value, error, reload } = usePoll(() => getJson<Awaited<ReturnType<Console['dlq']>>>(`/api/dlq/${queue}`))
  const [includePermanent, setIncludePermanent] = useState(false)
  const [run, setRun] = useState<{
    dryRun: boolean
    total: number
    done: number
    rows: ReplayLine[]
    result?: string
    running: boolean
  }>()

  const start = async (dryRun: boolean) => {
    setRun({ dryRun, total: 0, done: 0, rows: [], running: true })
    try {
      for await (const line of postNdjson<ReplayLine>(`/api/dlq/${queue}/replay`, { dryRun, includePermanent })) {
        setRun((r) => {
          const s = r!
          if (line.type === 'start') return { ...s, total: line.total ?? 0 }
          if (line.type === 'message') return { ...s, done: line.done ?? s.done, rows: [...s.rows, line] }
          if (line.type === 'done')
            return {
              ...s,
              running: false,
              result: `${dryRun ? 'Dry run, nothing changed: ' : ''}replayed ${line.replayed}, skipped ${line.skipped}, failed ${line.failed}`,
            }
          return { ...s, running: false, result: `Replay failed: ${line.message}` }
        })
      }
    } catch (err) {
      setRun((r) => ({ ...r!, running: false, result: (err as Error).message }))
    }
    reload()
  }

  const id = `dlq-${queue}`
  return (
    <Panel title={`${queue === 'main' ? 'Main' : 'Ingest'} dead-letter queue`} id={id} error={error}>
      <p>
        <strong class="dlq-count" data-testid={`${id}-count`}>
          {value ? value.messages : '…'}
        </strong>{' '}
        messages
      </p>
      {value && value.groups.length > 0 && (
        <div class="scroll">
          <table>
            <Head columns={['Error class', 'Count', 'Oldest', 'Newest', 'Reason (example)', 'Orders', 'From']} />
            <tbody>
              {value.groups.map((g) => (
                <tr key={g.class}>
                  <th scope="row">{g.class}</th>
                  <td>{g.count}</td>
                  <td>{g.oldest}</td>
                  <td>{g.newest}</td>
                  <td>{g.example}</td>
                  <td>{g.orders}</td>
                  <td>{g.sources}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="inline">
        <label class="choice">
          <input
            type="checkbox"
            checked={includePermanent}
            onChange={(e) => setIncludePermanent((e.target as HTMLInputElement).checked)}
          />
          include permanent rejects
        </label>
        <button type="button" class="secondary" disabled={run?.running} onClick={() => void start(true)}>
          Preview replay
        </button>
        <button type="button" disabled={run?.running || !value?.messages} onClick={() => void start(false)}>
          Replay
        </button>
      </div>
      {run && (
        <div class="replay" aria-live="polite">
          <progress max={run.total || 1} value={run.done} aria-label={`${queue} DLQ replay progress`} />
          <span class="note">
            {run.done}/{run.total} {run.dryRun ? 'previewed' : 'done'}
          </span>
          {run.result && <p data-testid={`${id}-result`}>{run.result}</p>}
          {run.rows.length > 0 && (
            <details open={run.dryRun}>
              <summary>{run.dryRun ? 'What a replay would do' : 'What the replay did'}</summary>
              <ul>
                {run.rows.map((r) => (
                  <li key={r.messageId}>
                    {r.order || r.messageId} ({r.class}): {r.action}
                  </li>
                ))}
              </ul>
            </details>
          )}
        </div>
      )}
    </Panel>
  )
}

export const Dashboard = () => {
  const [about, setAbout] = useState<About>()
  useEffect(() => {
    getJson<About>('/api/about')
      .then(setAbout)
      .catch(() => undefined)
  }, [])
  return (
    <div class="dashboard">
      {about && (
        <p class="about">
          {about.stack} · stage {about.stage} · {about.region} · table {about.table}
          {about.workflow ? ' · order workflow on' : ''}
        </p>
      )}
      <Outcomes workflow={about?.workflow ?? false} />
      <Metrics />
      <Queues />
      <Dlq queue="ingest" />
      <Dlq queue="main" />
      <Stock />
      <Reports />
    </div>
  )
}
