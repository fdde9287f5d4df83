import { createHmac, randomInt, timingSafeEqual } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'
import { type Db, toDate } from '../db/schema.ts'

/** What a code proves: an email address (verify_email) or the right to set a new password. */
export type CodePurpose = 'verify_email' | 'recovery'

/** NIST SP 800-63B §4.2.1.2 (and the issue): a code dies after this many wrong tries. */
export const MAX_WRONG_TRIES = 5

export interface IssuedCode {
  id: string
  /** The code itself, for the mail: it is stored only as a keyed hash. */
  code: string
}

export type CodeCheck =
  | { ok: true; sentTo: string | null }
  | { ok: false; reason: 'none' | 'wrong' | 'expired' | 'spent' }

export interface CodeStoreOptions {
  /** Keys the hashes, so that a copy of the database alone cannot test guesses (may be empty). */
  pepper: string
}

export interface CodeRequest {
  userId: string
  purpose: CodePurpose
  /** As the user typed it: see normaliseCode. */
  code: string
  now: Date
}

/**
 * A code as typed → as issued: NFKC (full-width digits are digits) without the spaces and
 * hyphens people put into long numbers.
 */
export function normaliseCode(typed: string): string {
  return typed.normalize('NFKC').replace(/[\s-]/g, '')
}

/** `digits` random decimal digits, leading zeros kept. */
export function randomDigits(digits: number): string {
  let code = ''
  for (let i = 0; i < digits; i++) code += String(randomInt(10))
  return code
}

/**
 * Short codes mailed to a user: stored only as an HMAC (keyed, and salted by the row's id),
 * single-use, dead after MAX_WRONG_TRIES wrong tries or at expiry. One live code per user and
 * purpose: issuing a new one kills the older.
 */
export function oneTimeCodes({ pepper }: CodeStoreOptions) {
  const hash = (id: string, code: string) =>
    createHmac('sha256', `usersvc one-time code v1:${pepper}`).update(`${id}:${code}`).digest()

  async function revoke(trx: Db, userId: string, purpose: CodePurpose, now: Date): Promise<void> {
    await trx
      .updateTable('one_time_codes')
      .set({ used_at: now.toISOString() })
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .execute()
  }

  async function check(trx: Db, request: CodeRequest, spend: boolean): Promise<CodeCheck> {
    const { userId, purpose, now } = request
    const code = normaliseCode(request.code)
    const row = await trx
      .selectFrom('one_time_codes')
      .selectAll()
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst()
    if (!row) return { ok: false, reason: 'none' }
    if (row.used_at !== null || row.attempts >= MAX_WRONG_TRIES) {
      return { ok: false, reason: 'spent' }
    }
    if (toDate(row.expires_at) <= now) return { ok: false, reason: 'expired' }
    const expected = Buffer.from(row.code_hash, 'base64url')
    const given = hash(row.id, code)
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      await trx
        .updateTable('one_time_codes')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('id', '=', row.id)
        .execute()
      return { ok: false, reason: 'wrong' }
    }
    if (!spend) return { ok: true, sentTo: row.sent_to }
    const spent = await trx
      .updateTable('one_time_codes')
      .set({ used_at: now.toISOString() })
      .where('id', '=', row.id)
      .where('used_at', 'is', null)
      .executeTakeFirst()
    if (spent.numUpdatedRows === 0n) return { ok: false, reason: 'spent' }
    return { ok: true, sentTo: row.sent_to }
  }

  return {
    async issue(
      trx: Db,
      request: {
        userId: string
        purpose: CodePurpose
        digits: number
        ttlSeconds: number
        now: Date
        sentTo?: string
      },
    ): Promise<IssuedCode> {
      const { userId, purpose, now } = request
      // One live code per user and purpose: a new one kills the older.
      await revoke(trx, userId, purpose, now)
      const id = uuidv7()
      const code = randomDigits(request.digits)
      await trx
        .insertInto('one_time_codes')
        .values({
          id,
          user_id: userId,
          purpose,
          code_hash: hash(id, code).toString('base64url'),
          sent_to: request.sentTo ?? null,
          attempts: 0,
          created_at: now.toISOString(),
          expires_at: new Date(now.getTime() + request.ttlSeconds * 1000).toISOString(),
          used_at: null,
        })
        .execute()
      return { id, code }
    },

    /**
     * Is `code` the user's live code of `purpose`? A wrong code counts against it; a right one
     * stays live (spend it later, in the transaction of what it allows). Run it under the user's
     * lock (users/lock.ts), so that concurrent guesses cannot outrun MAX_WRONG_TRIES.
     */
    verify: (trx: Db, request: CodeRequest) => check(trx, request, false),

    /**
     * Spends the user's live code of `purpose` if `code` is it (compare-and-set: of two
     * concurrent tries with the right code, one wins). A wrong code counts against it.
     */
    spend: (trx: Db, request: CodeRequest) => check(trx, request, true),

    /** Kills the user's live code of `purpose`, if any (the address it went to is no longer theirs). */
    revoke,

    /** When the user's codes of `purpose` issued since `since` were issued, oldest first. */
    async issuedTimes(trx: Db, userId: string, purpose: CodePurpose, since: Date): Promise<Date[]> {
      const rows = await trx
        .selectFrom('one_time_codes')
        .select('created_at')
        .where('user_id', '=', userId)
        .where('purpose', '=', purpose)
        .where('created_at', '>', since.toISOString())
        .orderBy('created_at')
        .execute()
      return rows.map((row) => toDate(row.created_at))
    },

    /** Housekeeping: codes expired before `before` are useless (a day after, for the limits). */
    async deleteExpired(db: Db, before: Date): Promise<number> {
      const result = await db
        .deleteFrom('one_time_codes')
        .where('expires_at', '<', before.toISOString())
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}

export type OneTimeCodes = ReturnType<typeof oneTimeCodes>
