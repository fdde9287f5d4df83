import { type CryptoKey, importJWK, type JWK } from 'jose'
import type { Clock } from '../clock.ts'
import type { Db } from '../db/schema.ts'
import type { RecordEvent } from '../events/catalogue.ts'
import { ALG, ALGS, type Alg, algOf, newKeyRow, type PublicJwk, RS256 } from './algorithms.ts'
import { keyRepository } from './repository.ts'
import { createSealer, type Sealer, SealingError } from './sealing.ts'

export { ALG, type Alg, type PublicJwk, RS256 } from './algorithms.ts'

// A retired key stays published this much longer than the tokens it signed can live.
const CLOCK_SKEW_MS = 60_000
// An unknown kid triggers a reload at most this often (another instance may have rotated).
const MISS_RELOAD_MS = 1_000
// Adding the RS256 key gives up after this many lost races (each one means keys were added).
const CREATE_ATTEMPTS = 5

export interface KeyStoreOptions {
  db: Db
  clock: Clock
  accessTtlSeconds: number
  cacheSeconds: number
  /** Encrypts private keys at rest (SIGNING_KEY_SECRET); plain when it has no secret. */
  sealer?: Sealer
  /** Records signing_key.rotated with a rotation (not with the first key of an algorithm). */
  events?: RecordEvent
}

interface LoadedKey {
  publicJwk: PublicJwk
  publicKey: CryptoKey
}

/** The key that signs with an algorithm, opened. */
interface ActiveKey {
  kid: string
  key: CryptoKey
  /** The private JWK with its kid, alg and use: what the OpenID provider is built with. */
  jwk: JWK
}

interface Snapshot {
  loadedAt: number
  keys: Map<string, LoadedKey>
  active: Map<Alg, ActiveKey>
  /** Why an algorithm has no active key: its private half does not open with SIGNING_KEY_SECRET. */
  problems: Map<Alg, SealingError>
}

/** A key a rotation added. */
export interface NewKey {
  kid: string
  alg: Alg
  generation: number
}

export interface KeyStore {
  /** Makes sure a signing key exists (exactly one first key, however many instances start). */
  init(): Promise<void>
  /** The EdDSA key that signs access tokens. */
  signingKey(): Promise<{ kid: string; key: CryptoKey }>
  /** Whether the keys last loaded include a signing key this instance can open (no I/O). */
  canSign(): boolean
  /**
   * The private JWKs (kid, alg, use: 'sig') of the active key of each algorithm, EdDSA first,
   * for the OpenID provider. The first call adds the RS256 key when there is none (exactly one,
   * however many instances ask at once).
   */
  providerKeys(): Promise<JWK[]>
  /**
   * The kids of the active keys last loaded, as one string (`EdDSA:kid RS256:kid`). It changes
   * when a rotation has been read: whoever built something from providerKeys() rebuilds when it
   * differs from what it was then. No I/O: the keys are re-read by the other methods, once they
   * are older than KEY_CACHE_SECONDS.
   */
  activeKids(): string
  verificationKey(kid: string): Promise<CryptoKey | undefined>
  jwks(): Promise<{ keys: PublicJwk[] }>
  /**
   * Adds a key of each algorithm in use (EdDSA always; RS256 once it has a key) that signs from
   * now on; the old ones stay in the JWKS until their tokens expire.
   */
  rotateAll(): Promise<NewKey[]>
  /** rotateAll(), answering the new kid that signs access tokens. */
  rotate(): Promise<string>
}

