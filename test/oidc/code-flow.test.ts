// The authorization code flow with PKCE, walked without a browser (the page's own calls), and
// checked by openid-client: ID tokens, user info by scope, consent, refresh rotation and reuse.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { decodeProtectedHeader } from 'jose'
import * as oidc from 'openid-client'
import { clientServiceOf } from '../../src/oidc/clients/routes.ts'
import { dialects } from '../support/harness.ts'
import {
  addClient,
  authorization,
  authorize,
  exchange,
  interactionUid,
  relyingParty,
  serveProvider,
  UserAgent,
} from '../support/oidc.ts'
import { session, signUp } from '../support/requests.ts'

const CALLBACK = 'https://app.example/callback'

for (const dialect of dialects()) {
  describe(`authorization code flow (${dialect})`, () => {
    test('sign in, consent, tokens: ID token claims, user info by scope', async (t) => {
      const provider = await serveProvider(t, dialect)
      const user = await signUp(provider.app, 'alice')
      const client = await addClient(provider, { name: 'Photos', redirectUris: [CALLBACK] })
      const rp = await relyingParty(provider, client.clientId, client.clientSecret)
      const agent = new UserAgent(provider)
      const request = await authorization(rp, CALLBACK, { scope: 'openid profile' })
      const { landed, prompts } = await authorize(agent, request, user.access_token)
      assert.deepEqual(prompts, ['login', 'consent'])
      assert.equal(landed.origin + landed.pathname, CALLBACK)
      assert.equal(landed.searchParams.get('state'), request.state)

      const tokens = await exchange(rp, landed, request)
      const claims = tokens.claims()
      assert.ok(claims)
      assert.equal(claims.iss, provider.origin)
      assert.equal(claims.sub, user.user.id)
      assert.equal(claims.aud, client.clientId)
      assert.equal(claims.nonce, request.nonce)
      assert.deepEqual(claims.amr, ['pwd'])
      assert.equal(claims.acr, 'aal1')
      assert.equal(typeof claims.auth_time, 'number')
      assert.ok(claims.exp > claims.iat)
      assert.equal(decodeProtectedHeader(String(tokens.id_token)).alg, 'EdDSA')
      assert.equal(tokens.refresh_token, undefined, 'no offline_access, no refresh token')

      const info = await oidc.fetchUserInfo(rp, tokens.access_token, user.user.id)
      assert.deepEqual(info, { sub: user.user.id, preferred_username: 'alice' })
    })

    test('RS256 for a client that registered it; email claims by scope', async (t) => {
      const provider = await serveProvider(t, dialect)
      const user = await signUp(provider.app, 'bob')
      await provider.app.store.db
        .updateTable('users')
        .set({ email: 'bob@example.com', email_key: 'bob@example.com' })
        .where('id', '=', user.user.id)
        .execute()
      const client = await addClient(provider, { redirectUris: [CALLBACK], idTokenAlg: 'RS256' })
      const rp = await relyingParty(provider, client.clientId, client.clientSecret, {
        id_token_signed_response_alg: 'RS256',
      })
      const request = await authorization(rp, CALLBACK, { scope: 'openid email' })
      const { landed } = await authorize(new UserAgent(provider), request, user.access_token)
      const tokens = await exchange(rp, landed, request)
      assert.equal(decodeProtectedHeader(String(tokens.id_token)).alg, 'RS256')
      assert.equal(tokens.claims()?.sub, user.user.id)
      const info = await oidc.fetchUserInfo(rp, tokens.access_token, user.user.id)
      assert.deepEqual(info, { sub: user.user.id, email: 'bob@example.com', email_verified: false })
    })

    test('offline_access: refresh tokens rotate, and a reused one revokes the family', async (t) => {
      const provider = await serveProvider(t, dialect)
      const user = await signUp(provider.app, 'carol')
      const client = await addClient(provider, { redirectUris: [CALLBACK] })
      const rp = await relyingParty(provider, client.clientId, client.clientSecret)
      const request = await authorization(rp, CALLBACK, {
        scope: 'openid offline_access',
        prompt: 'consent',
      })
      const { landed } = await authorize(new UserAgent(provider), request, user.access_token)
      const first = await exchange(rp, landed, request)
      assert.ok(first.refresh_token)
      const second = await oidc.refreshTokenGrant(rp, String(first.refresh_token))
      assert.ok(second.refresh_token)
      assert.notEqual(second.refresh_token, first.refresh_token)
      assert.equal(second.claims()?.sub, user.user.id)
      assert.equal((await oidc.tokenIntrospection(rp, second.access_token)).active, true)

      // RFC 9700 §4.14.2: the spent token again — refused, and everything the grant issued ends.
      await assert.rejects(oidc.refreshTokenGrant(rp, String(first.refresh_token)), (error) => {
        assert.equal((error as { error?: string }).error, 'invalid_grant')
        return true
      })
      assert.equal((await oidc.tokenIntrospection(rp, second.access_token)).active, false)
      await assert.rejects(oidc.refreshTokenGrant(rp, String(second.refresh_token)), (error) => {
        assert.equal((error as { error?: string }).error, 'invalid_grant')
        return true
      })
    })

    test('first-party clients: no consent screen, a refresh token without prompt=consent', async (t) => {
      const provider = await serveProvider(t, dialect)
      const user = await signUp(provider.app, 'dave')
      const client = await addClient(provider, { redirectUris: [CALLBACK], firstParty: true })
      const rp = await relyingParty(provider, client.clientId, client.clientSecret)
      const request = await authorization(rp, CALLBACK, { scope: 'openid offline_access' })
      const agent = new UserAgent(provider)
      const { landed, prompts } = await authorize(agent, request, user.access_token)
      assert.deepEqual(prompts, ['login'])
      const tokens = await exchange(rp, landed, request)
      assert.ok(tokens.refresh_token)
      const renewed = await oidc.refreshTokenGrant(rp, String(tokens.refresh_token))
      const consents = await provider.app.store.db
        .selectFrom('oauth_consents')
        .selectAll()
        .execute()
      assert.equal(consents.length, 0)

      // Registered without offline_access: no refresh token, first-party or not.
      const plain = await addClient(provider, {
        redirectUris: [CALLBACK],
        firstParty: true,
        scope: 'openid',
      })
      const plainRp = await relyingParty(provider, plain.clientId, plain.clientSecret)
      const asked = await authorization(plainRp, CALLBACK, { scope: 'openid' })
      const none = await authorize(agent, asked, user.access_token)
      const noRefresh = await exchange(plainRp, none.landed, asked)
      assert.equal(noRefresh.refresh_token, undefined)

      // No longer first-party: what nobody consented to ends, and the app must ask.
      await clientServiceOf(provider.app).update(client.clientId, { first_party: false })
      await assert.rejects(oidc.refreshTokenGrant(rp, String(renewed.refresh_token)))
      const again = await authorize(agent, await authorization(rp, CALLBACK), user.access_token)
      assert.deepEqual(again.prompts, ['consent'])
    })

    test('consent is remembered across sessions, and withdrawing it ends the tokens', async (t) => {
      const provider = await serveProvider(t, dialect)
      const user = await signUp(provider.app, 'erin')
      const client = await addClient(provider, { name: 'Photos', redirectUris: [CALLBACK] })
      const rp = await relyingParty(provider, client.clientId, client.clientSecret)
      const first = await authorization(rp, CALLBACK, { scope: 'openid profile' })
      const one = await authorize(new UserAgent(provider), first, user.access_token)
      assert.deepEqual(one.prompts, ['login', 'consent'])
      const tokens = await exchange(rp, one.landed, first)

      // Another browser: signing in is needed, consenting again is not.
      const again = await authorization(rp, CALLBACK, { scope: 'openid profile' })
      const two = await authorize(new UserAgent(provider), again, user.access_token)
      assert.deepEqual(two.prompts, ['login'])
      // Asking for more asks again.
      const more = await authorization(rp, CALLBACK, { scope: 'openid profile email' })
      const three = await authorize(new UserAgent(provider), more, user.access_token)
      assert.deepEqual(three.prompts, ['login', 'consent'])

      const listed = await provider.app.inject({
        method: 'GET',
        url: '/user/me/consents',
        headers: { authorization: `Bearer ${user.access_token}` },
      })
      assert.equal(listed.statusCode, 200)
      const [consent] = listed.json().consents
      assert.equal(consent.client_id, client.clientId)
      assert.equal(consent.client_name, 'Photos')
      assert.deepEqual([...consent.scopes].sort(), ['email', 'openid', 'profile'])

      const withdrawn = await provider.app.inject({
        method: 'DELETE',
        url: `/user/me/consents/${client.clientId}`,
        headers: { authorization: `Bearer ${user.access_token}` },
      })
      assert.equal(withdrawn.statusCode, 204)
      assert.equal((await oidc.tokenIntrospection(rp, tokens.access_token)).active, false)
      const gone = await provider.app.inject({
        method: 'DELETE',
        url: `/user/me/consents/${client.clientId}`,
        headers: { authorization: `Bearer ${user.access_token}` },
      })
      assert.equal(gone.statusCode, 404)
      assert.equal(gone.json().code, 'not_found')

      const four = await authorize(
        new UserAgent(provider),
        await authorization(rp, CALLBACK, { scope: 'openid profile' }),
        user.access_token,
      )
      assert.deepEqual(four.prompts, ['login', 'consent'])

      const types = (
        await provider.app.store.db
          .selectFrom('events')
          .select('type')
          .where('type', 'like', 'oauth.consent%')
          .orderBy('occurred_at')
          .execute()
      ).map((e) => e.type)
      assert.deepEqual(types, [
        'oauth.consent_given',
        'oauth.consent_given',
        'oauth.consent_withdrawn',
        'oauth.consent_given',
      ])
    })
    test('a key rotation in the middle: the next ID token has the new key, and verifies', async (t) => {
      const provider = await serveProvider(t, dialect)
      const user = await signUp(provider.app, 'frank')
      const client = await addClient(provider, { redirectUris: [CALLBACK], firstParty: true })
      const rp = await relyingParty(provider, client.clientId, client.clientSecret)
      const agent = new UserAgent(provider)
      const before = await authorization(rp, CALLBACK)
      const first = await authorize(agent, before, user.access_token)
      const old = await exchange(rp, first.landed, before)
      const oldKid = decodeProtectedHeader(String(old.id_token)).kid

      // A sign-in under way when the keys rotate goes on (the provider's cookies outlive it).
      const midway = await authorization(rp, CALLBACK, { prompt: 'login' })
      const { url: interaction } = await agent.go(midway.url.href)
      const uid = interactionUid(interaction)
      assert.ok(uid)
      const newKid = await provider.app.keys.rotate()
      const fresh0 = await session(provider.app, 'frank')
      const answer = await agent.interact(uid, 'login', fresh0.access_token)
      assert.equal(answer.status, 200, JSON.stringify(answer.body))
      const { url: back } = await agent.go(String(answer.body.redirect))
      assert.ok(new URL(back).searchParams.get('code'), 'a code after the rotation')

      // An authorization begun before the rotation finishes after it (all state is in the store).
      const during = await authorization(rp, CALLBACK)
      const second = await authorize(agent, during, user.access_token)
      // A relying party that has not cached the JWKS (openid-client refetches on a new kid only
      // after its 30 s cool-down).
      const later = await relyingParty(provider, client.clientId, client.clientSecret)
      const fresh = await exchange(later, second.landed, during)
      const kid = decodeProtectedHeader(String(fresh.id_token)).kid
      assert.equal(kid, newKid)
      assert.notEqual(kid, oldKid)
      // The old key is still published for tokens it signed.
      const jwks = (await (
        await provider.fetch(`${provider.origin}/.well-known/jwks.json`)
      ).json()) as {
        keys: { kid: string }[]
      }
      assert.ok(jwks.keys.some((k) => k.kid === oldKid))
    })
    test('a public client: PKCE, no secret, and it can revoke its own refresh token', async (t) => {
      const provider = await serveProvider(t, dialect)
      const user = await signUp(provider.app, 'gina')
      const spa = await addClient(provider, { authMethod: 'none', redirectUris: [CALLBACK] })
      assert.equal(spa.clientSecret, undefined)
      const rp = await relyingParty(provider, spa.clientId)
      const request = await authorization(rp, CALLBACK, {
        scope: 'openid offline_access',
        prompt: 'consent',
      })
      const { landed } = await authorize(new UserAgent(provider), request, user.access_token)
      const tokens = await exchange(rp, landed, request)
      assert.ok(tokens.refresh_token)
      await oidc.tokenRevocation(rp, String(tokens.refresh_token))
      await assert.rejects(oidc.refreshTokenGrant(rp, String(tokens.refresh_token)), (error) => {
        assert.equal((error as { error?: string }).error, 'invalid_grant')
        return true
      })
    })
  })
}
