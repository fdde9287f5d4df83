import type { Selectable } from 'kysely'
import { type Db, toDate, type WebhooksTable } from '../db/schema.ts'
import type { EventType } from '../events/catalogue.ts'

export interface Webhook {
  id: string
  url: string
  description: string | null
  /** null: every type. */
  types: EventType[] | null
  enabled: boolean
  disabledReason: string | null
  /** As stored: sealed under SIGNING_KEY_SECRET when it is set (secrets.ts opens it). */
  secret: string
  previousSecret: string | null
  previousSecretUntil: Date | null
  createdAt: Date
  updatedAt: Date
}

export interface WebhookChanges {
  url?: string
  description?: string | null
  types?: EventType[] | null
  enabled?: boolean
}

/** The outbox channel of one endpoint: each has its own sender and retries. */
export const channelOf = (id: string) => `webhook:${id}`

function toWebhook(row: Selectable<WebhooksTable>): Webhook {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    types: row.types === null ? null : (JSON.parse(row.types) as EventType[]),
    // PostgreSQL's integer and SQLite's alike.
    enabled: Number(row.enabled) === 1,
    disabledReason: row.disabled_reason,
    secret: row.secret,
    previousSecret: row.previous_secret,
    previousSecretUntil:
      row.previous_secret_until === null ? null : toDate(row.previous_secret_until),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  }
}

const typesText = (types: EventType[] | null | undefined) =>
  types ? JSON.stringify([...new Set(types)]) : null

/** The webhooks table. Works on a Kysely instance or a transaction. */
export function webhookRepository(db: Db) {
  return {
    async insert(hook: {
      id: string
      url: string
      description: string | null
      types: EventType[] | null
      secret: string
      now: Date
    }): Promise<Webhook> {
      const at = hook.now.toISOString()
      const row = await db
        .insertInto('webhooks')
        .values({
          id: hook.id,
          url: hook.url,
          description: hook.description,
          types: typesText(hook.types),
          enabled: 1,
          disabled_reason: null,
          secret: hook.secret,
          previous_secret: null,
          previous_secret_until: null,
          created_at: at,
          updated_at: at,
        })
        .returningAll()
        .executeTakeFirstOrThrow()
      return toWebhook(row)
    },

    async find(id: string): Promise<Webhook | undefined> {
      const row = await db
        .selectFrom('webhooks')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst()
      return row && toWebhook(row)
    },

    /** By id (UUIDv7: creation order), after `after`. */
    async list(after: string | undefined, limit: number): Promise<Webhook[]> {
      let query = db.selectFrom('webhooks').selectAll().orderBy('id').limit(limit)
      if (after) query = query.where('id', '>', after)
      return (await query.execute()).map(toWebhook)
    },

    /** The ids and types of the endpoints that take deliveries now. */
    async enabled(): Promise<Array<{ id: string; types: EventType[] | null }>> {
      const rows = await db
        .selectFrom('webhooks')
        .select(['id', 'types'])
        .where('enabled', '=', 1)
        .execute()
      return rows.map((row) => ({
        id: row.id,
        types: row.types === null ? null : (JSON.parse(row.types) as EventType[]),
      }))
    },

    async update(id: string, changes: WebhookChanges, now: Date): Promise<Webhook | undefined> {
      const row = await db
        .updateTable('webhooks')
        .set({
          updated_at: now.toISOString(),
          ...(changes.url !== undefined ? { url: changes.url } : {}),
          ...(changes.description !== undefined ? { description: changes.description } : {}),
          ...(changes.types !== undefined ? { types: typesText(changes.types) } : {}),
          // Enabling (again) forgets why the service had disabled it.
          ...(changes.enabled !== undefined
            ? { enabled: changes.enabled ? 1 : 0, disabled_reason: null }
            : {}),
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst()
      return row && toWebhook(row)
    },

    /** The endpoint said it is gone for good: no more deliveries until an admin enables it. */
    async disable(id: string, reason: string, now: Date): Promise<void> {
      await db
        .updateTable('webhooks')
        .set({ enabled: 0, disabled_reason: reason, updated_at: now.toISOString() })
        .where('id', '=', id)
        .execute()
    },

    /** The new secret signs from now on; the one it replaces, beside it until `until`. */
    async rotate(id: string, secret: string, previous: string, until: Date, now: Date) {
      const row = await db
        .updateTable('webhooks')
        .set({
          secret,
          previous_secret: previous,
          previous_secret_until: until.toISOString(),
          updated_at: now.toISOString(),
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst()
      return row && toWebhook(row)
    },

    /**
     * Its deliveries go with it (ON DELETE CASCADE), and its waiting outbox rows too. The row
     * first: on PostgreSQL that waits for a fan-out adding a delivery to it (which holds a lock on
     * it), so the outbox rows that fan-out added are seen, and deleted, by the next statement.
     */
    async remove(id: string): Promise<boolean> {
      const result = await db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst()
      await db.deleteFrom('outbox').where('channel', '=', channelOf(id)).execute()
      return Number(result.numDeletedRows) > 0
    },
  }
}

export type WebhookRepository = ReturnType<typeof webhookRepository>
