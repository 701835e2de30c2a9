/**
 * test/fixtures is a copy of the project's shared fixtures (../shared/fixtures beside a checkout), so that a clone
 * tests on its own (CodeBuild has no ../shared). Where the shared folder is there, the copy must equal it.
 */
import test from 'ava'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { FIXTURES } from './helpers/fixtures.ts'

const shared = new URL('../../shared/fixtures/', import.meta.url)
const folders = ['seed-orders', 'aws-events']

test('the fixtures copy holds every seed order and AWS event, and equals the shared fixtures where they are', (t) => {
  for (const folder of folders) {
    const copy = readdirSync(new URL(`${folder}/`, FIXTURES)).sort()
    t.true(copy.includes('README.md'), `${folder} has its README`)
    t.true(copy.filter((f) => f.endsWith('.json')).length >= 6, `${folder} has its fixtures`)
    if (!existsSync(shared)) continue
    t.deepEqual(copy, readdirSync(new URL(`${folder}/`, shared)).sort(), `${folder}: the same files`)
    for (const file of copy) {
      t.is(
        readFileSync(new URL(`${folder}/${file}`, FIXTURES), 'utf8'),
        readFileSync(new URL(`${folder}/${file}`, shared), 'utf8'),
        `${folder}/${file} differs from ../shared/fixtures: copy it again`,
      )
    }
  }
})
