import { createPublicKey } from 'node:crypto'
import type { ClientAuthMethod, ClientMetadata, JWK, ResponseType } from 'oidc-provider'
import { AppError, type FieldError } from '../../errors.ts'
import { codePoints } from '../../text.ts'

// The rules a registered client follows, in one place for the admin API and the command line:
// its input in OIDC Dynamic Client Registration names in, oidc-provider's client metadata out,
// or a 422 naming every field that breaks a rule (nothing is stored then).

export const SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const
/** Without --scopes / scope. offline_access (refresh tokens) must be asked for at registration. */
export const DEFAULT_SCOPE = 'openid profile email'
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const
export type GrantType = (typeof GRANT_TYPES)[number]
export const AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
] as const
export type AuthMethod = (typeof AUTH_METHODS)[number]
export const ID_TOKEN_ALGS = ['EdDSA', 'RS256'] as const
export type IdTokenAlg = (typeof ID_TOKEN_ALGS)[number]

export const NAME_MAX = 100
export const URIS_MAX = 20
export const URI_MAX_LENGTH = 2000
export const KEYS_MAX = 10

/** What a client is registered with (the same names as the API's body). */
export interface ClientInput {
  client_name: string
  redirect_uris?: readonly string[] | undefined
  post_logout_redirect_uris?: readonly string[] | undefined
  /** client_credentials adds that grant; authorization_code and refresh_token come with redirect URIs. */
  grant_types?: readonly string[] | undefined
  /** Space-separated. */
  scope?: string | undefined
  token_endpoint_auth_method?: string | undefined
  id_token_signed_response_alg?: string | undefined
  jwks?: unknown
}

/** Whether clients of this method are given a secret (and can have it rotated). */
export const usesSecret = (method: string | undefined): boolean =>
  method === 'client_secret_basic' || method === 'client_secret_post'

// RFC 8252 §7.3: plain http only to the loopback interface, where a native app listens.
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost'])

