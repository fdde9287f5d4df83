import Provider, {
  type Account,
  type AdapterFactory,
  type ClientMetadata,
  type Configuration,
  interactionPolicy,
  type JWK,
  type KoaContextWithOIDC,
} from 'oidc-provider'
import { SCOPES } from './clients/metadata.ts'
import { errorPage, logoutPage, signedOutPage } from './pages.ts'

export const ACR_VALUES = ['aal1', 'aal2'] as const

export interface ProviderOptions {
  issuer: string
  /** Private JWKs of the active signing keys (EdDSA, RS256): read once by the library. */
  keys: JWK[]
  /** Keys that sign the provider's cookies, newest first. */
  cookieKeys: string[]
  adapter: AdapterFactory
  findAccount: (ctx: KoaContextWithOIDC, sub: string) => Promise<Account | undefined>
  /** Whether the provider's browser session still rests on a live usersvc session. */
  sessionAlive: (uid: string) => Promise<boolean>
  /** A grant to use when the provider's session has none for the client (remembered consent). */
  rememberedGrant: (ctx: KoaContextWithOIDC) => Promise<InstanceType<Provider['Grant']> | undefined>
  compareSecret: (stored: string, presented: string) => boolean
  ttl: { accessSeconds: number; refreshSeconds: number }
}

const SESSION_TTL_SECONDS = 14 * 24 * 3600
const INTERACTION_TTL_SECONDS = 30 * 60

/**
 * The login prompt, plus one check of ours: single sign-on lasts only as long as the usersvc
 * session it began with. Logging out, a password change or a disable ends that session, and then
 * the provider asks again (`prompt=none` answers login_required).
 */
function policy(sessionAlive: ProviderOptions['sessionAlive']) {
  const { Check, base } = interactionPolicy
  const prompts = base()
  const login = prompts.get('login')
  login?.checks.add(
    new Check(
      'usersvc_session_ended',
      'the usersvc session has ended',
      'login_required',
      async (ctx) => {
        const { session } = ctx.oidc
        if (!session?.accountId || ctx.oidc.result?.login) return Check.NO_NEED_TO_PROMPT
        return (await sessionAlive(session.uid)) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT
      },
    ),
  )
  return prompts
}

