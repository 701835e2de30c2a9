import test from 'ava'
import fc from 'fast-check'
import { formatCents, fromCents, toCents } from '../../../lib/orders/money.ts'

const cents = test.macro({
  exec: (t, input: unknown, expected: number | undefined) => t.is(toCents(input), expected),
  title: (provided = '', input: unknown, expected: number | undefined) =>
    `toCents(${provided || String(input)}) is ${expected === undefined ? 'undefined' : String(expected)}`,
})

// integers and values with up to two decimals
test(cents, 0, 0)
test(cents, 1, 100)
test(cents, 2500, 250000)
test(cents, 10000, 1000000)
test(cents, 149.99, 14999)
test(cents, 99.99, 9999)
test(cents, 0.1, 10)
test(cents, 0.2, 20)
test(cents, 0.3, 30)
test(cents, 0.01, 1)
test(cents, 19.99, 1999)
test(cents, 1.1, 110)
test(cents, 4.35, 435)
test('149.990 (the same double as 149.99)', cents, 149.99, 14999)

// negative values keep their sign
test(cents, -10, -1000)
test(cents, -0.01, -1)
test(cents, -149.99, -14999)

// more than two decimals
test(cents, 0.001, undefined)
test(cents, 149.991, undefined)
test(cents, 1.005, undefined)
test(cents, -0.005, undefined)
test('0.1 + 0.2 (0.30000000000000004)', cents, 0.1 + 0.2, undefined)

// not a finite number
test(cents, Number.NaN, undefined)
test(cents, Number.POSITIVE_INFINITY, undefined)
test(cents, Number.NEGATIVE_INFINITY, undefined)
test('the string "12"', cents, '12', undefined)
test('the string "149.99"', cents, '149.99', undefined)
test('null', cents, null, undefined)
test('undefined', cents, undefined, undefined)
test('an object', cents, { amount: 1 }, undefined)
test('a bigint', cents, 12n, undefined)

test('every two-decimal value JSON can carry converts to its exact cents, and back', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }), (n) => {
        // Prepare: the double a JSON text such as "12.34" parses to
        const value = Number(
          `${n < 0 ? '-' : ''}${Math.floor(Math.abs(n) / 100)}.${String(Math.abs(n) % 100).padStart(2, '0')}`,
        )
        // Act / Assess
        return toCents(value) === n && fromCents(n) === value
      }),
    ),
  )
})

test('a value with a non-zero third decimal never has cents', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.integer({ min: -100_000_000, max: 100_000_000 }).filter((n) => n % 10 !== 0),
        (n) => {
          // Prepare: thousandths
          const value = n / 1000
          // Act / Assess
          return toCents(value) === undefined
        },
      ),
    ),
  )
})

test('fromCents divides by 100', (t) => {
  t.is(fromCents(14999), 149.99)
  t.is(fromCents(30), 0.3)
  t.is(fromCents(-1000), -10)
  t.is(fromCents(0), 0)
})

const formats = test.macro({
  exec: (t, input: number, expected: string) => t.is(formatCents(input), expected),
  title: (_provided, input: number, expected: string) => `formatCents(${input}) is "${expected}"`,
})
test(formats, 14999, '149.99')
test(formats, 0, '0.00')
test(formats, 5, '0.05')
test(formats, 30, '0.30')
test(formats, 100, '1.00')
test(formats, 1000000, '10000.00')
test(formats, -1000, '-10.00')
test(formats, -1, '-0.01')
