/** The stand-alone order form: its settings from config.json beside the page (README, "The order form"). */
import { render } from 'preact'
import type { FormConfig } from '../web.ts'
import { getJson } from './api.ts'
import { OrderForm } from './order-form.tsx'

const root = document.getElementById('form')!
getJson<FormConfig>('config.json')
  .then((config) => {
    root.textContent = ''
    render(<OrderForm config={config} />, root)
  })
  .catch((err: Error) => {
    root.textContent = `The order form could not load its config.json: ${err.message}`
  })
