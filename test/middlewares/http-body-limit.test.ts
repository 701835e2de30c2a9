import test from 'ava'
import middy from '@middy/core'
import { httpBodyLimit } from '../../middlewares/http-body-limit.ts'
import { fakeContext } from '../helpers/fixtures.ts'

const run = async (event: { body?: string; isBase64Encoded?: boolean }) =>
  middy()
    .use(httpBodyLimit({ maxBytes: 8 }))
    .handler(async () => 'parsed')(event, fakeContext())

test('a body within the bound goes on; one past it is a 413 before the handler runs', async (t) => {
  t.is(await run({ body: '12345678' }), 'parsed')
  const err = await t.throwsAsync(run({ body: '123456789' }))
  t.like(err, { statusCode: 413, message: 'The order is 9 bytes; at most 8 are accepted' })
})

test('a base64 body is measured decoded, and UTF-8 by its bytes', async (t) => {
  t.is(await run({ body: Buffer.from('12345678').toString('base64'), isBase64Encoded: true }), 'parsed')
  await t.throwsAsync(run({ body: 'ééééé' }), { message: /10 bytes/ })
})

test('maxBytes is required at factory time', (t) => {
  t.throws(() => httpBodyLimit(), { instanceOf: TypeError, message: /maxBytes/ })
})
