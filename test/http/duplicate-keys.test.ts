import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { hasDuplicateKey } from '../../src/http/duplicate-keys.ts'
import { makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { PASSWORD } from '../support/requests.ts'

describe('hasDuplicateKey', () => {
  test('finds a key given twice in one object, at any depth', () => {
    for (const text of [
      '{"a":1,"a":2}',
      '{"login":"x","password":"y","login":"z"}',
      '{"a":{"b":1,"b":2}}',
      '[{"a":1},{"b":[{"c":1,"c":1}]}]',
      '{"a":1,"\\u0061":2}', // the same key, one of them escaped
      '{ "a" : 1 , "a" : 1 }',
    ]) {
      assert.equal(hasDuplicateKey(text), true, text)
    }
  })

  test('does not confuse equal keys of different objects, values or escaped quotes', () => {
    for (const text of [
      '{"a":1,"b":2}',
      '[{"a":1},{"a":2}]',
      '{"a":{"a":{"a":1}}}',
      '{"a":"a","b":"a"}',
      '{"a\\"":1,"a":2}',
      '{"x":["a","a"],"y":{"x":1}}',
      '"a"',
      '[]',
      '{}',
    ]) {
      assert.equal(hasDuplicateKey(text), false, text)
    }
  })
})

describe('duplicate keys in a request body', () => {
  test('are refused with 400 malformed_json, and nothing is created', async (t) => {
    const { app } = await makeApp(t)
    const res = await app.inject({
      method: 'POST',
      url: '/user/',
      headers: { 'content-type': 'application/json' },
      payload: `{"login":"alice","password":"${PASSWORD}","login":"mallory"}`,
    })
    const problem = assertProblem(res, 400, 'malformed_json')
    assert.match(problem.detail, /same key twice/)
    assert.equal((await app.store.db.selectFrom('users').select('id').execute()).length, 0)
  })
})
