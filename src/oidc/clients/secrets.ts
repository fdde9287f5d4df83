import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

// A client's identifier and secret. The secret is 256 random bits: far beyond the 2^-128 guessing
// bound of RFC 6749 §10.10 for credentials not handled by people, so a fast hash is the right one
// (a slow, salted password hash only helps against guessing low-entropy inputs). RFC 6749 §2.3.1
// leaves how the server keeps the client password to it; RFC 9700 §2.5 prefers keys over shared
// secrets, which is private_key_jwt here. A copy of the database gives no working secret.

/** 16 random bytes, base64url: 22 URL-safe characters. */
export function newClientId(): string {
  return randomBytes(16).toString('base64url')
}

/** 32 random bytes, base64url: shown to the admin once, stored only as hashSecret(secret). */
export function newClientSecret(): string {
  return randomBytes(32).toString('base64url')
}

/** SHA-256 of the secret's UTF-8 bytes, base64url: what oauth_clients.secret_hash holds. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url')
}

/**
 * Whether `presented` is the secret whose hash is `secretHash`. Compares the two digests in
 * constant time (both are 32 bytes whatever was presented), so timing tells nothing.
 */
export function secretMatches(secretHash: string, presented: string): boolean {
  const stored = Buffer.from(secretHash, 'base64url')
  const given = createHash('sha256').update(presented, 'utf8').digest()
  return stored.length === given.length && timingSafeEqual(stored, given)
}
