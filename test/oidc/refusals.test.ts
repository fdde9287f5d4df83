// What the provider refuses, and how: an error page where redirecting would help an attacker,
// else the error at the client's registered redirect (RFC 6749 §4.1.2.1).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as oidc from 'openid-client'
import { dialects } from '../support/harness.ts'
import {
  addClient,
  authorization,
  authorize,
  exchange,
  relyingParty,
  serveProvider,
  UserAgent,
} from '../support/oidc.ts'
import { signUp } from '../support/requests.ts'

const CALLBACK = 'https://app.example/callback'

const invalidGrant = (error: unknown) => {
  assert.equal((error as { error?: string }).error, 'invalid_grant', String(error))
  return true
}

for (const dialect of dialects()) {
  describe(`authorization refusals (${dialect})`, () => {
    test('an unregistered redirect_uri or unknown client: an error page, never a redirect', async (t) => {
      const provider = await serveProvider(t, dialect)
      const client = await addClient(provider, { redirectUris: [CALLBACK] })
      const rp = await relyingParty(provider, client.clientId, client.clientSecret)
      const agent = new UserAgent(provider)
      for (const uri of [`${CALLBACK}/other`, 'https://evil.example/callback', `${CALLBACK}?x=1`]) {
        const request = await authorization(rp, uri)
        const res = await agent.request(request.url.href)
        assert.equal(res.status, 400, uri)
        assert.equal(res.headers.get('location'), null)
        assert.match(res.headers.get('content-type') ?? '', /text\/html/)
        assert.match(await res.text(), /redirect_uri/)
      }
      const unknown = new URL(`${provider.origin}/oauth2/authorize`)
      unknown.search = new URLSearchParams({
        client_id: 'no-such-client',
        redirect_uri: CALLBACK,
        response_type: 'code',
        scope: 'openid',
      }).toString()
      const res = await agent.request(unknown.href)
      assert.equal(res.status, 400)
      assert.equal(res.headers.get('location'), null)
      assert.match(await res.text(), /invalid_client/)
    })

    test('PKCE: required of public clients, plain refused; implicit and hybrid refused', async (t) => {
      const provider = await serveProvider(t, dialect)
      const spa = await addClient(provider, { authMethod: 'none', redirectUris: [CALLBACK] })
      const rp = await relyingParty(provider, spa.clientId)
      const agent = new UserAgent(provider)
      const cases: Record<string, string | null>[] = [
        { code_challenge: null, code_challenge_method: null },
        { code_challenge_method: 'plain' },
        { response_type: 'token' },
        { response_type: 'code id_token' },
      ]
      for (const change of cases) {
        const request = await authorization(rp, CALLBACK)
        for (const [key, value] of Object.entries(change)) {
          if (value === null) request.url.searchParams.delete(key)
          else request.url.searchParams.set(key, value)
        }
        const res = await agent.request(request.url.href)
        assert.equal(res.status, 303, JSON.stringify(change))
        const back = new URL(String(res.headers.get('location')))
        assert.equal(back.origin + back.pathname, CALLBACK)
        // Implicit and hybrid requests hear it in the fragment, as they asked to.
        const answer = new URLSearchParams(back.hash ? back.hash.slice(1) : back.search)
        const expected = change.response_type ? 'unsupported_response_type' : 'invalid_request'
        assert.equal(answer.get('error'), expected, JSON.stringify(change))
        assert.equal(answer.get('state'), request.state)
        assert.equal(answer.get('code'), null)
        assert.equal(answer.get('access_token'), null)
      }
    })

    test('a code is used once: the second use fails and revokes what the first issued', async (t) => {
      const provider = await serveProvider(t, dialect)
      const user = await signUp(provider.app, 'alice')
      const client = await addClient(provider, { redirectUris: [CALLBACK], firstParty: true })
      const rp = await relyingParty(provider, client.clientId, client.clientSecret)
      const request = await authorization(rp, CALLBACK)
      const { landed } = await authorize(new UserAgent(provider), request, user.access_token)
      const checks = {
        pkceCodeVerifier: request.verifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
      }
      const tokens = await oidc.authorizationCodeGrant(rp, landed, checks)
      assert.equal((await oidc.tokenIntrospection(rp, tokens.access_token)).active, true)
      await assert.rejects(oidc.authorizationCodeGrant(rp, landed, checks), invalidGrant)
      assert.equal((await oidc.tokenIntrospection(rp, tokens.access_token)).active, false)
    })

    test("another client's code, a wrong verifier, an expired code: invalid_grant", async (t) => {
      const provider = await serveProvider(t, dialect)
      const user = await signUp(provider.app, 'bob')
      const client = await addClient(provider, { redirectUris: [CALLBACK], firstParty: true })
      const other = await addClient(provider, { redirectUris: [CALLBACK], firstParty: true })
      const rp = await relyingParty(provider, client.clientId, client.clientSecret)
      const otherRp = await relyingParty(provider, other.clientId, other.clientSecret)

      const stolen = await authorization(rp, CALLBACK)
      const { landed } = await authorize(new UserAgent(provider), stolen, user.access_token)
      await assert.rejects(
        oidc.authorizationCodeGrant(otherRp, landed, {
          pkceCodeVerifier: stolen.verifier,
          expectedState: stolen.state,
        }),
        invalidGrant,
      )

      const wrongVerifier = await authorization(rp, CALLBACK)
      const second = await authorize(new UserAgent(provider), wrongVerifier, user.access_token)
      await assert.rejects(
        oidc.authorizationCodeGrant(rp, second.landed, {
          pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
          expectedState: wrongVerifier.state,
        }),
        invalidGrant,
      )

      // Codes live 60 s, by the service's clock.
      const late = await authorization(rp, CALLBACK)
      const third = await authorize(new UserAgent(provider), late, user.access_token)
      provider.clock.freeze()
      provider.clock.advance(61)
      await assert.rejects(exchange(rp, third.landed, late), invalidGrant)
    })

    test('a code within its 60 s still works on a frozen clock', async (t) => {
      const provider = await serveProvider(t, dialect)
      const user = await signUp(provider.app, 'carol')
      const client = await addClient(provider, { redirectUris: [CALLBACK], firstParty: true })
      const rp = await relyingParty(provider, client.clientId, client.clientSecret)
      const request = await authorization(rp, CALLBACK)
      const { landed } = await authorize(new UserAgent(provider), request, user.access_token)
      provider.clock.freeze()
      provider.clock.advance(55)
      const tokens = await exchange(rp, landed, request)
      assert.ok(tokens.access_token)
    })

    test('prompt=none without a session: login_required at the redirect', async (t) => {
      const provider = await serveProvider(t, dialect)
      const client = await addClient(provider, { redirectUris: [CALLBACK], firstParty: true })
      const rp = await relyingParty(provider, client.clientId, client.clientSecret)
      const request = await authorization(rp, CALLBACK, { prompt: 'none' })
      const { url } = await new UserAgent(provider).go(request.url.href)
      const back = new URL(url)
      assert.equal(back.origin + back.pathname, CALLBACK)
      assert.equal(back.searchParams.get('error'), 'login_required')
      assert.equal(back.searchParams.get('state'), request.state)
    })

    test('the interaction API: unknown or foreign interactions, no token, declining', async (t) => {
      const provider = await serveProvider(t, dialect)
      const client = await addClient(provider, { redirectUris: [CALLBACK] })
      const rp = await relyingParty(provider, client.clientId, client.clientSecret)
      const agent = new UserAgent(provider)
      const request = await authorization(rp, CALLBACK)
      const { url } = await agent.go(request.url.href)
      const uid = new URL(url).pathname.split('/').at(-1) ?? ''

      // Without the browser's interaction cookie, nothing is found.
      const stranger = await new UserAgent(provider).request(`/oauth2/interaction/${uid}/details`)
      assert.equal(stranger.status, 404)
      assert.equal(((await stranger.json()) as { code: string }).code, 'interaction_not_found')
      const wrongUid = await agent.request('/oauth2/interaction/not-this-one/details')
      assert.equal(wrongUid.status, 404)

      const page = await agent.request(`/oauth2/interaction/${uid}`)
      assert.equal(page.status, 200)
      assert.match(await page.text(), /<script type="module" src="\/assets\/app.js">/)

      const details = await agent.request(`/oauth2/interaction/${uid}/details`)
      assert.deepEqual(await details.json(), {
        prompt: 'login',
        reasons: ['no_session'],
        fresh: false,
        client: { client_id: client.clientId, name: 'Test app', first_party: false },
        scopes: ['openid'],
      })
      const noToken = await agent.interact(uid, 'login')
      assert.equal(noToken.status, 401)
      assert.equal(noToken.body.code, 'invalid_token')

      const declined = await agent.interact(uid, 'abort')
      assert.equal(declined.status, 200)
      const { url: back } = await agent.go(String(declined.body.redirect))
      assert.equal(new URL(back).searchParams.get('error'), 'access_denied')
    })
  })
}
