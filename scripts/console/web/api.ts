/** The pages' requests: JSON in and out, errors as one readable message (the server's `message`). */

export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message)
  }
}

const answer = async <T>(response: Response): Promise<T> => {
  const text = await response.text()
  let body: unknown
  try {
    body = text ? JSON.parse(text) : {}
  } catch {
    body = { message: text.slice(0, 200) }
  }
  if (!response.ok) {
    const b = (body ?? {}) as Record<string, unknown>
    throw new RequestError(response.status, String(b.message ?? `HTTP ${response.status}`), b)
  }
  return body as T
}

export const getJson = async <T>(url: string, headers: Record<string, string> = {}): Promise<T> =>
  answer<T>(await fetch(url, { headers: { Accept: 'application/json', ...headers } }))

export const postJson = async <T>(url: string, body: unknown, headers: Record<string, string> = {}): Promise<T> =>
  answer<T>(
    await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers },
      body: JSON.stringify(body),
    }),
  )

/** POSTs `body` and yields each line of the NDJSON answer as it arrives. */
export async function* postNdjson<T>(url: string, body: unknown): AsyncGenerator<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (!response.ok || !response.body) {
    await answer(response)
    return
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffered = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    buffered += value
    const lines = buffered.split('\n')
    buffered = lines.pop() ?? ''
    for (const line of lines) if (line.trim()) yield JSON.parse(line) as T
  }
  if (buffered.trim()) yield JSON.parse(buffered) as T
}
