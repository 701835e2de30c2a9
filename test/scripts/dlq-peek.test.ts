import anyTest, { type TestFn } from 'ava'
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs'
import { peekAll } from '../../scripts/ops/dlq.ts'
import { createResources, depth, drain, useMoto, type Clients, type Moto } from '../helpers/moto.ts'

const test = anyTest as TestFn<{ moto: Moto; clients: Clients }>
useMoto(test)

test('peekAll sees every message of a DLQ, past the first ten, and leaves them all there, visible', async (t) => {
  // Prepare: 25 parked messages
  const { sqs } = t.context.clients
  const r = await createResources(t.context.clients, 'peek')
  for (let batch = 0; batch < 25; batch += 10) {
    const entries = Array.from({ length: Math.min(10, 25 - batch) }, (_, i) => ({
      Id: String(i),
      MessageBody: `{"order_id":"P-${batch + i}"}`,
    }))
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: r.mainDlqUrl, Entries: entries }))
  }
  // Act
  const peeked = await peekAll(sqs, r.mainDlqUrl)
  // Assess
  t.is(new Set(peeked.map((m) => m.Body)).size, 25)
  t.is(await depth(sqs, r.mainDlqUrl), 25)
  t.is((await drain(sqs, r.mainDlqUrl)).length, 25, 'every one visible again at once')
})
