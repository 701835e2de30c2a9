import test from 'ava'
import { jsonErrorMessage, jsonProblem } from '../../../lib/orders/json.ts'

const nested = (levels: number): unknown => {
  let value: unknown = 1
  for (let i = 0; i < levels; i++) value = { a: value }
  return value
}

test('nesting is measured without recursion: 32 levels pass, 33 are refused at the object past the limit', (t) => {
  t.is(jsonProblem(nested(32)), undefined)
  t.deepEqual(jsonProblem(nested(33)), { path: `${'/a'.repeat(32)}`, rule: 'maxDepth' })
  t.is(jsonProblem(nested(100_000))?.rule, 'maxDepth')
})

test('an unsafe number is named by its JSON Pointer, with ~ and / escaped', (t) => {
  t.deepEqual(jsonProblem({ items: [{ qty: 1 }, { 'a/b~c': 1e300 }] }), {
    path: '/items/1/a~1b~0c',
    rule: 'safeNumber',
  })
  t.deepEqual(jsonProblem(2 ** 60), { path: '', rule: 'safeNumber' })
  t.is(jsonProblem({ amount: 9007199254740991, n: -1.5, s: '1e400', z: null }), undefined)
})

test('a JSON error names its kind and position, never the text around it', (t) => {
  for (const text of ['{"email": ana.pii@exemplo.br}', 'ana.pii@exemplo.br', '{"a": "ana.pii', '{"a":']) {
    let message = ''
    try {
      JSON.parse(text)
    } catch (err) {
      message = jsonErrorMessage(err)
    }
    t.notRegex(message, /ana|pii|exemplo/, `for ${text}`)
    t.regex(
      message,
      /^(unexpected character|unexpected end of input|unterminated string)( at position \d+)?$/,
      `for ${text}`,
    )
  }
})
