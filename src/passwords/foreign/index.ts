// Password hashes made by other systems: recognised at import, kept as they came, verified at the
// next login by their own algorithm (the caller then replaces them with argon2id).
import {
  type CanonicalDigest,
  canonicalDigest,
  DIGEST_PREFIX,
  digestOutcome,
  digestScheme,
  readStoredDigest,
  storedDigest,
} from './digest.ts'
import { identifyDjango, parseDjango } from './django.ts'
import { parseArgon2, parseBcrypt } from './modern.ts'
import { isRefusal, malformed, type Outcome, refuse } from './outcome.ts'
import { identifyPasslib, parsePasslib } from './passlib.ts'
import {
  DIGEST_ALGORITHMS,
  type ImportHashOptions,
  type ParsedHash,
  type StructuredDigest,
} from './types.ts'
import { identifyWerkzeug, parseWerkzeug } from './werkzeug.ts'

export type * from './types.ts'

const MAX_STORED = 4096

interface Format {
  identify(stored: string): string | undefined
  parse(stored: string, scheme: string): Outcome
}

// Identified by prefix. The order matters once: Werkzeug's bare `scrypt$salt$hash` is tried
// before Django, whose `scrypt$N$salt$r$p$hash` shares the prefix.
const FORMATS: Format[] = [
  {
    identify: (s) => /^\$(argon2id|argon2i|argon2d)\$/.exec(s)?.[1],
    parse: (s) => parseArgon2(s),
  },
  { identify: (s) => (/^\$2[aby]\$/.test(s) ? 'bcrypt' : undefined), parse: (s) => parseBcrypt(s) },
  { identify: identifyPasslib, parse: parsePasslib },
  { identify: identifyWerkzeug, parse: parseWerkzeug },
  { identify: identifyDjango, parse: parseDjango },
  {
    identify: (s) => {
      if (!s.startsWith(DIGEST_PREFIX)) return undefined
      const algorithm = readStoredDigest(s)?.algorithm
      return (DIGEST_ALGORITHMS as readonly unknown[]).includes(algorithm)
        ? digestScheme(algorithm as string)
        : 'digest'
    },
    parse: (s) => {
      const json = readStoredDigest(s)
      if (!json) return malformed('digest: stored form unreadable')
      const digest = canonicalDigest(json, undefined)
      return isRefusal(digest) ? digest : digestOutcome(digest)
    },
  },
]

// Django's set_unusable_password() (contrib/auth/hashers.py, UNUSABLE_PASSWORD_PREFIX).
const UNUSABLE = '!'

function outcomeOf(stored: string): Outcome {
  if (stored.length > MAX_STORED) return malformed('too long')
  if (stored.startsWith(UNUSABLE)) {
    return refuse(
      'unusable_password',
      'the account has no password (Django "!…"); it can recover by email',
    )
  }
  for (const format of FORMATS) {
    const scheme = format.identify(stored)
    if (scheme !== undefined) return format.parse(stored, scheme)
  }
  return refuse('unknown_hash')
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x)

/** Checks an imported hash (an encoded string or a StructuredDigest) and gives the string to store. */
export function parseImportedHash(input: unknown, options: ImportHashOptions): ParsedHash {
  let stored: string
  let outcome: Outcome
  if (typeof input === 'string') {
    stored = input
    outcome = outcomeOf(input)
  } else if (isObject(input)) {
    const digest = canonicalDigest(input, options?.firebase)
    if (isRefusal(digest)) return digest
    stored = storedDigest(digest)
    outcome = digestOutcome(digest)
  } else return refuse('unknown_hash', 'neither text nor a digest object')
  if (isRefusal(outcome)) return outcome
  if (outcome.weak && !options?.allowWeak) return refuse('weak_hash', outcome.scheme)
  return { ok: true, stored, scheme: outcome.scheme, weak: outcome.weak }
}

export function schemeOf(stored: string): string {
  if (stored.length > MAX_STORED) return 'unknown'
  for (const format of FORMATS) {
    const scheme = format.identify(stored)
    if (scheme !== undefined) return scheme
  }
  return 'unknown'
}

/** Our own hashes are argon2id PHC strings; any other parameters are still ours (needsRehash). */
export function isForeign(stored: string): boolean {
  return !stored.startsWith('$argon2id$')
}

/** The password exactly as typed: the foreign system hashed it without our NFKC. */
export async function verifyForeign(stored: string, password: string): Promise<boolean> {
  if (typeof stored !== 'string' || typeof password !== 'string') return false
  const outcome = outcomeOf(stored)
  if (isRefusal(outcome)) return false
  try {
    return await outcome.verify(password)
  } catch {
    return false
  }
}

/** What `usersvc export` writes: the encoded string, or the digest object it was imported as. */
export function exportedHash(stored: string): string | StructuredDigest {
  const json = stored.startsWith(DIGEST_PREFIX) ? readStoredDigest(stored) : undefined
  // Firebase's object needs the project parameters again; its stored string carries them.
  if (!json || json.algorithm === 'firebase-scrypt') return stored
  const { firebase: _, ...digest } = json as unknown as CanonicalDigest
  return digest
}
