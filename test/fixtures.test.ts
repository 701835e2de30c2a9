/**
 * schemas/examples (the seed orders) and test/fixtures/aws-events are copies of the project's shared fixtures
 * (../shared/fixtures beside a checkout), so that a clone tests on its own (CodeBuild has no ../shared). Where the
 * shared folder is there, each copy must equal it.
 */
import test from 'ava'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { EXAMPLES } from '../schemas/examples.ts'
import { FIXTURES } from './helpers/fixtures.ts'

const shared = new URL('../../shared/fixtures/', import.meta.url)
/** Each shared folder and where its copy lives. */
const folders = [
  { folder: 'seed-orders', copyOf: EXAMPLES },
  { folder: 'aws-events', copyOf: new URL('aws-events/', FIXTURES) },
]

test('the copies hold every seed order and AWS event, and equals the shared fixtures where they are', (t) => {
  for (const { folder, copyOf } of folders) {
    const copy = readdirSync(copyOf).sort()
    t.true(copy.includes('README.md'), `${folder} has its README`)
    t.true(copy.filter((f) => f.endsWith('.json')).length >= 6, `${folder} has its fixtures`)
    if (!existsSync(shared)) continue
    t.deepEqual(copy, readdirSync(new URL(`${folder}/`, shared)).sort(), `${folder}: the same files`)
    for (const file of copy) {
      t.is(
        readFileSync(new URL(file, copyOf), 'utf8'),
        readFileSync(new URL(`${folder}/${file}`, shared), 'utf8'),
        `${folder}/${file} differs from ../shared/fixtures: copy it again`,
      )
    }
  }
})
