import type { Selectable } from 'kysely'
import type { ClientMetadata } from 'oidc-provider'
import { type Db, type OauthClientsTable, toDate } from '../../db/schema.ts'

export { hashSecret, secretMatches } from './secrets.ts'

/** A registered client as stored: its metadata for oidc-provider, its secret only as a hash. */
export interface StoredClient {
  clientId: string
  name: string
  /** The team's own app: no consent screen. */
  firstParty: boolean
  metadata: ClientMetadata
  /** SHA-256 of the secret, base64url (secrets.ts); null for `none` and `private_key_jwt`. */
  secretHash: string | null
  createdAt: Date
  updatedAt: Date
}

function toClient(row: Selectable<OauthClientsTable>): StoredClient {
  return {
    clientId: row.client_id,
    name: row.name,
    // PostgreSQL's integer and SQLite's alike.
    firstParty: Number(row.first_party) === 1,
    metadata: JSON.parse(row.metadata) as ClientMetadata,
    secretHash: row.secret_hash,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  }
}

/** The oauth_clients table. Works on a Kysely instance or a transaction. */
export function clientsRepository(db: Db) {
  return {
    async insert(client: Omit<StoredClient, 'createdAt' | 'updatedAt'>, now: Date) {
      const at = now.toISOString()
      const row = await db
        .insertInto('oauth_clients')
        .values({
          client_id: client.clientId,
          name: client.name,
          metadata: JSON.stringify(client.metadata),
          secret_hash: client.secretHash,
          first_party: client.firstParty ? 1 : 0,
          created_at: at,
          updated_at: at,
        })
        .returningAll()
        .executeTakeFirstOrThrow()
      return toClient(row)
    },

    async find(clientId: string): Promise<StoredClient | undefined> {
      const row = await db
        .selectFrom('oauth_clients')
        .selectAll()
        .where('client_id', '=', clientId)
        .executeTakeFirst()
      return row && toClient(row)
    },

    /** Every client, oldest first (admins register a handful, not thousands). */
    async list(): Promise<StoredClient[]> {
      const rows = await db
        .selectFrom('oauth_clients')
        .selectAll()
        .orderBy('created_at')
        .orderBy('client_id')
        .execute()
      return rows.map(toClient)
    },

    /** Name, first-party flag and metadata together: they are checked together. */
    async update(
      clientId: string,
      changes: { name: string; firstParty: boolean; metadata: ClientMetadata },
      now: Date,
    ): Promise<StoredClient | undefined> {
      const row = await db
        .updateTable('oauth_clients')
        .set({
          name: changes.name,
          first_party: changes.firstParty ? 1 : 0,
          metadata: JSON.stringify(changes.metadata),
          updated_at: now.toISOString(),
        })
        .where('client_id', '=', clientId)
        .returningAll()
        .executeTakeFirst()
      return row && toClient(row)
    },

    /** A new secret's hash in place of the old one: the old secret stops matching at once. */
    async setSecretHash(
      clientId: string,
      secretHash: string,
      now: Date,
    ): Promise<StoredClient | undefined> {
      const row = await db
        .updateTable('oauth_clients')
        .set({ secret_hash: secretHash, updated_at: now.toISOString() })
        .where('client_id', '=', clientId)
        .returningAll()
        .executeTakeFirst()
      return row && toClient(row)
    },

    /**
     * Removes the client with the provider's rows of it (its grants, codes and tokens); its
     * consents go by the foreign key's cascade. Whether it was there. Run it in a transaction.
     */
    /** Every grant, code and token the client holds. */
    async endGrants(clientId: string): Promise<void> {
      await db.deleteFrom('oidc_payloads').where('client_id', '=', clientId).execute()
    },

    async remove(clientId: string): Promise<boolean> {
      await this.endGrants(clientId)
      const result = await db
        .deleteFrom('oauth_clients')
        .where('client_id', '=', clientId)
        .executeTakeFirst()
      return Number(result.numDeletedRows) > 0
    },
  }
}

export type ClientsRepository = ReturnType<typeof clientsRepository>
