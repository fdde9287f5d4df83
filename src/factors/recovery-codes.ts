import { v7 as uuidv7 } from 'uuid'
import { type Db, toDate } from '../db/schema.ts'
import type { Hasher } from '../passwords/hasher.ts'
import { newRecoveryCode, type RecoveryCode } from './recovery-code-format.ts'

const NO_USER = '00000000-0000-0000-0000-000000000000'

/** Codes in a set. */
export const RECOVERY_CODE_COUNT = 10

/** A new set: the codes to show once, and the rows to store. */
export interface NewCodeSet {
  codes: string[]
  rows: Array<{ selector: string; hash: string }>
}

export interface CodeSetStatus {
  remaining: number
  /** When the set was made; undefined when the user has none. */
  createdAt: Date | undefined
}

/**
 * Saved recovery codes: a look-up secret (NIST SP 800-63B §3.1.2). Each code holds 80 secret bits,
 * fewer than 112, so it is stored as a salted password hash (argon2id through the hasher, with
 * its admission control), never as itself; its selector finds the one row to verify against.
 * A code is spent once, by compare-and-set on `used_at`; a new set replaces the old at once.
 */
export function recoveryCodeStore(hasher: Hasher) {
  return {
    /**
     * Makes and hashes a set, outside any transaction (hashing takes a while). One hash at a
     * time: a set never takes more than one of the threads that logins need.
     */
    async make(): Promise<NewCodeSet> {
      const made = new Map<string, ReturnType<typeof newRecoveryCode>>()
      // Selectors are unique within a set (UNIQUE(user_id, selector)).
      while (made.size < RECOVERY_CODE_COUNT) {
        const code = newRecoveryCode()
        if (!made.has(code.selector)) made.set(code.selector, code)
      }
      const rows: NewCodeSet['rows'] = []
      for (const { selector, canonical } of made.values()) {
        rows.push({ selector, hash: await hasher.hash(canonical) })
      }
      return { codes: [...made.values()].map((code) => code.display), rows }
    },

    /** In the caller's transaction: the old set is gone exactly when the new one is there. */
    async replace(trx: Db, userId: string, set: NewCodeSet, now: Date): Promise<void> {
      await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute()
      await trx
        .insertInto('recovery_codes')
        .values(
          set.rows.map((row) => ({
            id: uuidv7(),
            user_id: userId,
            selector: row.selector,
            code_hash: row.hash,
            created_at: now.toISOString(),
            used_at: null,
          })),
        )
        .execute()
    },

    async status(db: Db, userId: string): Promise<CodeSetStatus> {
      const rows = await db
        .selectFrom('recovery_codes')
        .select(['created_at', 'used_at'])
        .where('user_id', '=', userId)
        .execute()
      const first = rows[0]
      return {
        remaining: rows.filter((row) => row.used_at === null).length,
        createdAt: first && toDate(first.created_at),
      }
    },

    /**
     * The id of the user's unspent code `code`, or undefined. Always exactly one verify, whether
     * the user, the selector or the code is unknown, wrong or spent: the answer takes the same
     * time. `userId` undefined: no such account.
     */
    async verify(
      db: Db,
      userId: string | undefined,
      code: RecoveryCode,
    ): Promise<string | undefined> {
      // The lookup too, for no account: a user id nobody has.
      const row = await db
        .selectFrom('recovery_codes')
        .select(['id', 'code_hash', 'used_at'])
        .where('user_id', '=', userId ?? NO_USER)
        .where('selector', '=', code.selector)
        .executeTakeFirst()
      if (!row) {
        await hasher.verifyDummy(code.canonical)
        return undefined
      }
      const ok = await hasher.verify(row.code_hash, code.canonical)
      return ok && row.used_at === null ? row.id : undefined
    },

    /** Spends the code: of two concurrent spends, one wins. False if spent or replaced meanwhile. */
    async spend(trx: Db, codeId: string, now: Date): Promise<boolean> {
      const result = await trx
        .updateTable('recovery_codes')
        .set({ used_at: now.toISOString() })
        .where('id', '=', codeId)
        .where('used_at', 'is', null)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },
  }
}

export type RecoveryCodeStore = ReturnType<typeof recoveryCodeStore>
