import { randomBytes } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'
import type { Clock } from '../clock.ts'
import { isUniqueViolation } from '../db/errors.ts'
import type { Db } from '../db/schema.ts'
import type { RecordEvents } from '../events/catalogue.ts'
import type { ImportHashOptions } from '../passwords/foreign/types.ts'
import type { Hasher } from '../passwords/hasher.ts'
import { normalisePassword, type PasswordPolicy } from '../passwords/policy.ts'
import { type CheckedRecord, checkRecord, type Refusal } from './records.ts'
import { type ImportedRow, transferRepository } from './repository.ts'
import { type Fingerprint, fingerprint, SeenKeys } from './seen.ts'

/** One record and where it came from: a file's line number, or a request's array index. */
export interface ImportItem {
  index: number
  raw: unknown
}

export interface Skipped {
  index: number
  login: string
  reason: 'login_exists' | 'email_exists' | 'id_exists'
}

export interface Refused extends Refusal {
  index: number
}

export interface ImportReport {
  imported: number
  /** Of those imported, how many came with a weak hash (allowed by allowWeak). */
  weak?: number
  skipped: Skipped[]
  refused: Refused[]
}

export interface ImportRun extends ImportHashOptions {
  /** Check everything and look for what exists, but write nothing. */
  dryRun?: boolean
}

export interface ImporterOptions {
  db: Db
  clock: Clock
  hasher: Hasher
  policy: PasswordPolicy
  events: RecordEvents
}

const weakOf = (records: CheckedRecord[]) =>
  records.filter((r) => 'weak' in r.secret && r.secret.weak).length

/** Races with a registration of the same login are settled by re-reading, this many times. */
const ATTEMPTS = 3
const HASHES_AT_ONCE = 4

/**
 * Imports users batch by batch, one transaction each: a record is written whole (its row and its
 * `user.registered` event) or not at all. One importer is one run: it remembers the keys it has
 * met, so a duplicate inside the input is refused, and a key that exists already is skipped (a
 * re-run imports nothing twice).
 */
export function createImporter(options: ImporterOptions, run: ImportRun = {}) {
  const { db, clock, hasher, policy, events } = options
  const seen = new SeenKeys()

  /** Refused: the record itself is wrong, or repeats a key met earlier in this run. */
  const check = (item: ImportItem): CheckedRecord | Refused => {
    const checked = checkRecord(item.raw, { ...run, policy })
    if (!checked.ok) {
      const { ok: _, ...refusal } = checked
      return { index: item.index, ...refusal }
    }
    const { record } = checked
    const keys: [Fingerprint, string][] = [[fingerprint(`l:${record.loginKey}`), 'duplicate_login']]
    if (record.email) keys.push([fingerprint(`e:${record.email.key}`), 'duplicate_email'])
    if (record.id) keys.push([fingerprint(`i:${record.id}`), 'duplicate_id'])
    const repeated = keys.find(([key]) => seen.has(key))
    if (repeated)
      return { index: item.index, reason: repeated[1], detail: 'met earlier in this input' }
    for (const [key] of keys) seen.add(key)
    return record
  }

  /** Skipped: what exists in the store already (whichever key is taken first names it). */
  const partition = async (trx: Db, records: (CheckedRecord & { index: number })[]) => {
    const taken = await transferRepository(trx).taken(
      records.map((r) => r.loginKey),
      records.flatMap((r) => (r.email ? [r.email.key] : [])),
      records.flatMap((r) => (r.id ? [r.id] : [])),
    )
    const fresh: typeof records = []
    const skipped: Skipped[] = []
    for (const r of records) {
      const reason = taken.loginKeys.has(r.loginKey)
        ? 'login_exists'
        : r.email && taken.emailKeys.has(r.email.key)
          ? 'email_exists'
          : r.id && taken.ids.has(r.id)
            ? 'id_exists'
            : undefined
      if (reason) skipped.push({ index: r.index, login: r.login, reason })
      else fresh.push(r)
    }
    return { fresh, skipped }
  }

  /** `random`: the id's 16 random bytes (drawn for a whole batch at once, see batch). */
  const toRow = async (r: CheckedRecord, now: Date, random: Uint8Array): Promise<ImportedRow> => {
    const registeredAt = r.registeredAt ?? now
    const stored =
      'password' in r.secret
        ? { hash: await hasher.hash(normalisePassword(r.secret.password)), scheme: null }
        : { hash: r.secret.hash, scheme: r.secret.scheme === 'argon2id' ? null : r.secret.scheme }
    return {
      // Time-ordered by registration, so listing in id order stays registration order.
      id: r.id ?? uuidv7({ msecs: Math.max(0, registeredAt.getTime()), random }),
      login: r.login,
      loginKey: r.loginKey,
      passwordHash: stored.hash,
      passwordScheme: stored.scheme,
      role: r.role,
      registeredAt,
      now,
      ...(r.email ? { email: r.email } : {}),
      emailVerified: r.emailVerified,
    }
  }

  return {
    /** Checks, and (unless a dry run) writes, one batch. Indexes are reported as given. */
    async batch(items: ImportItem[]): Promise<ImportReport> {
      const refused: Refused[] = []
      const records: (CheckedRecord & { index: number })[] = []
      for (const item of items) {
        const checked = check(item)
        if ('reason' in checked) refused.push(checked)
        else records.push({ ...checked, index: item.index })
      }
      // A first look outside the transaction spares the argon2id hashes of plaintext passwords
      // whose users exist (a re-run); the transaction looks again. Without plaintext there is
      // nothing to spare, and the transaction's look is the only one.
      const plaintext = records.some((r) => 'password' in r.secret)
      const first =
        run.dryRun || plaintext ? await partition(db, records) : { fresh: records, skipped: [] }
      if (run.dryRun || first.fresh.length === 0) {
        const would = run.dryRun ? first.fresh : []
        return { imported: would.length, weak: weakOf(would), skipped: first.skipped, refused }
      }
      const now = clock.now()
      const rows = new Map<number, ImportedRow>()
      // A few plaintext passwords at a time: hashes wait for a thread under the usual admission
      // rules, and a whole batch queued at once would only be refused.
      // uuid draws 16 random bytes per id through crypto.getRandomValues, a call each (a sixth of
      // a 1,000,000-record import's CPU with the events' ids): here one draw serves the batch.
      const random = randomBytes(16 * first.fresh.length)
      const queue = first.fresh.map((r, i) => ({ r, random: random.subarray(16 * i, 16 * i + 16) }))
      const worker = async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          rows.set(next.r.index, await toRow(next.r, now, next.random))
        }
      }
      await Promise.all(Array.from({ length: HASHES_AT_ONCE }, worker))
      for (let attempt = 1; ; attempt++) {
        try {
          return await db.transaction().execute(async (trx) => {
            const { fresh, skipped } = await partition(trx, first.fresh)
            const batch = fresh.map((r) => rows.get(r.index) as ImportedRow)
            await transferRepository(trx).insertMany(batch)
            await events(
              trx,
              batch.map((row) => ({
                type: 'user.registered',
                userId: row.id,
                at: now,
                data: { login: row.login, email: row.email?.address ?? null, imported: true },
              })),
            )
            return {
              imported: batch.length,
              weak: weakOf(fresh),
              skipped: [...first.skipped, ...skipped],
              refused,
            }
          })
        } catch (error) {
          // Someone registered one of these logins between the look and the insert: look again.
          if (!isUniqueViolation(error) || attempt === ATTEMPTS) throw error
        }
      }
    },
  }
}

export type Importer = ReturnType<typeof createImporter>
