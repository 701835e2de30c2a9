import test from 'ava'
import { lakeBucketOf } from '../../handlers/exporter.ts'

test('the exporter reads its bucket from LAKE_BUCKET, and stops with the variable named without it', (t) => {
  t.is(
    lakeBucketOf({ LAKE_BUCKET: 'tp-orders-intake-123456789012-eu-west-3' }),
    'tp-orders-intake-123456789012-eu-west-3',
  )
  t.throws(() => lakeBucketOf({}), { message: 'Missing environment variable: LAKE_BUCKET' })
})
