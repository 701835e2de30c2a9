import test from 'ava'
import {
  ConflictError,
  FileError,
  MalformedOrderError,
  PERMANENT_ERROR_CLASSES,
  TransientError,
  ValidationError,
} from '../../../lib/orders/errors.ts'
import { isObject } from '../../../lib/orders/json.ts'
import { batchesOf } from '../../../lib/orders/limits.ts'
import { compareStored, LOG, METRIC, OUTCOME } from '../../../lib/orders/outcomes.ts'

test('the same hash again is a DUPLICATE, another hash a CONFLICT', (t) => {
  t.is(compareStored('h1', 'h1'), OUTCOME.DUPLICATE)
  t.is(compareStored('h1', 'h2'), OUTCOME.CONFLICT)
})

test('every outcome has its metric, and the log names the demo and the tests read are distinct', (t) => {
  for (const outcome of Object.values(OUTCOME)) t.regex(METRIC[outcome], /^Orders[A-Z]/)
  const names = Object.values(LOG)
  t.is(new Set(names).size, names.length)
  t.is(LOG.ORDER_SETTLED, 'order settled')
  t.is(LOG.ORDER_REJECTED, 'order rejected')
})

test('the permanent error classes a DLQ reader skips are exactly the errors that say they are permanent', (t) => {
  const errors = [
    new ValidationError([]),
    new ConflictError('A', 'h0', 'h1'),
    new MalformedOrderError('not JSON'),
    new FileError('gone'),
    new TransientError('throttled'),
  ]
  t.deepEqual(
    [...PERMANENT_ERROR_CLASSES].sort(),
    errors
      .filter((e) => e.permanent)
      .map((e) => e.name)
      .sort(),
  )
})

test('batchesOf slices in order, 10 by default, the last slice shorter', (t) => {
  const items = Array.from({ length: 23 }, (_, i) => i)
  t.deepEqual(
    batchesOf(items).map((b) => b.length),
    [10, 10, 3],
  )
  t.deepEqual(batchesOf(items).flat(), items)
  t.deepEqual(batchesOf([], 10), [])
  t.deepEqual(batchesOf([1, 2, 3], 2), [[1, 2], [3]])
})

test('isObject is true for a plain object only', (t) => {
  t.true(isObject({}))
  for (const value of [null, [], 'x', 1, undefined]) t.false(isObject(value), `${String(value)} is not an object`)
})
