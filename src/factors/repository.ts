import type { Selectable } from 'kysely'
import { type Db, type FactorsTable, toDate } from '../db/schema.ts'
import type { Factor, PasskeyFactor, TotpFactor } from './types.ts'

const dateOrNull = (value: Date | string | null) => (value === null ? null : toDate(value))
const numberOrNull = (value: string | number | null) => (value === null ? null : Number(value))

function factor(row: Selectable<FactorsTable>): Factor {
  return {
    id: row.id,
    userId: row.user_id,
    type: row.type,
    name: row.name,
    createdAt: toDate(row.created_at),
    confirmedAt: dateOrNull(row.confirmed_at),
    lastUsedAt: dateOrNull(row.last_used_at),
  }
}

function totp(row: Selectable<FactorsTable>): TotpFactor {
  return {
    ...factor(row),
    type: 'totp',
    secret: row.secret ?? '',
    lastStep: numberOrNull(row.last_step),
  }
}

function passkey(row: Selectable<FactorsTable>): PasskeyFactor {
  return {
    ...factor(row),
    type: 'passkey',
    credentialId: row.credential_id ?? '',
    publicKey: row.public_key ?? '',
    signCount: numberOrNull(row.sign_count) ?? 0,
    transports: row.transports ? (JSON.parse(row.transports) as string[]) : [],
    backupEligible: row.backup_eligible === 1,
    backupState: row.backup_state === 1,
  }
}

export interface NewTotp {
  id: string
  userId: string
  name: string
  secret: string
  now: Date
}

export interface NewPasskey {
  id: string
  userId: string
  name: string
  credentialId: string
  publicKey: string
  signCount: number
  transports: string[]
  backupEligible: boolean
  backupState: boolean
  now: Date
}

/**
 * Second factors in the store. Works on a Kysely instance or a transaction. "Active" means
 * confirmed: a pending TOTP factor proves nothing and counts nowhere.
 */
export function factorRepository(db: Db) {
  const confirmedOf = (userId: string) =>
    db
      .selectFrom('factors')
      .selectAll()
      .where('user_id', '=', userId)
      .where('confirmed_at', 'is not', null)
  return {
    async insertTotp(t: NewTotp): Promise<void> {
      await db
        .insertInto('factors')
        .values({
          ...empty,
          id: t.id,
          user_id: t.userId,
          type: 'totp',
          name: t.name,
          created_at: t.now.toISOString(),
          secret: t.secret,
        })
        .execute()
    },

    /** Throws the driver's unique violation when the credential id is registered already. */
    async insertPasskey(p: NewPasskey): Promise<void> {
      await db
        .insertInto('factors')
        .values({
          ...empty,
          id: p.id,
          user_id: p.userId,
          type: 'passkey',
          name: p.name,
          created_at: p.now.toISOString(),
          confirmed_at: p.now.toISOString(),
          credential_id: p.credentialId,
          public_key: p.publicKey,
          sign_count: p.signCount,
          transports: JSON.stringify(p.transports),
          backup_eligible: p.backupEligible ? 1 : 0,
          backup_state: p.backupState ? 1 : 0,
        })
        .execute()
    },

    /** The user's active factors, oldest first. */
    async listActive(userId: string): Promise<Factor[]> {
      const rows = await confirmedOf(userId).orderBy('created_at').orderBy('id').execute()
      return rows.map(factor)
    },

    async hasActive(userId: string): Promise<boolean> {
      return (await confirmedOf(userId).select('id').executeTakeFirst()) !== undefined
    },

    /** A TOTP factor of the user, pending or active. */
    async findTotp(userId: string, id: string): Promise<TotpFactor | undefined> {
      const row = await db
        .selectFrom('factors')
        .selectAll()
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('type', '=', 'totp')
        .executeTakeFirst()
      return row && totp(row)
    },

    async activeTotps(userId: string): Promise<TotpFactor[]> {
      const rows = await confirmedOf(userId).where('type', '=', 'totp').execute()
      return rows.map(totp)
    },

    async activePasskeys(userId: string): Promise<PasskeyFactor[]> {
      const rows = await confirmedOf(userId).where('type', '=', 'passkey').execute()
      return rows.map(passkey)
    },

    /** Any user's passkey by credential id (passwordless login names no user first). */
    async passkeyByCredentialId(credentialId: string): Promise<PasskeyFactor | undefined> {
      const row = await db
        .selectFrom('factors')
        .selectAll()
        .where('credential_id', '=', credentialId)
        .where('type', '=', 'passkey')
        .where('confirmed_at', 'is not', null)
        .executeTakeFirst()
      return row && passkey(row)
    },

    /** Pending → active, once; false when it is gone, active already, or expired (`createdAfter`). */
    async confirm(id: string, createdAfter: Date, step: number, now: Date): Promise<boolean> {
      const result = await db
        .updateTable('factors')
        .set({ confirmed_at: now.toISOString(), last_step: step, last_used_at: now.toISOString() })
        .where('id', '=', id)
        .where('confirmed_at', 'is', null)
        .where('created_at', '>', createdAfter.toISOString())
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    /**
     * Accepts time step `step` for the factor, by compare-and-set: false when this or a later
     * step was accepted already (RFC 6238 §5.2: a code is valid once).
     */
    async acceptStep(id: string, step: number, now: Date): Promise<boolean> {
      const result = await db
        .updateTable('factors')
        .set({ last_step: step, last_used_at: now.toISOString() })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    /**
     * Records a verified assertion: the new counter, by compare-and-set on the one it was
     * checked against, so two assertions racing with one counter cannot both pass.
     */
    async usePasskey(
      id: string,
      expectedCount: number,
      next: { signCount: number; backupState: boolean },
      now: Date,
    ): Promise<boolean> {
      const result = await db
        .updateTable('factors')
        .set({
          sign_count: next.signCount,
          backup_state: next.backupState ? 1 : 0,
          last_used_at: now.toISOString(),
        })
        .where('id', '=', id)
        .where('sign_count', '=', expectedCount)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    /** Removes one of the user's factors (pending or active); false when it is not theirs. */
    async remove(userId: string, id: string): Promise<Factor | undefined> {
      const row = await db
        .deleteFrom('factors')
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .returningAll()
        .executeTakeFirst()
      return row && factor(row)
    },

    /** Every factor of the user; the active ones that went. */
    async removeAll(userId: string): Promise<Factor[]> {
      const rows = await db
        .deleteFrom('factors')
        .where('user_id', '=', userId)
        .returningAll()
        .execute()
      return rows.filter((row) => row.confirmed_at !== null).map(factor)
    },

    /** Housekeeping: pending factors older than `before` can never be confirmed. */
    async deletePendingBefore(before: Date): Promise<number> {
      const result = await db
        .deleteFrom('factors')
        .where('confirmed_at', 'is', null)
        .where('created_at', '<', before.toISOString())
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}

const empty = {
  confirmed_at: null,
  last_used_at: null,
  secret: null,
  last_step: null,
  credential_id: null,
  public_key: null,
  sign_count: null,
  transports: null,
  backup_eligible: null,
  backup_state: null,
}

export type FactorRepository = ReturnType<typeof factorRepository>
