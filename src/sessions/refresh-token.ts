import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'

// A refresh token is `<id>.<secret>`: the id (a selector) finds the row, the 256-bit secret is
// stored only as its SHA-256 and compared in constant time, so neither a database dump nor a
// timing side channel yields a usable token.
const SHAPE =
  /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/

export interface RefreshSecret {
  id: string
  secret: string
  token: string
  hash: string
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url')
}

export function newRefreshSecret(): RefreshSecret {
  const id = uuidv7()
  const secret = randomBytes(32).toString('base64url')
  return { id, secret, token: `${id}.${secret}`, hash: hashSecret(secret) }
}

export function parseRefreshToken(token: string): { id: string; secret: string } | undefined {
  const match = SHAPE.exec(token)
  return match ? { id: match[1] as string, secret: match[2] as string } : undefined
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret))
  const b = Buffer.from(storedHash)
  return a.length === b.length && timingSafeEqual(a, b)
}
