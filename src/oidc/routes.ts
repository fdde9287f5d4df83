import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { HSTS } from '../tls/policy.ts'

// The provider's pages run no script of their own; form_post adds its script's hash
// (helpers/script_src_sha.js). No form-action: Chromium applies it to the logout's redirect.
const OIDC_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ')

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i

/**
 * oidc-provider under /oauth2 (and discovery), mounted by hand: each request is handed to the
 * library's own Koa app, which reads the body itself. Registered in its own scope so the body
 * parsers here read nothing.
 */
export default async function oidcRoutes(app: FastifyInstance): Promise<void> {
  const issuerHost = new URL(app.oidc.issuer).host
  const tls = app.initialConfig.https !== undefined && app.initialConfig.https !== null

  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => done(null))

  async function forward(request: FastifyRequest, reply: FastifyReply) {
    const handle = await app.oidc.handler()
    if (request.url.startsWith('/oauth2/userinfo') && (await answeredForService(request, reply)))
      return
    if (request.url.startsWith('/oauth2/logout?')) await hintOfRetiredKey(request)
    const raw = reply.raw
    raw.setHeader('cache-control', 'no-store')
    raw.setHeader('x-content-type-options', 'nosniff')
    raw.setHeader('referrer-policy', 'no-referrer')
    raw.setHeader('content-security-policy', OIDC_CSP)
    raw.setHeader('x-request-id', request.id)
    if (tls) raw.setHeader('strict-transport-security', HSTS)
    // The library builds its URLs from the request (Koa's proxy mode). Only what Fastify has
    // established reaches it: the scheme and address per TRUST_PROXY, the host of PUBLIC_URL.
    const headers = request.raw.headers
    for (const name of Object.keys(headers))
      if (name.startsWith('x-forwarded-')) delete headers[name]
    headers['x-forwarded-proto'] = request.protocol
    headers['x-forwarded-host'] = issuerHost
    headers['x-forwarded-for'] = request.ip
    reply.hijack()
    handle(request.raw, raw)
  }

  /**
   * OIDC Core's user info is about a user; a client_credentials token has none. Its `sub` is the
   * client (issue 15), answered here since the library serves only user access tokens.
   */
  async function answeredForService(request: FastifyRequest, reply: FastifyReply) {
    const token = BEARER.exec(request.headers.authorization ?? '')?.[1]
    if (!token) return false
    const provider = await app.oidc.provider()
    const found = await provider.ClientCredentials.find(token)
    if (!found || found.isExpired) return false
    reply.header('cache-control', 'no-store')
    await reply.send({ sub: found.clientId })
    return true
  }

  /**
   * An RP keeps the ID token for the whole session and sends it at logout, but the provider
   * holds only the active keys: after a rotation the hint would not verify and "Sign out" would
   * fail. A hint signed by a key no longer active only names its client (as `client_id` does,
   * OpenID RP-Initiated Logout §2): the user still confirms, and the post-logout URI must still
   * be that client's.
   */
  async function hintOfRetiredKey(request: FastifyRequest) {
    const url = new URL(request.raw.url ?? '/', app.oidc.issuer)
    const hint = url.searchParams.get('id_token_hint')
    if (!hint) return
    let kid: string | undefined
    let audience: unknown
    try {
      kid = decodeProtectedHeader(hint).kid
      audience = decodeJwt(hint).aud
    } catch {
      return // not a JWT: the library answers that
    }
    const active = (await app.keys.providerKeys()).map((key) => key.kid)
    const client = Array.isArray(audience) ? audience[0] : audience
    if (!kid || active.includes(kid) || typeof client !== 'string') return
    url.searchParams.delete('id_token_hint')
    if (!url.searchParams.has('client_id')) url.searchParams.set('client_id', client)
    request.raw.url = `${url.pathname}${url.search}`
  }

  const hide = { schema: { hide: true } }
  app.route({
    method: ['GET', 'OPTIONS'],
    url: '/.well-known/openid-configuration',
    ...hide,
    handler: forward,
  })
  app.route({ method: ['GET', 'POST', 'OPTIONS'], url: '/oauth2/*', ...hide, handler: forward })
}
