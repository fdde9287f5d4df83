// Signing keys at rest. Whoever reads the database (a backup, a replica, an injection) could
// otherwise sign tokens for anyone. With SIGNING_KEY_SECRET set, a private key is stored as a
// JWE (dir + A256GCM) under a key derived from the secret, which lives outside the database.
// Several secrets may be given: the first seals, every one of them opens (changing the secret).
// Other secrets kept in the database (TOTP keys) are sealed the same way under their own content
// type, which opening checks: a sealed text opens only as what it was sealed as.
import { createHash, scryptSync } from 'node:crypto'
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose'

export interface Sealer {
  /** True when a secret is configured. */
  readonly enabled: boolean
  /**
   * The stored form of the private JWK (JSON) of key `kid`; or of another secret of that row,
   * with its own `contentType`.
   */
  seal(kid: string, privateJwk: string, contentType?: string): Promise<string>
  /**
   * The private JWK (JSON) of key `kid` from its stored form, sealed or (older rows) plain; or
   * the secret sealed with `contentType` (which must be sealed: only a JWK is told apart as plain).
   */
  open(kid: string, stored: string, contentType?: string): Promise<string>
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

const JWK = 'jwk+json'
/** What errors call a sealed text and its contents. */
const names = (kid: string, contentType: string) =>
  contentType === JWK
    ? { what: `signing key ${kid}`, content: 'the stored private key' }
    : { what: `${contentType} of ${kid}`, content: 'the stored secret' }

export function createSealer(secrets: readonly string[]): Sealer {
  const keks = secrets.map(deriveKek)
  const first = keks[0]
  return {
    enabled: first !== undefined,
    async seal(kid, privateJwk, contentType = JWK) {
      if (!first) return privateJwk
      // The protected header is authenticated: a sealed key cannot be moved to another row.
      return new CompactEncrypt(new TextEncoder().encode(privateJwk))
        .setProtectedHeader({
          alg: 'dir',
          enc: 'A256GCM',
          kid: first.id,
          cty: contentType,
          sk: kid,
        })
        .encrypt(first.key)
    },
    async open(kid, stored, contentType = JWK) {
      if (contentType === JWK && isPlain(stored)) return stored
      const { what, content } = names(kid, contentType)
      let header: ReturnType<typeof decodeProtectedHeader>
      try {
        header = decodeProtectedHeader(stored)
      } catch {
        throw new SealingError(`${what}: ${content} is damaged`)
      }
      const kek = keks.find((k) => k.id === header.kid)
      if (!kek) {
        throw new SealingError(
          `${what} is encrypted with a secret that SIGNING_KEY_SECRET does not hold` +
            (keks.length === 0 ? ' (it is not set)' : ''),
        )
      }
      try {
        const { plaintext, protectedHeader } = await compactDecrypt(stored, kek.key, {
          keyManagementAlgorithms: ['dir'],
          contentEncryptionAlgorithms: ['A256GCM'],
        })
        if (protectedHeader.sk !== kid) throw new Error('sealed for another key')
        if ((protectedHeader.cty ?? JWK) !== contentType) throw new Error('sealed as another type')
        return new TextDecoder().decode(plaintext)
      } catch {
        throw new SealingError(`${what}: ${content} does not open`)
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
