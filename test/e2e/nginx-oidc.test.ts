// The OpenID provider behind real nginx: discovery names the public origin whatever Host or
// X-Forwarded-* a client sends, and a service gets a token through the proxy.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as oidc from 'openid-client'
import { Agent, fetch as undiciFetch } from 'undici'
import { clientServiceOf } from '../../src/oidc/clients/routes.ts'
import { edgeFixture, inProcessService } from '../support/nginx.ts'

test('behind nginx: discovery and endpoints on PUBLIC_URL, client_credentials through it', async (t) => {
  const edge = await edgeFixture(t)
  const service = await inProcessService(t, edge.tlsDir, {
    TRUST_PROXY: '127.0.0.1',
    PUBLIC_URL: edge.base,
  })
  await edge.start([service.upstream])
  const agent = new Agent({
    connect: {
      ca: await edge.caPem(),
      lookup: (_host, _options, done) => done(null, [{ address: '127.0.0.1', family: 4 }]),
    },
  })
  t.after(() => agent.close())
  const viaEdge = ((url: string | URL, init?: RequestInit) =>
    undiciFetch(url, { ...(init as object), dispatcher: agent })) as unknown as typeof fetch

  const spoofed = await viaEdge(`${edge.base}/.well-known/openid-configuration`, {
    headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' },
  })
  assert.equal(spoofed.status, 200)
  const doc = (await spoofed.json()) as Record<string, string>
  assert.equal(doc.issuer, edge.base)
  assert.equal(doc.token_endpoint, `${edge.base}/oauth2/token`)
  assert.equal(doc.jwks_uri, `${edge.base}/.well-known/jwks.json`)
  assert.equal(spoofed.headers.get('strict-transport-security')?.startsWith('max-age='), true)

  const { client, secret } = await clientServiceOf(service.app).create({
    client_name: 'Billing',
    grant_types: ['client_credentials'],
    scope: 'openid',
  })
  assert.ok(secret)
  const rp = await oidc.discovery(
    new URL(edge.base),
    client.clientId,
    secret,
    oidc.ClientSecretBasic(secret),
    { [oidc.customFetch]: viaEdge as never },
  )
  const tokens = await oidc.clientCredentialsGrant(rp, { scope: 'openid' })
  const info = await oidc.tokenIntrospection(rp, tokens.access_token)
  assert.equal(info.active, true)
  assert.equal(info.sub, client.clientId)
  assert.equal(info.iss, edge.base)
})