/** Why a redirect URI is refused, or undefined. The string is kept exactly as given. */
function uriError(field: string, uri: string): FieldError | undefined {
  const error = (code: FieldError['code'], message: string, limit?: number): FieldError => ({
    field,
    code,
    message,
    ...(limit === undefined ? {} : { limit }),
  })
  if (uri.length > URI_MAX_LENGTH)
    return error('too_long', `must be at most ${URI_MAX_LENGTH} characters long`, URI_MAX_LENGTH)
  // The URL parser would drop surrounding white space and tabs inside: the string must be the URI.
  if (/[\s\p{Cc}]/u.test(uri)) return error('invalid_format', 'must not contain white space')
  const parsed = /^https?:\/\/[^/?#]/.test(uri) ? URL.parse(uri) : null
  if (!parsed) return error('invalid_format', 'must be an absolute https:// URL')
  // RFC 6749 §3.1.2: the redirection endpoint URI MUST NOT include a fragment component.
  if (uri.includes('#')) return error('invalid_format', 'must not have a fragment (#…)')
  if (parsed.username !== '' || parsed.password !== '')
    return error('invalid_format', 'must not hold credentials (user:password@)')
  if (parsed.protocol === 'http:' && !LOOPBACK_HOSTS.has(parsed.hostname)) {
    return error(
      'invalid_value',
      'must be an https URL (plain http only to 127.0.0.1, [::1] or localhost)',
    )
  }
  return undefined
}

function uriList(field: string, uris: readonly string[] | undefined, errors: FieldError[]) {
  const list = [...new Set(uris ?? [])]
  if (list.length > URIS_MAX) {
    const message = `must hold at most ${URIS_MAX} items`
    errors.push({ field, code: 'too_long', message, limit: URIS_MAX })
  }
  list.forEach((uri, i) => {
    const error = uriError(`${field}.${i}`, uri)
    if (error) errors.push(error)
  })
  return list
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

// Every member that makes a JWK private (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2; AKP's priv).
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv']
const EC_CURVES = new Set(['P-256', 'P-384', 'P-521'])

/** Why one of a client's keys is refused, or undefined: a public signing key the library takes. */
function keyError(key: Record<string, unknown>): string | undefined {
  const secret = PRIVATE_MEMBERS.filter((member) => member in key)
  if (secret.length > 0)
    return `holds private key material (${secret.join(', ')}): register the public key only`
  if (key.use !== undefined && key.use !== 'sig') return 'must be a signing key (use "sig")'
  if (key.kty === 'OKP' && key.crv !== 'Ed25519') return 'an OKP key must be on Ed25519'
  if (key.kty === 'EC' && !EC_CURVES.has(String(key.crv)))
    return 'an EC key must be on P-256, P-384 or P-521'
  if (key.kty !== 'RSA' && key.kty !== 'EC' && key.kty !== 'OKP')
    return 'kty must be RSA, EC or OKP'
  try {
    const parsed = createPublicKey({ key: key as never, format: 'jwk' })
    const bits = parsed.asymmetricKeyDetails?.modulusLength
    if (key.kty === 'RSA' && (bits ?? 0) < 2048) return 'an RSA key must have at least 2048 bits'
  } catch {
    return 'is not a valid public JWK'
  }
  return undefined
}

/** The client's public keys for private_key_jwt (RFC 7517 JWK Set), checked key by key. */
function checkJwks(jwks: unknown, errors: FieldError[]): { keys: JWK[] } | undefined {
  const keys = isObject(jwks) ? jwks.keys : undefined
  if (!isObject(jwks) || !Array.isArray(keys) || Object.keys(jwks).some((k) => k !== 'keys')) {
    errors.push({
      field: 'jwks',
      code: 'invalid_format',
      message: 'must be a JWK Set: {"keys": […]}',
    })
    return undefined
  }
  if (keys.length === 0 || keys.length > KEYS_MAX) {
    const [code, message, limit] =
      keys.length === 0
        ? (['too_short', 'must hold at least 1 item', 1] as const)
        : (['too_long', `must hold at most ${KEYS_MAX} items`, KEYS_MAX] as const)
    errors.push({ field: 'jwks.keys', code, message, limit })
  }
  keys.forEach((key, i) => {
    const message = isObject(key) ? keyError(key) : 'must be a JWK (an object)'
    if (message) errors.push({ field: `jwks.keys.${i}`, code: 'invalid_value', message })
  })
  return { keys: keys as JWK[] }
}

function checkScope(scope: string | undefined, errors: FieldError[]): string {
  const values = [...new Set((scope ?? DEFAULT_SCOPE).split(/\s+/).filter(Boolean))]
  const unknown = values.filter((value) => !(SCOPES as readonly string[]).includes(value))
  if (values.length === 0 || unknown.length > 0) {
    const named = unknown.length > 0 ? `unknown: ${unknown.join(', ')}; ` : ''
    const message = `${named}must be some of ${SCOPES.join(', ')}`
    errors.push({ field: 'scope', code: 'invalid_value', message })
  }
  return values.join(' ')
}

function oneOf<T extends string>(
  field: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
  errors: FieldError[],
): T {
  if (value === undefined) return fallback
  if ((allowed as readonly string[]).includes(value)) return value as T
  errors.push({ field, code: 'invalid_value', message: `must be one of ${allowed.join(', ')}` })
  return fallback
}

/** Grants follow from the redirect URIs, plus client_credentials when asked for. */
function grants(input: ClientInput, redirects: string[], method: AuthMethod, errors: FieldError[]) {
  const asked = input.grant_types ?? []
  for (const [i, grant] of asked.entries()) {
    if (!(GRANT_TYPES as readonly string[]).includes(grant)) {
      const message = `must be one of ${GRANT_TYPES.join(', ')}`
      errors.push({ field: `grant_types.${i}`, code: 'invalid_value', message })
    }
  }
  const wantsCode = asked.includes('authorization_code') || asked.includes('refresh_token')
  const machine = asked.includes('client_credentials')
  if (redirects.length === 0 && (wantsCode || !machine)) {
    const message = machine
      ? 'is required for the authorization_code grant'
      : 'is required (a client without one can only use the client_credentials grant)'
    errors.push({ field: 'redirect_uris', code: 'required', message })
  }
  if (machine && method === 'none') {
    const message =
      'client_credentials needs a confidential client: not with token_endpoint_auth_method none'
    errors.push({ field: 'grant_types', code: 'invalid_value', message })
  }
  return GRANT_TYPES.filter((grant) =>
    grant === 'client_credentials' ? machine : redirects.length > 0,
  )
}

/**
 * The client metadata oidc-provider is given for `clientId` (no secret: that is stored apart, as
 * a hash), or a 422 validation_failed naming every field that breaks a rule.
 */
export function clientMetadata(clientId: string, input: ClientInput): ClientMetadata {
  const errors: FieldError[] = []
  const name = input.client_name
  const length = codePoints(name)
  if (length < 1 || name.trim() === '')
    errors.push({ field: 'client_name', code: 'too_short', message: 'must not be empty', limit: 1 })
  else if (length > NAME_MAX) {
    const message = `must be at most ${NAME_MAX} characters long`
    errors.push({ field: 'client_name', code: 'too_long', message, limit: NAME_MAX })
  }
  // The consent screen shows the name: no control characters (line breaks, escapes).
  if (/\p{Cc}/u.test(name)) {
    const message = 'must not contain control characters'
    errors.push({ field: 'client_name', code: 'invalid_characters', message })
  }
  const redirects = uriList('redirect_uris', input.redirect_uris, errors)
  const logouts = uriList('post_logout_redirect_uris', input.post_logout_redirect_uris, errors)
  const method = oneOf(
    'token_endpoint_auth_method',
    input.token_endpoint_auth_method,
    AUTH_METHODS,
    'client_secret_basic',
    errors,
  )
  const alg = oneOf(
    'id_token_signed_response_alg',
    input.id_token_signed_response_alg,
    ID_TOKEN_ALGS,
    'EdDSA',
    errors,
  )
  const scope = checkScope(input.scope, errors)
  const grantTypes = grants(input, redirects, method, errors)
  let jwks: { keys: JWK[] } | undefined
  if (method === 'private_key_jwt') {
    if (input.jwks === undefined || input.jwks === null) {
      const message =
        'is required for private_key_jwt: the public keys its assertions are signed with'
      errors.push({ field: 'jwks', code: 'required', message })
    } else jwks = checkJwks(input.jwks, errors)
  } else if (input.jwks !== undefined && input.jwks !== null) {
    const message = 'is only for clients that authenticate with private_key_jwt'
    errors.push({ field: 'jwks', code: 'invalid_value', message })
  }
  if (errors.length > 0) throw new AppError('validation_failed', { errors })

  const responseTypes: ResponseType[] = grantTypes.includes('authorization_code') ? ['code'] : []
  return {
    client_id: clientId,
    client_name: name,
    redirect_uris: redirects,
    post_logout_redirect_uris: logouts,
    grant_types: grantTypes,
    response_types: responseTypes,
    token_endpoint_auth_method: method as ClientAuthMethod,
    id_token_signed_response_alg: alg,
    scope,
    ...(jwks ? { jwks } : {}),
  }
}
