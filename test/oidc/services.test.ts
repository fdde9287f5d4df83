// Back-end services: discovery, client_credentials with a secret and with private_key_jwt, then
// introspection, user info and revocation — through openid-client, over real TLS.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { exportJWK, generateKeyPair } from 'jose'
import * as oidc from 'openid-client'
import { dialects } from '../support/harness.ts'
import { addClient, relyingParty, serveProvider } from '../support/oidc.ts'

for (const dialect of dialects()) {
  describe(`OpenID provider for services (${dialect})`, () => {
    test('discovery names the issuer, our JWKS and only what is supported', async (t) => {
      const provider = await serveProvider(t, dialect)
      const res = await provider.fetch(`${provider.origin}/.well-known/openid-configuration`)
      assert.equal(res.status, 200)
      const doc = (await res.json()) as Record<string, unknown>
      assert.equal(doc.issuer, provider.origin)
      assert.equal(doc.jwks_uri, `${provider.origin}/.well-known/jwks.json`)
      assert.equal(doc.authorization_endpoint, `${provider.origin}/oauth2/authorize`)
      assert.equal(doc.token_endpoint, `${provider.origin}/oauth2/token`)
      assert.equal(doc.userinfo_endpoint, `${provider.origin}/oauth2/userinfo`)
      assert.equal(doc.revocation_endpoint, `${provider.origin}/oauth2/revoke`)
      assert.equal(doc.introspection_endpoint, `${provider.origin}/oauth2/introspect`)
      assert.equal(doc.end_session_endpoint, `${provider.origin}/oauth2/logout`)
      assert.deepEqual(doc.response_types_supported, ['code'])
      assert.deepEqual(doc.code_challenge_methods_supported, ['S256'])
      assert.deepEqual([...(doc.grant_types_supported as string[])].sort(), [
        'authorization_code',
        'client_credentials',
        'refresh_token',
      ])
      assert.deepEqual(doc.id_token_signing_alg_values_supported, ['EdDSA', 'RS256'])
      assert.deepEqual([...(doc.token_endpoint_auth_methods_supported as string[])].sort(), [
        'client_secret_basic',
        'client_secret_post',
        'none',
        'private_key_jwt',
      ])
      assert.deepEqual([...(doc.scopes_supported as string[])].sort(), [
        'email',
        'offline_access',
        'openid',
        'profile',
      ])
      // The JWKS it names has both algorithms' keys, public halves only.
      const jwks = (await (await provider.fetch(String(doc.jwks_uri))).json()) as {
        keys: Record<string, string>[]
      }
      assert.deepEqual([...new Set(jwks.keys.map((k) => k.alg))].sort(), ['EdDSA', 'RS256'])
      for (const key of jwks.keys) assert.equal(key.d, undefined)
    })

    for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
      test(`client_credentials with ${method}: a token whose subject is the service`, async (t) => {
        const provider = await serveProvider(t, dialect)
        const service = await addClient(provider, {
          grantTypes: ['client_credentials'],
          authMethod: method,
          scope: 'openid',
        })
        const rp = await relyingParty(
          provider,
          service.clientId,
          method === 'client_secret_post'
            ? oidc.ClientSecretPost(service.clientSecret)
            : oidc.ClientSecretBasic(service.clientSecret),
        )
        const tokens = await oidc.clientCredentialsGrant(rp, { scope: 'openid' })
        assert.equal(tokens.token_type.toLowerCase(), 'bearer')
        assert.ok(tokens.access_token.length >= 32)
        assert.equal(tokens.refresh_token, undefined)

        const info = await oidc.tokenIntrospection(rp, tokens.access_token)
        assert.equal(info.active, true)
        assert.equal(info.sub, service.clientId)
        assert.equal(info.client_id, service.clientId)

        const userinfo = await provider.fetch(`${provider.origin}/oauth2/userinfo`, {
          headers: { authorization: `Bearer ${tokens.access_token}` },
        })
        assert.equal(userinfo.status, 200)
        assert.deepEqual(await userinfo.json(), { sub: service.clientId })

        await oidc.tokenRevocation(rp, tokens.access_token)
        assert.equal((await oidc.tokenIntrospection(rp, tokens.access_token)).active, false)

        // The trail says a token was issued to the service, and holds no token.
        const events = await provider.app.store.db
          .selectFrom('events')
          .selectAll()
          .where('type', '=', 'oauth.token_issued')
          .execute()
        assert.equal(events.length, 1)
        assert.deepEqual(JSON.parse(String(events[0]?.data)), {
          client_id: service.clientId,
          grant_type: 'client_credentials',
          scope: 'openid',
        })
        assert.ok(!JSON.stringify(events).includes(tokens.access_token))
      })
    }

    test('client_credentials with private_key_jwt; a wrong key or secret is refused', async (t) => {
      const provider = await serveProvider(t, dialect)
      const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
      const jwk = { ...(await exportJWK(publicKey)), kid: 'svc-1', alg: 'ES256', use: 'sig' }
      const service = await addClient(provider, {
        grantTypes: ['client_credentials'],
        authMethod: 'private_key_jwt',
        scope: 'openid',
        jwks: { keys: [jwk] },
      })
      const rp = await relyingParty(
        provider,
        service.clientId,
        oidc.PrivateKeyJwt({ key: privateKey, kid: 'svc-1' }),
      )
      const tokens = await oidc.clientCredentialsGrant(rp, { scope: 'openid' })
      assert.ok(tokens.access_token)

      const other = await generateKeyPair('ES256', { extractable: true })
      const forged = await relyingParty(
        provider,
        service.clientId,
        oidc.PrivateKeyJwt({ key: other.privateKey, kid: 'svc-1' }),
      )
      await assert.rejects(oidc.clientCredentialsGrant(forged, { scope: 'openid' }), (error) => {
        assert.equal((error as { error?: string }).error, 'invalid_client')
        return true
      })

      const secretClient = await addClient(provider, { grantTypes: ['client_credentials'] })
      const wrong = await relyingParty(
        provider,
        secretClient.clientId,
        oidc.ClientSecretBasic('not-the-secret'),
      )
      await assert.rejects(oidc.clientCredentialsGrant(wrong, {}), (error) => {
        const { status, cause } = error as { status?: number; cause?: unknown }
        assert.equal(status, 401, String(error))
        assert.match(JSON.stringify(cause), /invalid_client/)
        return true
      })
    })

    test('public clients learn nothing by introspection and revoke nothing; no password grant', async (t) => {
      const provider = await serveProvider(t, dialect)
      const service = await addClient(provider, { grantTypes: ['client_credentials'] })
      const spa = await addClient(provider, {
        authMethod: 'none',
        redirectUris: ['https://app.example/cb'],
      })
      const rp = await relyingParty(
        provider,
        service.clientId,
        oidc.ClientSecretBasic(service.clientSecret),
      )
      const { access_token } = await oidc.clientCredentialsGrant(rp, {})
      const body = new URLSearchParams({ token: access_token, client_id: spa.clientId })
      const introspect = await provider.fetch(`${provider.origin}/oauth2/introspect`, {
        method: 'POST',
        body,
      })
      // RFC 7662 §2.2: a caller not allowed to know hears `active: false`, nothing more.
      assert.equal(introspect.status, 200)
      assert.deepEqual(await introspect.json(), { active: false })
      await provider.fetch(`${provider.origin}/oauth2/revoke`, { method: 'POST', body })
      assert.equal((await oidc.tokenIntrospection(rp, access_token)).active, true)

      const password = await provider.fetch(`${provider.origin}/oauth2/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${service.clientId}:${service.clientSecret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'password', username: 'a', password: 'b' }),
      })
      assert.equal(password.status, 400)
      assert.equal(((await password.json()) as { error: string }).error, 'unsupported_grant_type')
    })
  })
}
