// OpenID provider tests: the whole app over HTTPS on a port chosen first (the issuer is its
// origin), and openid-client — a certified relying party — talking to it through the local CA.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { TestContext } from 'node:test'
import type { ClientMetadata } from 'oidc-provider'
import * as oidc from 'openid-client'
import { Agent, fetch as undiciFetch } from 'undici'
import { clientsRepository, hashSecret } from '../../src/oidc/clients/repository.ts'
import { loadTlsCredentials } from '../../src/tls/credentials.ts'
import { type DialectName, type Harness, makeApp, tempDir } from './harness.ts'
import { freePort } from './ports.ts'

export interface Provider extends Harness {
  origin: string
  agent: Agent
  /** The local CA's certificate file (for NODE_EXTRA_CA_CERTS of a child process). */
  caPath: string
  /** fetch through the local CA (for openid-client's customFetch and plain calls). */
  fetch: typeof fetch
}

export async function serveProvider(
  t: TestContext,
  dialect: DialectName,
  env: Record<string, string> = {},
): Promise<Provider> {
  const creds = await loadTlsCredentials({ enabled: true, dir: await tempDir(t), sans: [] })
  const port = await freePort()
  const origin = `https://localhost:${port}`
  const harness = await makeApp(t, {
    dialect,
    tls: creds,
    env: { PUBLIC_URL: origin, WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: origin, ...env },
  })
  await harness.app.listen({ host: '127.0.0.1', port })
  const caPath = creds.local?.caPath
  if (!caPath) throw new Error('the test certificate comes from the local CA')
  const agent = new Agent({
    connect: {
      ca: await readFile(caPath, 'utf8'),
      // localhost is the origin; the app listens on 127.0.0.1 only.
      lookup: (_host, _options, done) => done(null, [{ address: '127.0.0.1', family: 4 }]),
    },
  })
  t.after(() => agent.close())
  const fetchVia = ((url: string | URL, init?: RequestInit) =>
    undiciFetch(url, { ...(init as object), dispatcher: agent })) as unknown as typeof fetch
  return { ...harness, origin, agent, caPath, fetch: fetchVia }
}

export interface ClientSeed {
  name?: string
  redirectUris?: string[]
  postLogoutRedirectUris?: string[]
  grantTypes?: string[]
  authMethod?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none'
  idTokenAlg?: 'EdDSA' | 'RS256'
  firstParty?: boolean
  scope?: string
  jwks?: { keys: object[] }
}

/** A client written straight to the table (the CLI and admin API have tests of their own). */
export async function addClient(
  provider: Provider,
  seed: ClientSeed = {},
): Promise<{ clientId: string; clientSecret?: string }> {
  const clientId = randomBytes(12).toString('base64url')
  const authMethod = seed.authMethod ?? 'client_secret_basic'
  const secret =
    authMethod === 'client_secret_basic' || authMethod === 'client_secret_post'
      ? randomBytes(32).toString('base64url')
      : undefined
  const grantTypes = seed.grantTypes ?? ['authorization_code', 'refresh_token']
  const metadata = {
    client_id: clientId,
    client_name: seed.name ?? 'Test app',
    redirect_uris: seed.redirectUris ?? [],
    post_logout_redirect_uris: seed.postLogoutRedirectUris ?? [],
    grant_types: grantTypes,
    response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
    token_endpoint_auth_method: authMethod,
    id_token_signed_response_alg: seed.idTokenAlg ?? 'EdDSA',
    scope: seed.scope ?? 'openid profile email offline_access',
    ...(seed.jwks ? { jwks: seed.jwks } : {}),
  }
  await clientsRepository(provider.app.store.db).insert(
    {
      clientId,
      name: metadata.client_name,
      firstParty: seed.firstParty === true,
      metadata: metadata as ClientMetadata,
      secretHash: secret ? hashSecret(secret) : null,
    },
    provider.clock.now(),
  )
  return { clientId, ...(secret ? { clientSecret: secret } : {}) }
}

/** openid-client's view of the provider, for one client, with ID token signatures checked. */
export async function relyingParty(
  provider: Provider,
  clientId: string,
  secretOrAuth?: string | oidc.ClientAuth,
  metadata: Partial<oidc.ClientMetadata> = {},
): Promise<oidc.Configuration> {
  const auth = typeof secretOrAuth === 'string' ? undefined : secretOrAuth
  const secret = typeof secretOrAuth === 'string' ? secretOrAuth : undefined
  return oidc.discovery(
    new URL(provider.origin),
    clientId,
    { ...(secret ? { client_secret: secret } : {}), ...metadata },
    auth ?? (secret ? undefined : oidc.None()),
    {
      [oidc.customFetch]: provider.fetch as never,
      // Without it openid-client 6 does not verify the ID token's signature.
      execute: [oidc.enableNonRepudiationChecks],
    },
  )
}

