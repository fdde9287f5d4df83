// Single sign-on across clients, what ends it, prompt=login and max_age, and RP-initiated logout.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import * as oidc from 'openid-client'
import { dialects } from '../support/harness.ts'
import {
  addClient,
  authorization,
  authorize,
  confirmLogout,
  exchange,
  interactionUid,
  relyingParty,
  serveProvider,
  UserAgent,
} from '../support/oidc.ts'
import {
  logout,
  NEW_PASSWORD,
  PASSWORD,
  session,
  signUp,
  signUpAdmin,
} from '../support/requests.ts'

const APP_A = 'https://photos.example/callback'
const APP_B = 'https://mail.example/callback'

for (const dialect of dialects()) {
  describe(`single sign-on and logout (${dialect})`, () => {
    test('a second client on another origin signs in without asking again', async (t) => {
      const provider = await serveProvider(t, dialect)
      const user = await signUp(provider.app, 'alice')
      const a = await addClient(provider, { redirectUris: [APP_A], firstParty: true })
      const b = await addClient(provider, { redirectUris: [APP_B] })
      const c = await addClient(provider, { redirectUris: [APP_B], firstParty: true })
      const agent = new UserAgent(provider)
      const rpA = await relyingParty(provider, a.clientId, a.clientSecret)
      const first = await authorize(agent, await authorization(rpA, APP_A), user.access_token)
      assert.deepEqual(first.prompts, ['login'])

      // Another origin, same browser: no sign-in; a third-party app still asks for consent.
      const rpB = await relyingParty(provider, b.clientId, b.clientSecret)
      const second = await authorize(agent, await authorization(rpB, APP_B), user.access_token)
      assert.deepEqual(second.prompts, ['consent'])
      const rpC = await relyingParty(provider, c.clientId, c.clientSecret)
      const request = await authorization(rpC, APP_B)
      const third = await authorize(agent, request, undefined)
      assert.deepEqual(third.prompts, [])
      const tokens = await exchange(rpC, third.landed, request)
      assert.equal(tokens.claims()?.sub, user.user.id)
      assert.deepEqual(tokens.claims()?.amr, ['pwd'])
    })

    test('ending the usersvc session ends single sign-on: prompt=none hears login_required', async (t) => {
      const provider = await serveProvider(t, dialect)
      const user = await signUp(provider.app, 'bob')
      const a = await addClient(provider, { redirectUris: [APP_A], firstParty: true })
      const rp = await relyingParty(provider, a.clientId, a.clientSecret)
      const agent = new UserAgent(provider)
      await authorize(agent, await authorization(rp, APP_A), user.access_token)
      const silent = await authorize(
        agent,
        await authorization(rp, APP_A, { prompt: 'none' }),
        undefined,
      )
      assert.equal(silent.landed.searchParams.get('code')?.length ? 'code' : 'none', 'code')

      assert.equal((await logout(provider.app, user.refresh_token)).statusCode, 204)
      const after = await authorize(
        agent,
        await authorization(rp, APP_A, { prompt: 'none' }),
        undefined,
      )
      assert.equal(after.landed.searchParams.get('error'), 'login_required')
      assert.equal(after.landed.searchParams.get('code'), null)
    })

    test('prompt=login and max_age ask for a sign-in made for the request', async (t) => {
      const provider = await serveProvider(t, dialect)
      let current = await signUp(provider.app, 'carol')
      const a = await addClient(provider, { redirectUris: [APP_A], firstParty: true })
      const rp = await relyingParty(provider, a.clientId, a.clientSecret)
      const agent = new UserAgent(provider)
      await authorize(agent, await authorization(rp, APP_A), current.access_token)

      for (const params of [{ prompt: 'login' }, { max_age: '1' }] as Record<string, string>[]) {
        // Sign-ins are timed in seconds: the last one is clearly older than this request.
        await sleep(2100)
        const request = await authorization(rp, APP_A, params)
        const { url } = await agent.go(request.url.href)
        const uid = interactionUid(url)
        assert.ok(uid, `${JSON.stringify(params)} asks for a sign-in`)
        const details = await (await agent.request(`/oauth2/interaction/${uid}/details`)).json()
        assert.equal((details as { fresh: boolean }).fresh, true)
        const stale = await agent.interact(uid, 'login', current.access_token)
        assert.equal(stale.status, 403)
        assert.equal(stale.body.code, 'login_required')

        current = await session(provider.app, 'carol')
        const answer = await agent.interact(uid, 'login', current.access_token)
        assert.equal(answer.status, 200)
        const { url: landed } = await agent.go(String(answer.body.redirect))
        const tokens = await oidc.authorizationCodeGrant(rp, new URL(landed), {
          pkceCodeVerifier: request.verifier,
          expectedState: request.state,
          expectedNonce: request.nonce,
          ...(params.max_age ? { maxAge: 1 } : {}),
        })
        const authTime = Number(tokens.claims()?.auth_time)
        assert.ok(authTime * 1000 >= Date.now() - 5000, 'auth_time is the new sign-in')
      }
    })

    test('RP-initiated logout ends the usersvc session too', async (t) => {
      const provider = await serveProvider(t, dialect)
      const user = await signUp(provider.app, 'dave')
      const a = await addClient(provider, {
        redirectUris: [APP_A],
        postLogoutRedirectUris: ['https://photos.example/bye'],
        firstParty: true,
      })
      const rp = await relyingParty(provider, a.clientId, a.clientSecret)
      const agent = new UserAgent(provider)
      const request = await authorization(rp, APP_A)
      const { landed } = await authorize(agent, request, user.access_token)
      const tokens = await exchange(rp, landed, request)

      const wrong = oidc.buildEndSessionUrl(rp, {
        id_token_hint: String(tokens.id_token),
        post_logout_redirect_uri: 'https://evil.example/bye',
      })
      const refused = await agent.request(wrong.href)
      assert.equal(refused.status, 400)
      assert.equal(refused.headers.get('location'), null)

      const end = oidc.buildEndSessionUrl(rp, {
        id_token_hint: String(tokens.id_token),
        post_logout_redirect_uri: 'https://photos.example/bye',
        state: 'bye-state',
      })
      const back = await confirmLogout(agent, end)
      assert.equal(back.origin + back.pathname, 'https://photos.example/bye')
      assert.equal(back.searchParams.get('state'), 'bye-state')

      // The usersvc session is over: its refresh token and access token are refused.
      const renewed = await provider.app.inject({
        method: 'POST',
        url: '/session/refresh',
        payload: { refresh_token: user.refresh_token },
      })
      assert.equal(renewed.statusCode, 401)
      const me = await provider.app.inject({
        method: 'GET',
        url: '/user/me',
        headers: { authorization: `Bearer ${user.access_token}` },
      })
      assert.equal(me.statusCode, 401)
      const ended = await provider.app.store.db
        .selectFrom('events')
        .select('data')
        .where('type', '=', 'session.ended')
        .execute()
      assert.deepEqual(
        ended.map((e) => JSON.parse(String(e.data)).reason),
        ['logout'],
      )
      const silent = await authorize(
        agent,
        await authorization(rp, APP_A, { prompt: 'none' }),
        undefined,
      )
      assert.equal(silent.landed.searchParams.get('error'), 'login_required')
    })
    test('disabling the account stops its OpenID tokens and its single sign-on', async (t) => {
      const provider = await serveProvider(t, dialect)
      const admin = await signUpAdmin(provider.app, 'root')
      const user = await signUp(provider.app, 'erin')
      const a = await addClient(provider, { redirectUris: [APP_A], firstParty: true })
      const rp = await relyingParty(provider, a.clientId, a.clientSecret)
      const agent = new UserAgent(provider)
      const request = await authorization(rp, APP_A, { scope: 'openid offline_access' })
      const { landed } = await authorize(agent, request, user.access_token)
      const tokens = await exchange(rp, landed, request)
      assert.ok(tokens.refresh_token)

      const disabled = await provider.app.inject({
        method: 'POST',
        url: `/user/${user.user.id}/disable`,
        headers: { authorization: `Bearer ${admin.access_token}` },
        payload: {},
      })
      assert.equal(disabled.statusCode, 200)
      await assert.rejects(oidc.fetchUserInfo(rp, tokens.access_token, user.user.id))
      await assert.rejects(oidc.refreshTokenGrant(rp, String(tokens.refresh_token)), (error) => {
        assert.equal((error as { error?: string }).error, 'invalid_grant')
        return true
      })
      assert.equal((await oidc.tokenIntrospection(rp, tokens.access_token)).active, false)
      const silent = await authorize(
        agent,
        await authorization(rp, APP_A, { prompt: 'none' }),
        undefined,
      )
      assert.equal(silent.landed.searchParams.get('error'), 'login_required')
    })
    test('a new password ends every grant and token the apps hold', async (t) => {
      const provider = await serveProvider(t, dialect)
      const user = await signUp(provider.app, 'fay')
      const a = await addClient(provider, { redirectUris: [APP_A] })
      const rp = await relyingParty(provider, a.clientId, a.clientSecret)
      const request = await authorization(rp, APP_A, {
        scope: 'openid offline_access',
        prompt: 'consent',
      })
      const { landed } = await authorize(new UserAgent(provider), request, user.access_token)
      const tokens = await exchange(rp, landed, request)
      assert.ok(tokens.refresh_token)
      const changed = await provider.app.inject({
        method: 'PUT',
        url: '/user/me/password',
        headers: { authorization: `Bearer ${user.access_token}` },
        payload: { current_password: PASSWORD, new_password: NEW_PASSWORD },
      })
      assert.equal(changed.statusCode, 204)
      await assert.rejects(oidc.refreshTokenGrant(rp, String(tokens.refresh_token)), (error) => {
        assert.equal((error as { error?: string }).error, 'invalid_grant')
        return true
      })
      assert.equal((await oidc.tokenIntrospection(rp, tokens.access_token)).active, false)
      await assert.rejects(oidc.fetchUserInfo(rp, tokens.access_token, user.user.id))
    })

    test("logging out of usersvc ends the tokens bound to that browser's session", async (t) => {
      const provider = await serveProvider(t, dialect)
      const user = await signUp(provider.app, 'gus')
      const a = await addClient(provider, { redirectUris: [APP_A] })
      const rp = await relyingParty(provider, a.clientId, a.clientSecret)
      const request = await authorization(rp, APP_A)
      const { landed } = await authorize(new UserAgent(provider), request, user.access_token)
      const tokens = await exchange(rp, landed, request)
      assert.equal(
        (await oidc.fetchUserInfo(rp, tokens.access_token, user.user.id)).sub,
        user.user.id,
      )
      assert.equal((await logout(provider.app, user.refresh_token)).statusCode, 204)
      await assert.rejects(oidc.fetchUserInfo(rp, tokens.access_token, user.user.id))
    })

    test('an expired usersvc session ends single sign-on', async (t) => {
      const provider = await serveProvider(t, dialect, { REFRESH_TOKEN_TTL_SECONDS: '120' })
      const user = await signUp(provider.app, 'hal')
      const a = await addClient(provider, { redirectUris: [APP_A], firstParty: true })
      const rp = await relyingParty(provider, a.clientId, a.clientSecret)
      const agent = new UserAgent(provider)
      await authorize(agent, await authorization(rp, APP_A), user.access_token)
      provider.clock.advance(600)
      const silent = await authorize(
        agent,
        await authorization(rp, APP_A, { prompt: 'none' }),
        undefined,
      )
      assert.equal(silent.landed.searchParams.get('error'), 'login_required')
    })
    test('RP-initiated logout with an ID token signed before a key rotation', async (t) => {
      const provider = await serveProvider(t, dialect)
      const user = await signUp(provider.app, 'ida')
      const a = await addClient(provider, {
        redirectUris: [APP_A],
        postLogoutRedirectUris: ['https://photos.example/bye'],
        firstParty: true,
      })
      const rp = await relyingParty(provider, a.clientId, a.clientSecret)
      const agent = new UserAgent(provider)
      const request = await authorization(rp, APP_A)
      const { landed } = await authorize(agent, request, user.access_token)
      const tokens = await exchange(rp, landed, request)
      await provider.app.keys.rotate()
      const end = oidc.buildEndSessionUrl(rp, {
        id_token_hint: String(tokens.id_token),
        post_logout_redirect_uri: 'https://photos.example/bye',
        state: 'after-rotation',
      })
      const back = await confirmLogout(agent, end)
      assert.equal(back.origin + back.pathname, 'https://photos.example/bye')
      assert.equal(back.searchParams.get('state'), 'after-rotation')
      const renewed = await provider.app.inject({
        method: 'POST',
        url: '/session/refresh',
        payload: { refresh_token: user.refresh_token },
      })
      assert.equal(renewed.statusCode, 401)

      // The hint names its client: another client's post-logout URI is still refused.
      const other = oidc.buildEndSessionUrl(rp, {
        id_token_hint: String(tokens.id_token),
        post_logout_redirect_uri: 'https://evil.example/bye',
      })
      assert.equal((await agent.request(other.href)).status, 400)
    })
  })
}