export function createKeyStore({
  db,
  clock,
  accessTtlSeconds,
  cacheSeconds,
  sealer = createSealer([]),
  events,
}: KeyStoreOptions): KeyStore {
  const repository = keyRepository(db, events)
  let snapshot: Snapshot | undefined
  let loading: Promise<Snapshot> | undefined
  let addingRsa: Promise<Snapshot> | undefined
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
    const rows = await repository.live(cutoff)
    const keys = new Map<string, LoadedKey>()
    for (const row of rows) {
      const publicJwk = JSON.parse(row.public_jwk) as PublicJwk
      const publicKey = (await importJWK(publicJwk as JWK, algOf(row))) as CryptoKey
      keys.set(row.kid, { publicJwk, publicKey })
    }
    const fresh: Snapshot = {
      loadedAt: now.getTime(),
      keys,
      active: new Map(),
      problems: new Map(),
    }
    for (const alg of ALGS) {
      const row = rows.find((r) => r.alg === alg && r.private_jwk && r.retired_at === null)
      if (!row?.private_jwk) continue
      try {
        fresh.active.set(alg, await open(alg, row.kid, row.private_jwk))
      } catch (error) {
        // Verification and the JWKS need only the public halves: they go on working.
        if (!(error instanceof SealingError)) throw error
        fresh.problems.set(alg, error)
      }
    }
    return fresh
  }

  async function open(alg: Alg, kid: string, stored: string): Promise<ActiveKey> {
    // A key already opened is kept: another instance may re-seal it under a secret this one
    // does not hold yet (a secret being introduced or changed), and it must go on signing.
    const opened = snapshot?.active.get(alg)
    if (opened?.kid === kid) return opened
    const jwk = { ...(JSON.parse(await sealer.open(kid, stored)) as JWK), kid, alg, use: 'sig' }
    return { kid, key: (await importJWK(jwk, alg)) as CryptoKey, jwk }
  }

  function activeOf(loaded: Snapshot, alg: Alg): ActiveKey {
    const active = loaded.active.get(alg)
    if (active) return active
    throw (
      loaded.problems.get(alg) ??
      new Error(`no active ${alg} signing key: run migrations and start the service`)
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

  /** A load that starts after our own change: one under way may have read before it. */
  async function reloadAfterChange(): Promise<Snapshot> {
    await loading?.then(
      () => {},
      () => {}, // its own caller has the error; this one only waits for it to end
    )
    return reload()
  }

  async function current(): Promise<Snapshot> {
    if (snapshot && age(snapshot) <= cacheSeconds * 1000) return snapshot
    return reload()
  }

  const newRow = (alg: Alg, generation: number) => newKeyRow(alg, generation, clock.now(), sealer)

  async function addFirstKey(): Promise<void> {
    if ((await repository.state()).latest > 0) return
    // Losing the race is fine: the winner's key is the first key.
    await repository.insert([await newRow(ALG, 1)], false)
  }

  /**
   * Adds the RS256 key on first need, not at start: an RSA key takes a while to make, and most
   * databases (every test's) never serve OpenID. Callers in this process share one attempt.
   */
  function withRsaKey(): Promise<Snapshot> {
    addingRsa ??= addRsaKey().finally(() => {
      addingRsa = undefined
    })
    return addingRsa
  }

  async function addRsaKey(): Promise<Snapshot> {
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      const { latest, algs } = await repository.state()
      if (algs.includes(RS256)) return reloadAfterChange()
      // Losing the race is fine too: the next round reads the winner's key.
      const row = await newRow(RS256, latest + 1)
      if (await repository.insert([row], false)) return reloadAfterChange()
    }
    throw new Error('could not add the RS256 signing key: other keys kept being added; try again')
  }

  /**
   * Stores every private key sealed under the first secret: keys from before SIGNING_KEY_SECRET
   * was set, or sealed under a secret being replaced.
   */
  async function reseal(): Promise<void> {
    for (const { kid, stored } of await repository.privateKeys()) {
      if (sealer.isCurrent(stored)) continue
      await repository.replacePrivate(
        kid,
        stored,
        await sealer.seal(kid, await sealer.open(kid, stored)),
      )
    }
  }

  const store: KeyStore = {
    async init() {
      await addFirstKey()
      if (sealer.enabled) await reseal()
      // An instance that cannot sign, with either algorithm's key, does not start.
      const loaded = await reload()
      activeOf(loaded, ALG)
      for (const problem of loaded.problems.values()) throw problem
    },
    async signingKey() {
      const { kid, key } = activeOf(await current(), ALG)
      return { kid, key }
    },
    canSign() {
      return snapshot?.active.has(ALG) === true
    },
    async providerKeys() {
      let loaded = await current()
      if (!loaded.active.has(RS256) && !loaded.problems.has(RS256)) loaded = await withRsaKey()
      // Copies: the provider may keep or change what it is given.
      return ALGS.map((alg) => structuredClone(activeOf(loaded, alg).jwk))
    },
    activeKids() {
      const active = snapshot?.active ?? new Map<Alg, ActiveKey>()
      return [...active].map(([alg, { kid }]) => `${alg}:${kid}`).join(' ')
    },
    async verificationKey(kid) {
      const found = (await current()).keys.get(kid)
      if (found || !snapshot || age(snapshot) < MISS_RELOAD_MS) return found?.publicKey
      return (await reload()).keys.get(kid)?.publicKey
    },
    async jwks() {
      return { keys: [...(await current()).keys.values()].map((k) => k.publicJwk) }
    },
    async rotateAll() {
      // A fresh database gets its first key before the rotation adds the next.
      await addFirstKey()
      const { latest, algs } = await repository.state()
      const rotating = ALGS.filter((alg) => alg === ALG || algs.includes(alg))
      const rows = await Promise.all(rotating.map((alg, i) => newRow(alg, latest + 1 + i)))
      if (!(await repository.insert(rows, true))) {
        throw new Error('another rotation happened at the same moment; try again')
      }
      await reloadAfterChange()
      return rows.map(({ kid, alg, generation }) => ({ kid, alg, generation }))
    },
    async rotate() {
      const added = await store.rotateAll()
      return (added.find((key) => key.alg === ALG) as NewKey).kid
    },
  }
  return store
}