/**
 * A user agent without a browser, for the protocol's refusals: follows the provider's redirects
 * with its cookies, and signs in through the interaction API as the web page does.
 */
export class UserAgent {
  private cookies = new Map<string, string>()
  private readonly provider: Provider
  constructor(provider: Provider) {
    this.provider = provider
  }

  private remember(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';')
      const at = pair.indexOf('=')
      const name = pair.slice(0, at)
      const value = pair.slice(at + 1)
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }

  /** One request, no redirect followed; cookies kept. */
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    if (this.cookies.size > 0) {
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '))
    }
    const res = await this.provider.fetch(new URL(url, this.provider.origin), {
      ...init,
      headers,
      redirect: 'manual',
    })
    this.remember(res)
    return res
  }

  /** Follows redirects on the provider's origin; stops at another origin or a page. */
  async go(url: string): Promise<{ url: string; res: Response }> {
    let at = url
    for (let hops = 0; hops < 10; hops++) {
      const res = await this.request(at)
      const location = res.headers.get('location')
      if (res.status < 300 || res.status >= 400 || !location) return { url: at, res }
      const next = new URL(location, at)
      if (
        next.origin !== this.provider.origin ||
        next.pathname.startsWith('/oauth2/interaction/')
      ) {
        return { url: next.href, res }
      }
      at = next.href
    }
    throw new Error('too many redirects')
  }

  /** POSTs to an interaction endpoint as the page does; the JSON answer. */
  async interact(
    uid: string,
    step: 'login' | 'consent' | 'abort',
    accessToken?: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await this.request(`/oauth2/interaction/${uid}/${step}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
      },
      body: '{}',
    })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }
}

export const interactionUid = (url: string) =>
  /\/oauth2\/interaction\/([^/?#]+)/.exec(new URL(url).pathname)?.[1]

export interface Authorization {
  url: URL
  verifier: string
  state: string
  nonce: string
}

/** An authorization request with S256 PKCE, state and nonce, as openid-client builds it. */
export async function authorization(
  rp: oidc.Configuration,
  redirectUri: string,
  params: Record<string, string> = {},
): Promise<Authorization> {
  const verifier = oidc.randomPKCECodeVerifier()
  const state = oidc.randomState()
  const nonce = oidc.randomNonce()
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: redirectUri,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...params,
  })
  return { url, verifier, state, nonce }
}

/**
 * Walks an authorization request to the client's redirect: signs in with `accessToken` when the
 * provider asks (as the page does with its session), and consents when asked. Returns the URL the
 * browser lands on, and the prompts met on the way.
 */
export async function authorize(
  agent: UserAgent,
  request: Authorization,
  accessToken: string | undefined,
): Promise<{ landed: URL; prompts: string[] }> {
  const prompts: string[] = []
  let { url } = await agent.go(request.url.href)
  for (let step = 0; step < 4; step++) {
    const uid = interactionUid(url)
    if (!uid) return { landed: new URL(url), prompts }
    const details = await agent.request(`/oauth2/interaction/${uid}/details`)
    const { prompt } = (await details.json()) as { prompt: 'login' | 'consent' }
    prompts.push(prompt)
    const answer = await agent.interact(uid, prompt, accessToken)
    if (answer.status !== 200)
      throw new Error(`${prompt}: ${answer.status} ${JSON.stringify(answer.body)}`)
    url = (await agent.go(String(answer.body.redirect))).url
  }
  throw new Error('too many interactions')
}

/** The code at `landed` for tokens, with every check openid-client makes (PKCE, state, nonce). */
export function exchange(rp: oidc.Configuration, landed: URL, request: Authorization) {
  return oidc.authorizationCodeGrant(rp, landed, {
    pkceCodeVerifier: request.verifier,
    expectedState: request.state,
    expectedNonce: request.nonce,
  })
}

/**
 * RP-initiated logout as a browser goes through it: the question page (which must ask, with its
 * xsrf form), then "Sign out". Returns where the provider sends the browser.
 */
export async function confirmLogout(agent: UserAgent, endSession: URL): Promise<URL> {
  const question = await agent.request(endSession.href)
  assert.equal(question.status, 200)
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(await question.text())?.[1]
  assert.ok(xsrf, 'the page asks before signing out (a form with its xsrf)')
  const confirmed = await agent.request('/oauth2/logout/confirm', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ xsrf, logout: 'yes' }),
  })
  assert.equal(confirmed.status, 303)
  return new URL(String(confirmed.headers.get('location')))
}
