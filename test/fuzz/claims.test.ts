// Property-based tests of the claims of a token signed with the service's own key: as if the
// key had leaked, or a bug had signed the wrong claims, the checks after the signature still refuse.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { decodeJwt } from 'jose'
import { Accounts } from '../support/fuzz/accounts.ts'
import { type Req, send } from '../support/fuzz/send.ts'
import { assertSameStore, snapshot } from '../support/fuzz/store.ts'
import { nastyString } from '../support/fuzz/text.ts'
import { signEd25519 } from '../support/fuzz/tokens.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { activeSigningKey } from '../support/tokens.ts'

describe('fuzzing Bearer tokens', () => {
  for (const dialect of dialects()) {
    test(`tokens signed with the service's own key but with wrong claims are 401, never 5xx (${dialect})`, async (t) => {
      // As if the signing key had leaked, or a bug had signed the wrong claims: the checks
      // after the signature must still refuse, and cleanly.
      const { app } = await makeApp(t, { dialect })
      const accounts = await new Accounts(app).init()
      const { kid, key } = await activeSigningKey(app)
      const registered = Math.floor(Date.now() / 1000)
      const twist = fc.oneof(
        {
          // The subject is what reaches the database.
          arbitrary: fc.record({
            claim: fc.constant('sub'),
            value: fc.oneof(
              fc.uuid(),
              fc.constantFrom<unknown>(
                '',
                'me',
                'not-a-uuid',
                'a\u0000b',
                '\ud800',
                123,
                1.5,
                null,
                true,
                {},
                { a: 1 },
                [],
                ['x'],
              ),
              nastyString(40),
              fc.jsonValue({ maxDepth: 2 }),
            ),
          }),
          weight: 4,
        },
        fc.record({
          claim: fc.constant('role'),
          value: fc.constantFrom<unknown>('root', 'ADMIN', '', 1, null, ['user'], undefined),
        }),
        fc.record({
          claim: fc.constant('iss'),
          value: fc.constantFrom<unknown>('evil', '', null, ['usersvc'], undefined),
        }),
        fc.record({
          claim: fc.constant('aud'),
          value: fc.constantFrom<unknown>('evil', '', ['evil'], [], 1, undefined),
        }),
        fc.record({
          claim: fc.constant('exp'),
          value: fc.constantFrom<unknown>(registered - 1, 0, -1, '9999999999', null, undefined),
        }),
        fc.record({
          claim: fc.constant('iat'),
          value: fc.constantFrom<unknown>(registered - 3600, '1', null, undefined),
        }),
        fc.record({
          claim: fc.constant('nbf'),
          value: fc.constantFrom<unknown>(registered + 3600, '0'),
        }),
        fc.record({ claim: fc.constant('jti'), value: fc.constant<unknown>(undefined) }),
        fc.record({
          claim: fc.constant('sid'),
          // Not a session, or one that never was.
          value: fc.constantFrom<unknown>('x', '', 1, null, crypto.randomUUID(), undefined),
        }),
        fc.record({
          claim: fc.constant('amr'),
          value: fc.constantFrom<unknown>('pwd', ['pwd', 'face'], [1], {}, null, undefined),
        }),
        fc.record({
          claim: fc.constant('aal'),
          value: fc.constantFrom<unknown>('aal3', 'AAL2', 2, null, ['aal2'], undefined),
        }),
        fc.record({
          claim: fc.constant('typ'),
          value: fc.constantFrom<unknown>('JWT', 'jwt', '', 'at+jwt+x', undefined),
        }),
        fc.record({
          claim: fc.constant('kid'),
          value: fc.constantFrom<unknown>('nope', '', undefined),
        }),
        fc.record({ claim: fc.constant('crit'), value: fc.constant<unknown>(['exp']) }),
      )
      const tokens = fc.record({
        who: fc.constantFrom('alice' as const, 'root' as const),
        twists: fc.uniqueArray(twist, { maxLength: 3, selector: (x) => x.claim }),
      })
      await fc.assert(
        fc.asyncProperty(tokens, async ({ who, twists }) => {
          const account = accounts[who]
          const now = Math.floor(Date.now() / 1000)
          const header: Record<string, unknown> = { alg: 'EdDSA', kid, typ: 'at+jwt' }
          const payload: Record<string, unknown> = {
            role: account.role,
            iss: 'usersvc',
            aud: 'usersvc',
            sub: account.id,
            iat: now,
            exp: now + 600,
            jti: 'c0ffee',
            sid: decodeJwt(account.accessToken).sid,
            amr: ['pwd'],
            aal: 'aal1',
          }
          for (const { claim, value } of twists) {
            const target = ['typ', 'kid', 'crit'].includes(claim) ? header : payload
            if (value === undefined) delete target[claim]
            else target[claim] = value
          }
          const token = await signEd25519(header, payload, key)
          const req: Req = {
            method: 'GET',
            url: '/user/me',
            headers: { authorization: `Bearer ${token}` },
          }
          const what = `header ${JSON.stringify(header)} claims ${JSON.stringify(payload)}`
          const before = await snapshot(app)
          const res = await send(app, req)
          if (twists.length === 0) {
            assert.equal(res.statusCode, 200, `${what} → ${res.body}`)
            assert.equal(res.json().id, account.id, what)
          } else {
            assertProblem(res, 401, 'invalid_token', what)
          }
          assertSameStore(before, await snapshot(app), what)
        }),
        { numRuns: 400 },
      )
    })
  }
})
