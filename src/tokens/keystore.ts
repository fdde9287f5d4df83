import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from 'jose'
import type { Clock } from '../clock.ts'
import { isUniqueViolation } from '../db/errors.ts'
import type { Db } from '../db/schema.ts'
import type { RecordEvent } from '../events/catalogue.ts'
import { createSealer, type Sealer, SealingError } from './sealing.ts'

export const ALG = 'EdDSA'
// A retired key stays published this much longer than the tokens it signed can live.
const CLOCK_SKEW_MS = 60_000
// An unknown kid triggers a reload at most this often (another instance may have rotated).
const MISS_RELOAD_MS = 1_000

export interface KeyStoreOptions {
  db: Db
  clock: Clock
  accessTtlSeconds: number
  cacheSeconds: number
  /** Encrypts private keys at rest (SIGNING_KEY_SECRET); plain when it has no secret. */
  sealer?: Sealer
  /** Records signing_key.rotated with a rotation (not with the first key of a database). */
  events?: RecordEvent
}

/** What the JWKS publishes of a key: the public half only. */
export interface PublicJwk {
  kty: string
  crv: string
  x: string
  kid: string
  alg: string
  use: string
}

interface LoadedKey {
  publicJwk: PublicJwk
  publicKey: CryptoKey
}

interface Snapshot {
  loadedAt: number
  keys: Map<string, LoadedKey>
  signing: { kid: string; key: CryptoKey } | undefined
  /** Why there is no signing key: its private half does not open with SIGNING_KEY_SECRET. */
  signingProblem?: SealingError
}

export interface KeyStore {
  /** Makes sure a signing key exists (exactly one first key, however many instances start). */
  init(): Promise<void>
  signingKey(): Promise<{ kid: string; key: CryptoKey }>
  /** Whether the keys last loaded include a signing key this instance can open (no I/O). */
  canSign(): boolean
  verificationKey(kid: string): Promise<CryptoKey | undefined>
  jwks(): Promise<{ keys: PublicJwk[] }>
  /** Adds a key that signs from now on; the old one stays in the JWKS until its tokens expire. */
  rotate(): Promise<string>
}

async function newKeyRow(generation: number, now: Date, sealer: Sealer) {
  const { publicKey, privateKey } = await generateKeyPair(ALG, {
    crv: 'Ed25519',
    extractable: true,
  })
  const publicJwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(publicJwk)
  const publicRecord = { ...publicJwk, kid, alg: ALG, use: 'sig' }
  return {
    kid,
    generation,
    public_jwk: JSON.stringify(publicRecord),
    private_jwk: await sealer.seal(kid, JSON.stringify(await exportJWK(privateKey))),
    created_at: now.toISOString(),
    retired_at: null,
  }
}

