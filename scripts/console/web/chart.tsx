/** The metrics per minute over the last hour, as a Chart.js line chart (only the parts a line chart needs). */
import { useEffect, useRef } from 'preact/hooks'
import { CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js'

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Legend, Tooltip)

export interface MetricSeries {
  minutes: string[]
  series: Record<string, number[]>
}

/** A colour per metric (colour-blind-safe Okabe–Ito palette). */
const COLOURS = ['#0072B2', '#009E73', '#D55E00', '#CC79A7', '#E69F00', '#56B4E9', '#000000']

const label = (iso: string) => new Date(iso).toTimeString().slice(0, 5)

export const MetricsChart = ({ data }: { data: MetricSeries }) => {
  const canvas = useRef<HTMLCanvasElement>(null)
  const chart = useRef<Chart<'line'> | undefined>(undefined)

  useEffect(() => {
    const datasets = Object.entries(data.series).map(([name, values], i) => ({
      label: name,
      data: values,
      borderColor: COLOURS[i % COLOURS.length],
      backgroundColor: COLOURS[i % COLOURS.length],
      pointRadius: 0,
      borderWidth: 2,
    }))
    if (!chart.current) {
      chart.current = new Chart(canvas.current!, {
        type: 'line',
        data: { labels: data.minutes.map(label), datasets },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          interaction: { mode: 'index', intersect: false },
          scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'per minute' } } },
        },
      })
    } else {
      chart.current.data.labels = data.minutes.map(label)
      chart.current.data.datasets = datasets
      chart.current.update()
    }
  }, [data])

  useEffect(() => () => chart.current?.destroy(), [])

  const totals = Object.entries(data.series).map(([name, v]) => `${name} ${v.reduce((a, b) => a + b, 0)}`)
  return (
    <div class="chart">
      <canvas ref={canvas} role="img" aria-label={`Metrics per minute over the last hour: ${totals.join(', ')}`} />
    </div>
  )
}
