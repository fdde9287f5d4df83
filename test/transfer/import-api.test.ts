// POST /user/import: admins move users in with their hashes; each logs in with the old password,
// and that login leaves an argon2id hash behind.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { hash as argon2 } from '@node-rs/argon2'
import { hash as bcrypt } from '@node-rs/bcrypt'
import type { App } from '../../src/app.ts'
import { fanOutPayloads, holdFanOut, trail } from '../support/events.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { sample } from '../support/metrics.ts'
import { assertProblem } from '../support/problems.ts'
import { bearer, login, signUp, signUpAdmin } from '../support/requests.ts'

const importUsers = (app: App, token: string, payload: object) =>
  app.inject({ method: 'POST', url: '/user/import', headers: bearer(token), payload })

const storedHash = async (app: App, loginKey: string) =>
  app.store.db
    .selectFrom('users')
    .select(['password_hash', 'password_scheme'])
    .where('login_key', '=', loginKey)
    .executeTakeFirstOrThrow()

const userCount = async (app: App) =>
  Number(
    (
      await app.store.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  )

for (const dialect of dialects()) {
  describe(`POST /user/import (${dialect})`, () => {
    test('imports bcrypt, argon2 and plaintext users; each logs in, and the first login leaves argon2id', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'boss')
      const users = [
        {
          login: 'rails',
          password_hash: await bcrypt('rails password 1', 10),
          email: 'rails@example.com',
        },
        {
          login: 'argon',
          password_hash: await argon2('argon password 2', { algorithm: 1 /* argon2i */ }),
          email_verified: false,
        },
        { login: 'clear', password: 'a plaintext password 3', role: 'admin' },
        {
          login: 'digest',
          password_hash: {
            algorithm: 'sha256',
            salt: 'NaCl',
            hash: createHash('sha256').update('NaCldigest password 4').digest('hex'),
          },
          registered_at: '2019-03-04T05:06:07.000Z',
        },
      ]
      const res = await importUsers(app, admin.access_token, { users })
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(res.json(), { imported: 4, skipped: [], refused: [] }, res.body)

      assert.equal((await storedHash(app, 'rails')).password_scheme, 'bcrypt')
      assert.equal((await storedHash(app, 'clear')).password_scheme, null, 'hashed here: argon2id')
      assert.match((await storedHash(app, 'clear')).password_hash, /^\$argon2id\$/)
      const foreign = await sample(
        app.metrics.registry,
        'usersvc_password_hashes_foreign{scheme="bcrypt"}',
      )
      assert.equal(foreign, 1)

      const passwords = [
        'rails password 1',
        'argon password 2',
        'a plaintext password 3',
        'digest password 4',
      ]
      for (const [i, user] of users.entries()) {
        const wrong = await login(app, user.login, `${passwords[i]}x`)
        assertProblem(wrong, 401, 'invalid_credentials', `${user.login} wrong password`)
        if (user.login !== 'clear') {
          assert.doesNotMatch((await storedHash(app, user.login)).password_hash, /^\$argon2id\$/)
        }
        const ok = await login(app, user.login, passwords[i])
        assert.equal(ok.statusCode, 200, `${user.login}: ${ok.body}`)
        const after = await storedHash(app, user.login)
        assert.match(after.password_hash, /^\$argon2id\$v=19\$m=256,t=1,p=1\$/, user.login)
        assert.equal(after.password_scheme, null)
        // And again with the new hash.
        assert.equal((await login(app, user.login, passwords[i])).statusCode, 200)
      }
      const body = (await login(app, 'clear', passwords[2])).json()
      assert.equal(body.user.role, 'admin')
      const digest = (await login(app, 'digest', passwords[3])).json()
      assert.equal(digest.user.registered_at, '2019-03-04T05:06:07.000Z')
    })

    test('each imported user is a user.registered event marked imported, by the admin', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'boss')
      const res = await importUsers(app, admin.access_token, {
        users: [
          {
            login: 'moved',
            password_hash: await bcrypt('moved password', 4),
            email: 'm@example.com',
          },
        ],
      })
      assert.equal(res.json().imported, 1)
      const events = (await trail(app)).filter(
        (e) => e.type === 'user.registered' && e.data.imported === true,
      )
      assert.equal(events.length, 1)
      assert.deepEqual(events[0]?.data, { login: 'moved', email: 'm@example.com', imported: true })
      assert.equal(events[0]?.actor.type, 'admin')
      assert.ok(!JSON.stringify(events).includes('$2b$'), 'no hash in the trail')
    })

    test('1,000 records in one request: every user, its event in the trail and in the outbox, in one go', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'boss')
      await holdFanOut(app)
      const hash = await bcrypt('many password', 4)
      const users = Array.from({ length: 1000 }, (_, i) => ({
        login: `bulk${i}`,
        password_hash: hash,
        email: `bulk${i}@example.com`,
      }))
      const res = await importUsers(app, admin.access_token, { users })
      assert.deepEqual(res.json(), { imported: 1000, skipped: [], refused: [] })
      const imported = (await trail(app)).filter((e) => e.data.imported === true)
      assert.equal(imported.length, 1000)
      assert.equal(new Set(imported.map((e) => e.subject?.user_id)).size, 1000)
      const payloads = (await fanOutPayloads(app))
        .map((p) => JSON.parse(p) as { id: string; data: { imported?: boolean } })
        .filter((p) => p.data.imported === true)
      assert.equal(payloads.length, 1000)
      assert.deepEqual(new Set(payloads.map((p) => p.id)), new Set(imported.map((e) => e.id)))
      assert.equal((await login(app, 'bulk999', 'many password')).statusCode, 200)
    })

    test('refuses bad records by index with their reasons, writes the good ones, and skips what exists', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'boss')
      await signUp(app, 'taken')
      const good = await bcrypt('good password', 4)
      const users = [
        { login: 'ok1', password_hash: good },
        { login: 'taken', password_hash: good },
        { login: 'bad login!', password_hash: good },
        { login: 'weak', password_hash: { algorithm: 'md5', salt: 's', hash: 'a'.repeat(32) } },
        { login: 'nohash', password_hash: 'hunter2' },
        { login: 'OK1', password_hash: good },
        { login: 'both', password: 'x', password_hash: good },
        { login: 'extra', password_hash: good, admin: true },
        { login: 'email1', password_hash: good, email: 'same@example.com' },
        { login: 'email2', password_hash: good, email: 'SAME@example.com' },
        'not an object',
        { login: 'short', password: 'short' },
        { login: 'boss2', password_hash: good, email: 'nope' },
      ]
      const before = await userCount(app)
      const res = await importUsers(app, admin.access_token, { users })
      assert.equal(res.statusCode, 200, res.body)
      const body = res.json()
      assert.equal(body.imported, 2)
      assert.deepEqual(body.skipped, [{ index: 1, login: 'taken', reason: 'login_exists' }])
      assert.deepEqual(
        body.refused.map((r: { index: number; reason: string }) => [r.index, r.reason]),
        [
          [2, 'invalid_login'],
          [3, 'weak_hash'],
          [4, 'unknown_hash'],
          [5, 'duplicate_login'],
          [6, 'missing_password'],
          [7, 'unknown_field'],
          [9, 'duplicate_email'],
          [10, 'not_an_object'],
          [11, 'password_policy'],
          [12, 'invalid_email'],
        ],
      )
      assert.ok(!res.body.includes(good), 'no hash in the answer')
      assert.equal(await userCount(app), before + 2)

      // The same request again imports nothing twice.
      const again = (await importUsers(app, admin.access_token, { users })).json()
      assert.equal(again.imported, 0)
      assert.deepEqual(
        again.skipped.map((s: { index: number; reason: string }) => [s.index, s.reason]),
        [
          [0, 'login_exists'],
          [1, 'login_exists'],
          [8, 'login_exists'],
        ],
      )
      assert.equal(await userCount(app), before + 2)
    })

    test('a weak hash is accepted with allow_weak, and logs in', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'boss')
      const salt = randomBytes(8).toString('hex')
      const hash = createHash('md5').update(`old secret${salt}`).digest('hex')
      const users = [
        {
          login: 'legacy',
          password_hash: { algorithm: 'md5', salt, hash, template: '{password}{salt}' },
        },
      ]
      const refused = (await importUsers(app, admin.access_token, { users })).json()
      assert.equal(refused.refused[0]?.reason, 'weak_hash')
      const res = await importUsers(app, admin.access_token, { users, allow_weak: true })
      assert.deepEqual(res.json(), { imported: 1, skipped: [], refused: [] })
      assertProblem(await login(app, 'legacy', 'old secretx'), 401, 'invalid_credentials')
      assert.equal((await login(app, 'legacy', 'old secret')).statusCode, 200)
    })

    test('admins only; more than 1,000 records or a bad body is a 4xx that writes nothing', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const user = await signUp(app, 'someone')
      const admin = await signUpAdmin(app, 'boss')
      const users = [{ login: 'x1y', password: 'a long enough password' }]
      assertProblem(
        await app.inject({ method: 'POST', url: '/user/import', payload: { users } }),
        401,
        'invalid_token',
      )
      assertProblem(await importUsers(app, user.access_token, { users }), 403, 'forbidden')
      const many = Array.from({ length: 1001 }, (_, i) => ({ login: `u${i}x`, password_hash: 'x' }))
      assertProblem(
        await importUsers(app, admin.access_token, { users: many }),
        422,
        'validation_failed',
      )
      assertProblem(
        await importUsers(app, admin.access_token, { users, extra: 1 }),
        422,
        'validation_failed',
      )
      assertProblem(
        await importUsers(app, admin.access_token, { users: 'no' }),
        422,
        'validation_failed',
      )
      const huge = { users: [{ login: 'big', password_hash: 'x'.repeat(2 * 1024 * 1024) }] }
      assertProblem(await importUsers(app, admin.access_token, huge), 413, 'payload_too_large')
      assert.equal(await userCount(app), 2)
    })
  })
}
