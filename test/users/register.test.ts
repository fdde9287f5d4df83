import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { login, NO_SUCH_UUID, PASSWORD, register, USER_FIELDS } from '../support/requests.ts'

for (const dialect of dialects()) {
  describe(`POST /user/ (${dialect})`, () => {
    test('creates a user: 201, Location, and only the public fields', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const res = await register(app, 'Иван')
      assert.equal(res.statusCode, 201)
      const body = res.json()
      assert.deepEqual(Object.keys(body).sort(), USER_FIELDS)
      assert.match(body.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      assert.equal(body.login, 'Иван')
      assert.equal(body.role, 'user')
      assert.match(body.registered_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      assert.equal(res.headers.location, `/user/${body.id}`)
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8')
    })

    test('a duplicate login is 409 login_taken, also when it differs only by case or NFKC', async (t) => {
      const { app } = await makeApp(t, { dialect })
      assert.equal((await register(app, 'Ivan')).statusCode, 201)
      for (const again of ['Ivan', 'ivan', 'IVAN', 'Ｉｖａｎ' /* full-width: NFKC → Ivan */]) {
        assertProblem(await register(app, again), 409, 'login_taken', again)
      }
      // ß folds to ss: "strasse" and "Straße" are one login.
      assert.equal((await register(app, 'Straße')).statusCode, 201)
      assert.equal((await register(app, 'STRASSE')).json().code, 'login_taken')
    })

    test('fifty concurrent registrations of one login: exactly one 201, the rest 409', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const results = await Promise.all(Array.from({ length: 50 }, () => register(app, 'racer')))
      const codes = results.map((r) => r.statusCode)
      assert.equal(codes.filter((c) => c === 201).length, 1)
      assert.equal(codes.filter((c) => c === 409).length, 49)
      const list = await app.store.db.selectFrom('users').select('id').execute()
      assert.equal(list.length, 1)
    })

    test('valid logins of any script and with . _ - @ +', async (t) => {
      const { app } = await makeApp(t, { dialect })
      for (const name of [
        'ivan@example.com',
        'Иван',
        'mary-jane_o.neil+1',
        '张伟明',
        'josé',
        'a1b',
      ]) {
        const res = await register(app, name)
        assert.equal(res.statusCode, 201, `${name}: ${res.body}`)
        assert.equal(res.json().login, name)
      }
    })

    test('invalid logins are 422 validation_failed naming the field; white space is not trimmed', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const cases: Array<[string, string]> = [
        [' ivan', 'invalid_format'],
        ['ivan ', 'invalid_format'],
        ['iv an', 'invalid_format'],
        ['ab', 'too_short'],
        ['x'.repeat(65), 'too_long'],
        ['.ivan', 'invalid_format'],
        ['ivan!', 'invalid_format'],
        ['iv\u0000an', 'invalid_format'],
      ]
      const limits: Record<string, number> = { too_short: 3, too_long: 64 }
      for (const [name, code] of cases) {
        const res = await register(app, name)
        assert.equal(res.statusCode, 422, JSON.stringify(name))
        const problem = res.json()
        assert.equal(problem.code, 'validation_failed')
        const error = problem.errors.find(
          (e: { field: string; code: string }) => e.field === 'login' && e.code === code,
        )
        assert.ok(error, `${JSON.stringify(name)} → ${res.body}`)
        assert.equal(error.limit, limits[code], `${JSON.stringify(name)} → ${res.body}`)
      }
      assert.equal((await app.store.db.selectFrom('users').select('id').execute()).length, 0)
    })

    test('password policy: 422 password_policy listing every failed rule', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const short = await register(app, 'alice', 'q7-vz!kp')
      assert.equal(short.statusCode, 422)
      assert.equal(short.json().code, 'password_policy')
      assert.deepEqual(
        short.json().errors.map((e: { field: string; code: string }) => [e.field, e.code]),
        [['password', 'too_short']],
      )
      // The bound is a number, so that clients word it in their own language.
      assert.equal(short.json().errors[0].limit, 15)
      const both = await register(app, 'zorblax', 'my zorblax')
      assert.deepEqual(
        both
          .json()
          .errors.map((e: { code: string }) => e.code)
          .sort(),
        ['contains_login', 'too_short'],
      )
      const common = await register(app, 'alice', 'PasswordPassword')
      assert.deepEqual(
        common.json().errors.map((e: { code: string }) => e.code),
        ['common_password'],
      )
      const long = await register(app, 'alice', 'x'.repeat(257))
      assert.deepEqual(
        long.json().errors.map((e: { code: string }) => e.code),
        ['too_long'],
      )
      assert.equal((await register(app, 'alice', 'p'.repeat(256))).statusCode, 201)
    })

    test('a bad login and a bad password are reported together', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const res = await register(app, ' x', 'q7-vz!kp')
      assert.equal(res.statusCode, 422)
      assert.equal(res.json().code, 'validation_failed')
      const fields = new Set(res.json().errors.map((e: { field: string }) => e.field))
      assert.deepEqual([...fields].sort(), ['login', 'password'])
    })

    test('unknown properties are refused, so a client cannot choose its role or id', async (t) => {
      const { app } = await makeApp(t, { dialect })
      for (const extra of [{ role: 'admin' }, { id: NO_SUCH_UUID }]) {
        const res = await app.inject({
          method: 'POST',
          url: '/user/',
          payload: { login: 'mallory', password: PASSWORD, ...extra },
        })
        assert.equal(res.statusCode, 422)
        assert.equal(res.json().code, 'validation_failed')
        assert.deepEqual(res.json().errors[0], {
          field: Object.keys(extra)[0],
          code: 'unknown_property',
          message: 'is not an allowed property',
        })
      }
      assert.equal((await app.store.db.selectFrom('users').select('id').execute()).length, 0)
    })

    test('missing and mistyped fields are named', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const res = await app.inject({ method: 'POST', url: '/user', payload: { login: 42 } })
      assert.equal(res.statusCode, 422)
      const errors = res
        .json()
        .errors.map((e: { field: string; code: string }) => `${e.field}:${e.code}`)
      assert.ok(errors.includes('login:invalid_type'), res.body)
      assert.ok(errors.includes('password:required'), res.body)
    })

    test('the same NFKC at registration and login: é composed or decomposed', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const composed = 'café au lait, s\u00e9rieusement'
      const decomposed = 'café au lait, se\u0301rieusement'
      assert.equal((await register(app, 'josé', composed)).statusCode, 201)
      assert.equal((await login(app, 'jose\u0301', decomposed)).statusCode, 200)
      assert.equal((await login(app, 'JOSÉ', composed)).statusCode, 200)
    })

    test('stores an argon2id PHC hash, never the password', async (t) => {
      const { app } = await makeApp(t, { dialect })
      await register(app, 'hashed')
      const row = await app.store.db.selectFrom('users').selectAll().executeTakeFirstOrThrow()
      assert.match(
        row.password_hash,
        /^\$argon2id\$v=19\$m=256,t=1,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/,
      )
      assert.ok(!row.password_hash.includes(PASSWORD))
      assert.equal(row.login_key, 'hashed')
    })
  })
}
