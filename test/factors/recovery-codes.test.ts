import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { verify } from '@node-rs/argon2'
import { dialects, makeApp } from '../support/harness.ts'
import { mailDir } from '../support/mail.ts'
import { assertProblem } from '../support/problems.ts'
import {
  CODE_PATTERN,
  codeRows,
  codeStatus,
  codesOf,
  newCodes,
  recoverWithCode,
  setAddress,
} from '../support/recovery-codes.ts'
import { NEW_PASSWORD, signUp } from '../support/requests.ts'

const ARGON2ID = /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$([A-Za-z0-9+/]{22,})\$[A-Za-z0-9+/]{43}$/

for (const dialect of dialects()) {
  describe(`GET and POST /user/me/recovery-codes (${dialect})`, () => {
    test('a new set: 201 with ten distinct codes, shown once; GET tells only how many are left', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze(new Date('2026-03-01T10:00:00.123Z'))
      const alice = await signUp(app, 'alice')

      const none = await codeStatus(app, alice.access_token)
      assert.equal(none.statusCode, 200)
      assert.deepEqual(none.json(), { remaining: 0, created_at: null })

      const res = await newCodes(app, alice.access_token)
      assert.equal(res.statusCode, 201, res.body)
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8')
      assert.equal(res.headers['cache-control'], 'no-store')
      assert.equal(res.headers.location, '/user/me/recovery-codes')
      const body = res.json()
      assert.deepEqual(Object.keys(body).sort(), ['codes', 'created_at'])
      assert.equal(body.created_at, '2026-03-01T10:00:00.123Z')
      assert.equal(body.codes.length, 10)
      assert.equal(new Set(body.codes).size, 10)
      assert.equal(new Set(body.codes.map((c: string) => c.slice(0, 4))).size, 10, 'selectors')
      for (const code of body.codes) assert.match(code, CODE_PATTERN)

      const status = await codeStatus(app, alice.access_token)
      assert.equal(status.statusCode, 200)
      assert.deepEqual(status.json(), { remaining: 10, created_at: '2026-03-01T10:00:00.123Z' })
      for (const code of body.codes) assert.ok(!status.body.includes(code.slice(5)))
    })

    test('the store keeps salted argon2id hashes of the codes, never the codes', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const codes = await codesOf(app, alice.access_token)
      const rows = await codeRows(app, alice.user.id)
      assert.equal(rows.length, 10)
      const salts = new Set<string>()
      for (const row of rows) {
        const salt = ARGON2ID.exec(row.code_hash)?.[1]
        assert.ok(salt, row.code_hash)
        salts.add(salt)
        const code = codes.find((c) => c.startsWith(row.selector)) as string
        assert.ok(code, `a code for selector ${row.selector}`)
        const secret = code.slice(5).replaceAll('-', '')
        assert.ok(!JSON.stringify(row).includes(secret), 'the secret part is not stored')
        assert.equal(await verify(row.code_hash, code.replaceAll('-', '')), true)
        assert.equal(row.used_at, null)
      }
      assert.equal(salts.size, 10, 'a salt of its own for each code')
    })

    test('a new set replaces the old one: the old codes are dead, ten remain', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const old = await codesOf(app, alice.access_token)
      const fresh = await codesOf(app, alice.access_token)
      assert.equal((await codeRows(app, alice.user.id)).length, 10)
      assert.deepEqual((await codeStatus(app, alice.access_token)).json().remaining, 10)
      assertProblem(
        await recoverWithCode(app, 'alice', old[0] as string, NEW_PASSWORD),
        400,
        'invalid_code',
      )
      const used = await recoverWithCode(app, 'alice', fresh[0] as string, NEW_PASSWORD)
      assert.equal(used.statusCode, 204, used.body)
    })

    test('two sets made at once: one of them, whole, survives', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const answers = await Promise.all([
        newCodes(app, alice.access_token),
        newCodes(app, alice.access_token),
      ])
      const sets = answers.map((res) => {
        assert.equal(res.statusCode, 201, res.body)
        return (res.json().codes as string[]).map((c) => c.slice(0, 4)).sort()
      })
      const stored = (await codeRows(app, alice.user.id)).map((row) => row.selector).sort()
      assert.equal(stored.length, 10)
      assert.ok(
        sets.some((set) => JSON.stringify(set) === JSON.stringify(stored)),
        'the stored set is one of the two answered',
      )
    })

    test('a wrong password is 401 invalid_credentials, and no set is made', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const res = await newCodes(app, alice.access_token, 'not the password at all, sorry')
      assertProblem(res, 401, 'invalid_credentials')
      assert.deepEqual((await codeStatus(app, alice.access_token)).json(), {
        remaining: 0,
        created_at: null,
      })
      assert.equal((await codeRows(app, alice.user.id)).length, 0)
    })

    test('without a token: 401 invalid_token, for both', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const post = await app.inject({
        method: 'POST',
        url: '/user/me/recovery-codes',
        payload: { password: 'x' },
      })
      assertProblem(post, 401, 'invalid_token')
      assertProblem(
        await app.inject({ method: 'GET', url: '/user/me/recovery-codes' }),
        401,
        'invalid_token',
      )
    })

    test('the notice goes to a verified address only, in the client’s language, without codes', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const mail = mailDir(config.mail.dir)
      const alice = await signUp(app, 'alice')
      const bob = await signUp(app, 'bob')
      // Addresses straight in the store, without their verification mail (support/recovery-codes.ts).
      await setAddress(app, alice.user.id, 'alice@example.com', false)
      await setAddress(app, bob.user.id, 'bob@example.com', true)

      const aliceCodes = await codesOf(app, alice.access_token)
      const res = await newCodes(app, bob.access_token, undefined, { 'accept-language': 'ru, en' })
      assert.equal(res.statusCode, 201)
      const notice = await mail.next('bob@example.com')
      assert.equal(notice.subject, 'Созданы новые коды восстановления')
      assert.match(notice.text, /bob/)
      for (const code of [...res.json().codes, ...aliceCodes]) {
        for (const part of [notice.raw, notice.text, notice.html]) {
          assert.ok(!part.includes(code.slice(5)), 'no code in the mail')
        }
      }
      // Alice's set came first; mail goes out in order: had it been mailed, it would be here.
      assert.deepEqual(
        (await mail.all()).map((m) => m.to),
        ['bob@example.com'],
      )
    })
  })
}
