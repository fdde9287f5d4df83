import Type from 'typebox'
import type { EnvOf, EnvProblem } from './env.ts'
import { list } from './env.ts'

// Passkeys (WebAuthn Level 3): whose they are (the RP ID, a domain) and the pages that may use
// them (origins). A passkey made for one RP ID works for no other.
export const env = {
  // A domain, no scheme or port: the origins' host or a parent domain of it (WebAuthn L3 §5.1.3).
  WEBAUTHN_RP_ID: Type.String({ default: 'localhost', minLength: 1, maxLength: 253 }),
  // The name authenticators show beside the account.
  WEBAUTHN_RP_NAME: Type.String({ default: 'usersvc', minLength: 1, maxLength: 64 }),
  // Comma-separated origins (https://accounts.example.com); default: PUBLIC_URL's origin and the
  // service's own.
  WEBAUTHN_ORIGINS: Type.Optional(Type.String({ minLength: 1 })),
}

export interface WebauthnConfig {
  rpId: string
  rpName: string
  /** Origins whose pages may register and use passkeys (clientDataJSON.origin). */
  origins: string[]
}

const DOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i

/** `value` as a bare http(s) origin, or a message naming what is wrong with it. */
function originProblem(value: string, rpId: string): string | undefined {
  const url = URL.parse(value)
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    return `${value} is not an http(s) origin (https://accounts.example.com)`
  }
  if (url.origin !== value) return `${value} is not a bare origin (scheme://host[:port], no path)`
  const host = url.hostname.toLowerCase()
  const id = rpId.toLowerCase()
  if (host !== id && !host.endsWith(`.${id}`)) {
    return `${value} is not on WEBAUTHN_RP_ID (${rpId}) or a subdomain of it`
  }
  return undefined
}

export function check(raw: Record<string, string>): EnvProblem[] {
  const rpId = raw.WEBAUTHN_RP_ID ?? 'localhost'
  if (!DOMAIN.test(rpId)) {
    return [
      ['WEBAUTHN_RP_ID', 'must be a domain name (accounts.example.com): no scheme, port or path'],
    ]
  }
  if (raw.WEBAUTHN_ORIGINS === undefined) return []
  const origins = list(raw.WEBAUTHN_ORIGINS)
  if (origins.length === 0) return [['WEBAUTHN_ORIGINS', 'names no origin']]
  const problems = origins.map((origin) => originProblem(origin, rpId)).filter(Boolean)
  return problems.length > 0 ? [['WEBAUTHN_ORIGINS', problems.join('; ')]] : []
}

/** `publicUrl` (PUBLIC_URL or the own URL) and `ownUrl` give the default origins. */
export function read(e: EnvOf<typeof env>, publicUrl: string, ownUrl: string): WebauthnConfig {
  const origins = e.WEBAUTHN_ORIGINS
    ? list(e.WEBAUTHN_ORIGINS)
    : [new URL(publicUrl).origin, new URL(ownUrl).origin]
  return {
    rpId: e.WEBAUTHN_RP_ID.toLowerCase(),
    rpName: e.WEBAUTHN_RP_NAME,
    origins: [...new Set(origins)],
  }
}
