import Type from 'typebox'
import type { EnvOf, EnvProblem } from './env.ts'
import { list } from './env.ts'

const MIN_SECRET_LENGTH = 32

export const env = {
  ACCESS_TOKEN_TTL_SECONDS: Type.Integer({ default: 900, minimum: 30, maximum: 86400 }),
  REFRESH_TOKEN_TTL_SECONDS: Type.Integer({ default: 2592000, minimum: 60, maximum: 31536000 }),
  TOKEN_ISSUER: Type.String({ default: 'usersvc', minLength: 1 }),
  TOKEN_AUDIENCE: Type.String({ default: 'usersvc', minLength: 1 }),
  KEY_CACHE_SECONDS: Type.Integer({ default: 30, minimum: 0, maximum: 3600 }),
  // Encrypts signing keys at rest; comma-separated to change it (the first seals, all open).
  SIGNING_KEY_SECRET: Type.String({ default: '' }),
}

export interface TokensConfig {
  issuer: string
  audience: string
  accessTtlSeconds: number
  refreshTtlSeconds: number
  keyCacheSeconds: number
  /** SIGNING_KEY_SECRET: empty when private keys are stored unencrypted. */
  signingKeySecrets: string[]
}

export function check(raw: Record<string, string>): EnvProblem[] {
  if (list(raw.SIGNING_KEY_SECRET ?? '').every((secret) => secret.length >= MIN_SECRET_LENGTH))
    return []
  const rule = `each secret must be at least ${MIN_SECRET_LENGTH} characters (openssl rand -base64 32)`
  return [['SIGNING_KEY_SECRET', rule]]
}

export function read(e: EnvOf<typeof env>): TokensConfig {
  return {
    issuer: e.TOKEN_ISSUER,
    audience: e.TOKEN_AUDIENCE,
    accessTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
    refreshTtlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
    keyCacheSeconds: e.KEY_CACHE_SECONDS,
    signingKeySecrets: list(e.SIGNING_KEY_SECRET),
  }
}
