// JSON bodies are UTF-8 (RFC 8259 §8.1). A body declared in another charset is refused (415), not
// read as UTF-8 regardless; no charset, or charset=utf-8 in any case or quoted, is fine.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { PASSWORD } from '../support/requests.ts'

test('application/json with a charset other than UTF-8 is 415 unsupported_media_type', async (t) => {
  const { app } = await makeApp(t)
  const body = JSON.stringify({ login: 'alice', password: PASSWORD })
  for (const contentType of [
    'application/json; charset=utf-16',
    'application/json; charset=UTF-16LE',
    'application/json;charset=iso-8859-1',
    'application/json; charset="latin1"',
    'application/json; CHARSET=us-ascii',
    'application/json; charset=utf8',
    'application/json; charset=',
  ]) {
    for (const url of ['/user/', '/session/']) {
      const res = await app.inject({
        method: 'POST',
        url,
        payload: body,
        headers: { 'content-type': contentType },
      })
      const problem = assertProblem(res, 415, 'unsupported_media_type', `${contentType} ${url}`)
      assert.match(problem.detail, /UTF-8/, contentType)
      assert.match(problem.detail, /charset/, contentType)
    }
  }
  // Refused before the body is read, like any other media type: 415 even for a body over 16 KiB.
  const big = await app.inject({
    method: 'POST',
    url: '/user/',
    payload: JSON.stringify({ login: 'alice', password: 'p'.repeat(20 * 1024) }),
    headers: { 'content-type': 'application/json; charset=utf-16' },
  })
  assertProblem(big, 415, 'unsupported_media_type', 'over 16 KiB')
  assert.equal((await app.store.db.selectFrom('users').select('id').execute()).length, 0)
  // A request without a body to read is not refused for its Content-Type.
  const get = await app.inject({
    method: 'GET',
    url: '/health/live',
    headers: { 'content-type': 'application/json; charset=utf-16' },
  })
  assert.equal(get.statusCode, 200, get.body)
})

test('application/json without a charset, or with UTF-8 in any spelling of its case, is read', async (t) => {
  const { app } = await makeApp(t)
  const types = [
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=UTF-8',
    'application/json;charset="utf-8"',
    'Application/JSON; Charset=Utf-8',
  ]
  for (const [i, contentType] of types.entries()) {
    const res = await app.inject({
      method: 'POST',
      url: '/user/',
      payload: JSON.stringify({ login: `user${i}`, password: PASSWORD }),
      headers: { 'content-type': contentType },
    })
    assert.equal(res.statusCode, 201, `${contentType}: ${res.body}`)
  }
})