/** The library's settings, each one explicit: a default we rely on could change under us. */
export function providerConfiguration(options: ProviderOptions): Configuration {
  const clientId = (ctx: KoaContextWithOIDC) => ctx.oidc.client?.clientId ?? ''
  return {
    adapter: options.adapter,
    clients: [],
    findAccount: options.findAccount,
    jwks: { keys: options.keys },
    // The library's defaults otherwise: signed, HttpOnly, SameSite=Lax (a top-level GET from the
    // client's site must carry the session cookie).
    cookies: { keys: options.cookieKeys },
    // OIDC Core §5.4; acr, amr and auth_time under openid so they reach the ID token.
    claims: {
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      profile: ['preferred_username'],
      email: ['email', 'email_verified'],
    },
    scopes: [...SCOPES],
    acrValues: [...ACR_VALUES],
    // Authorization code only: no implicit or hybrid flow (RFC 9700 §2.1.2), no password grant.
    responseTypes: ['code'],
    // RFC 9700 §2.1.1: PKCE for every public client; the library knows S256 only (plain refused).
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    enabledJWA: {
      idTokenSigningAlgValues: ['EdDSA', 'RS256'],
      // Every key kind a client may register (clients/metadata.ts): P-256/384/521, RSA, Ed25519.
      clientAuthSigningAlgValues: ['EdDSA', 'ES256', 'ES384', 'ES512', 'PS256', 'RS256'],
    },
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'EdDSA',
    },
    extraClientMetadata: {
      properties: ['first_party'],
      validator: (_ctx, key, value, metadata) => {
        if (key === 'first_party') metadata.first_party = value === true
      },
    },
    allowOmittingSingleRegisteredRedirectUri: false,
    // RFC 9700 §4.14.2: a refresh token is used once; a second use revokes the grant's tokens.
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && offline(client, code.scopes),
    expiresWithSession: async (ctx, code) =>
      !(ctx.oidc.client && offline(ctx.oidc.client, code.scopes)),
    loadExistingGrant: async (ctx) => {
      const grantId =
        ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session?.grantIdFor(clientId(ctx))
      if (grantId) {
        const grant = await ctx.oidc.provider.Grant.find(grantId)
        if (grant) return grant
      }
      return options.rememberedGrant(ctx)
    },
    // A back-end service's token names the service as its subject (issue 15: `sub` = client).
    extraTokenClaims: async (_ctx, token) =>
      token.kind === 'ClientCredentials' ? { sub: token.clientId } : undefined,
    ttl: {
      // Codes live 60 s (issue 15; RFC 6749 §4.1.2 recommends at most 10 minutes).
      AuthorizationCode: 60,
      AccessToken: options.ttl.accessSeconds,
      ClientCredentials: options.ttl.accessSeconds,
      IdToken: options.ttl.accessSeconds,
      RefreshToken: options.ttl.refreshSeconds,
      Grant: options.ttl.refreshSeconds,
      Session: SESSION_TTL_SECONDS,
      Interaction: INTERACTION_TTL_SECONDS,
    },
    interactions: {
      url: (_ctx, interaction) => `/oauth2/interaction/${interaction.uid}`,
      policy: policy(options.sessionAlive),
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // RFC 7662 §2.1: only confidential clients (resource servers) may introspect.
        allowedPolicy: async (_ctx, client) => client.clientAuthMethod !== 'none',
      },
      revocation: {
        enabled: true,
        // RFC 7009 §2.1: a client revokes only its own tokens; a public one too (RFC 9700
        // §4.14.2 wants a single-page app able to end its refresh token at logout).
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.type = 'html'
          ctx.body = logoutPage(ctx, form)
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.type = 'html'
          ctx.body = signedOutPage(ctx)
        },
      },
      pushedAuthorizationRequests: { enabled: false },
      dPoP: { enabled: false },
      resourceIndicators: { enabled: false },
      registration: { enabled: false },
      deviceFlow: { enabled: false },
      backchannelLogout: { enabled: false },
      claimsParameter: { enabled: false },
      requestObjects: { enabled: false },
    },
    // Browsers may call the token and user-info endpoints only from a client's own origins.
    clientBasedCORS: (_ctx, origin, client) =>
      origin !== 'null' &&
      client.redirectUris?.some((uri) => URL.parse(uri)?.origin === origin) === true,
    renderError: async (ctx, out, error) => {
      ctx.type = 'html'
      ctx.body = errorPage(ctx, out, error)
    },
    routes: {
      authorization: '/oauth2/authorize',
      token: '/oauth2/token',
      userinfo: '/oauth2/userinfo',
      introspection: '/oauth2/introspect',
      revocation: '/oauth2/revoke',
      end_session: '/oauth2/logout',
      // Never forwarded: jwks_uri then names the service's own JWKS route.
      jwks: '/.well-known/jwks.json',
    },
  }
}

/**
 * Whether a grant gets refresh tokens: it holds offline_access, which the library keeps only with
 * prompt=consent (OIDC Core §11); a first-party client registered for offline_access needs no
 * such prompt (issue 15).
 */
function offline(
  client: { metadata(): Record<string, unknown>; scope?: string | undefined },
  scopes: Set<string>,
): boolean {
  if (scopes.has('offline_access')) return true
  return isFirstParty(client) && (client.scope ?? '').split(' ').includes('offline_access')
}

/** The team's own apps: no consent screen, and a refresh token without prompt=consent. */
export function isFirstParty(client: { metadata(): Record<string, unknown> }): boolean {
  return client.metadata().first_party === true
}

/** A provider over the given keys; the holder builds a new one when the keys rotate. */
export function buildProvider(options: ProviderOptions): Provider {
  const provider = new Provider(options.issuer, providerConfiguration(options))
  // Client secrets are stored as SHA-256: the library compares the presented secret to ours.
  provider.Client.prototype.compareClientSecret = function (
    this: { clientSecret?: string },
    presented: string,
  ) {
    return this.clientSecret !== undefined && options.compareSecret(this.clientSecret, presented)
  }
  return provider
}

export type { ClientMetadata }