export function createKeyStore({
  db,
  clock,
  accessTtlSeconds,
  cacheSeconds,
  sealer = createSealer([]),
  events,
}: KeyStoreOptions): KeyStore {
  let snapshot: Snapshot | undefined
  let loading: Promise<Snapshot> | undefined
  // How long ago it was loaded; a clock set back counts as long ago, so keys are read again.
  const age = (loaded: Snapshot) => {
    const ms = clock.now().getTime() - loaded.loadedAt
    return ms >= 0 ? ms : Number.POSITIVE_INFINITY
  }

  async function load(): Promise<Snapshot> {
    const now = clock.now()
    // A retired key signed tokens until it retired, and instances with an older cache for up to
    // cacheSeconds more: it stays published until all of those have expired.
    const cutoff = new Date(
      now.getTime() - (accessTtlSeconds + cacheSeconds) * 1000 - CLOCK_SKEW_MS,
    )
    const rows = await db
      .selectFrom('signing_keys')
      .selectAll()
      .where((eb) =>
        eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', cutoff.toISOString())]),
      )
      .orderBy('generation', 'desc')
      .execute()
    const keys = new Map<string, LoadedKey>()
    for (const row of rows) {
      const publicJwk = JSON.parse(row.public_jwk) as PublicJwk
      const publicKey = (await importJWK(publicJwk as JWK, ALG)) as CryptoKey
      keys.set(row.kid, { publicJwk, publicKey })
    }
    const fresh: Snapshot = { loadedAt: now.getTime(), keys, signing: undefined }
    const row = rows.find((r) => r.private_jwk && r.retired_at === null)
    if (!row?.private_jwk) return fresh
    // A key already opened is kept: another instance may re-seal it under a secret this one
    // does not hold yet (a secret being introduced or changed), and it must go on signing.
    if (snapshot?.signing?.kid === row.kid) return { ...fresh, signing: snapshot.signing }
    try {
      const privateJwk = JSON.parse(await sealer.open(row.kid, row.private_jwk)) as JWK
      const key = (await importJWK(privateJwk, ALG)) as CryptoKey
      return { ...fresh, signing: { kid: row.kid, key } }
    } catch (error) {
      // Verification and the JWKS need only the public halves: they go on working.
      if (error instanceof SealingError) return { ...fresh, signingProblem: error }
      throw error
    }
  }

  function signingOf(loaded: Snapshot): { kid: string; key: CryptoKey } {
    if (loaded.signing) return loaded.signing
    throw (
      loaded.signingProblem ??
      new Error('no active signing key: run migrations and start the service')
    )
  }

  function reload(): Promise<Snapshot> {
    loading ??= load().then(
      (fresh) => {
        snapshot = fresh
        loading = undefined
        return fresh
      },
      (error: unknown) => {
        loading = undefined
        throw error
      },
    )
    return loading
  }

  async function current(): Promise<Snapshot> {
    if (snapshot && age(snapshot) <= cacheSeconds * 1000) return snapshot
    return reload()
  }

  async function insertKey(generation: number): Promise<string | undefined> {
    const row = await newKeyRow(generation, clock.now(), sealer)
    try {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('signing_keys').values(row).execute()
        // The retired private key is never needed again: forget it.
        const retired = await trx
          .updateTable('signing_keys')
          .set({ retired_at: row.created_at, private_jwk: null })
          .where('generation', '<', generation)
          .where('retired_at', 'is', null)
          .returning('kid')
          .execute()
        if (events && generation > 1) {
          const data = { kid: row.kid, generation, retired: retired.map((key) => key.kid) }
          await events(trx, { type: 'signing_key.rotated', data })
        }
      })
      return row.kid
    } catch (error) {
      if (isUniqueViolation(error)) return undefined // another instance won the race
      throw error
    }
  }

  async function latestGeneration(): Promise<number> {
    const row = await db
      .selectFrom('signing_keys')
      .select('generation')
      .orderBy('generation', 'desc')
      .limit(1)
      .executeTakeFirst()
    return row?.generation ?? 0
  }

  /**
   * Stores every private key sealed under the first secret: keys from before SIGNING_KEY_SECRET
   * was set, or sealed under a secret being replaced. Compare-and-set, so instances starting
   * together do not undo each other.
   */
  async function reseal(): Promise<void> {
    const rows = await db
      .selectFrom('signing_keys')
      .select(['kid', 'private_jwk'])
      .where('private_jwk', 'is not', null)
      .execute()
    for (const { kid, private_jwk: stored } of rows) {
      if (stored === null || sealer.isCurrent(stored)) continue
      const sealed = await sealer.seal(kid, await sealer.open(kid, stored))
      await db
        .updateTable('signing_keys')
        .set({ private_jwk: sealed })
        .where('kid', '=', kid)
        .where('private_jwk', '=', stored)
        .execute()
    }
  }

  return {
    async init() {
      if ((await latestGeneration()) === 0) await insertKey(1)
      if (sealer.enabled) await reseal()
      // An instance that cannot sign does not start.
      signingOf(await reload())
    },
    async signingKey() {
      return signingOf(await current())
    },
    canSign() {
      return snapshot?.signing !== undefined
    },
    async verificationKey(kid) {
      const found = (await current()).keys.get(kid)
      if (found || !snapshot || age(snapshot) < MISS_RELOAD_MS) return found?.publicKey
      return (await reload()).keys.get(kid)?.publicKey
    },
    async jwks() {
      return { keys: [...(await current()).keys.values()].map((k) => k.publicJwk) }
    },
    async rotate() {
      // A fresh database gets its first key before the rotation adds the next.
      if ((await latestGeneration()) === 0) await insertKey(1)
      const kid = await insertKey((await latestGeneration()) + 1)
      if (!kid) throw new Error('another rotation happened at the same moment; try again')
      await reload()
      return kid
    },
  }
}
