import test from 'ava'
import { runChaos } from '../../scripts/chaos.ts'

// One small fault run (its own emulator and stack): the command's guarantee, nothing lost or reserved twice.
test('under throttling, 5xx, CloudWatch down and killed processes, no order is lost and no stock is reserved twice', async (t) => {
  // Act
  const report = await runChaos({
    orders: 40,
    seed: 7,
    throttle: 0.1,
    serverErrors: 0.05,
    kills: 4,
    timeoutSeconds: 120,
    log: () => undefined,
  })
  // Assess
  t.true(report.drained, `drained in ${report.drainSeconds} s`)
  t.deepEqual(report.lost, [])
  t.deepEqual(report.reservedTwice, [])
  t.true(report.storedOnce + report.refusedAtTheDoor + (report.parked.Retried ?? 0) >= report.expectedIds)
  t.true(report.faults.throttled + report.faults.serverErrors > 0, 'faults were injected')
  t.true(report.faults.cloudWatchRefused > 0, 'CloudWatch was down for the functions')
  t.true(report.rejected >= report.sent.invalid + report.sent.malformed, 'every bad order got a reason')
})
