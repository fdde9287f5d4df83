// Signing keys at rest. Whoever reads the database (a backup, a replica, an injection) could
// otherwise sign tokens for anyone. With SIGNING_KEY_SECRET set, a private key is stored as a
// JWE (dir + A256GCM) under a key derived from the secret, which lives outside the database.
// Several secrets may be given: the first seals, every one of them opens (changing the secret).
import { createHash, scryptSync } from 'node:crypto'
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose'

export interface Sealer {
  /** True when a secret is configured. */
  readonly enabled: boolean
  /** The stored form of the private JWK (JSON) of key `kid`. */
  seal(kid: string, privateJwk: string): Promise<string>
  /** The private JWK (JSON) of key `kid` from its stored form, sealed or (older rows) plain. */
  open(kid: string, stored: string): Promise<string>
  /** False when `stored` is plain, or sealed under another secret than the first. */
  isCurrent(stored: string): boolean
}

export class SealingError extends Error {
  override name = 'SealingError'
}

interface Kek {
  id: string
  key: Uint8Array
}

// scrypt, not a fast KDF: a copy of the database lets anyone test guesses of the secret against
// the GCM tag, and a secret may be a passphrase. ~0.1 s and 32 MiB, once per secret and sealer
// (one per app).
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }

function deriveKek(secret: string): Kek {
  const key = new Uint8Array(scryptSync(secret, 'usersvc signing key encryption v1', 32, SCRYPT))
  // Names the secret in the JWE header without revealing anything usable about it.
  const id = createHash('sha256').update(key).digest('base64url').slice(0, 16)
  return { id, key }
}

const isPlain = (stored: string) => stored.trimStart().startsWith('{')

export function createSealer(secrets: readonly string[]): Sealer {
  const keks = secrets.map(deriveKek)
  const first = keks[0]
  return {
    enabled: first !== undefined,
    async seal(kid, privateJwk) {
      if (!first) return privateJwk
      // The protected header is authenticated: a sealed key cannot be moved to another row.
      return new CompactEncrypt(new TextEncoder().encode(privateJwk))
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: first.id, cty: 'jwk+json', sk: kid })
        .encrypt(first.key)
    },
    async open(kid, stored) {
      if (isPlain(stored)) return stored
      let header: ReturnType<typeof decodeProtectedHeader>
      try {
        header = decodeProtectedHeader(stored)
      } catch {
        throw new SealingError(`signing key ${kid}: the stored private key is damaged`)
      }
      const kek = keks.find((k) => k.id === header.kid)
      if (!kek) {
        throw new SealingError(
          `signing key ${kid} is encrypted with a secret that SIGNING_KEY_SECRET does not hold` +
            (keks.length === 0 ? ' (it is not set)' : ''),
        )
      }
      try {
        const { plaintext, protectedHeader } = await compactDecrypt(stored, kek.key, {
          keyManagementAlgorithms: ['dir'],
          contentEncryptionAlgorithms: ['A256GCM'],
        })
        if (protectedHeader.sk !== kid) throw new Error('sealed for another key')
        return new TextDecoder().decode(plaintext)
      } catch {
        throw new SealingError(`signing key ${kid}: the stored private key does not open`)
      }
    },
    isCurrent(stored) {
      if (!first) return isPlain(stored)
      if (isPlain(stored)) return false
      try {
        return decodeProtectedHeader(stored).kid === first.id
      } catch {
        return false
      }
    },
  }
}
