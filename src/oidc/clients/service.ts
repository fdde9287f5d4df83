import type { Clock } from '../../clock.ts'
import type { Db } from '../../db/schema.ts'
import { AppError } from '../../errors.ts'
import type { RecordEvent } from '../../events/catalogue.ts'
import { type ClientInput, clientMetadata, usesSecret } from './metadata.ts'
import { clientsRepository, type StoredClient } from './repository.ts'
import { hashSecret, newClientId, newClientSecret } from './secrets.ts'

export interface ClientServiceOptions {
  db: Db
  clock: Clock
  /** Records oauth.client_added / oauth.client_removed in the transaction of the change. */
  record: RecordEvent
}

export interface NewClient extends ClientInput {
  first_party?: boolean | undefined
}

/** What an admin may change; not the kind of authentication (a new client is that). */
export interface ClientChanges {
  client_name?: string | undefined
  redirect_uris?: readonly string[] | undefined
  post_logout_redirect_uris?: readonly string[] | undefined
  scope?: string | undefined
  first_party?: boolean | undefined
  id_token_signed_response_alg?: string | undefined
  jwks?: unknown
}

/** A client with the secret it was just given: the only time the secret exists in clear. */
export interface ClientWithSecret {
  client: StoredClient
  /** null for clients that authenticate without one (none, private_key_jwt). */
  secret: string | null
}

const noSuchClient = () => new AppError('not_found', { detail: 'No such client.' })

/** The registered OpenID clients, for the admin API and `usersvc clients`. */
export function createClientService({ db, clock, record }: ClientServiceOptions) {
  const clients = clientsRepository(db)

  async function find(clientId: string): Promise<StoredClient> {
    const client = await clients.find(clientId)
    if (!client) throw noSuchClient()
    return client
  }

  return {
    /** Checks every rule first: a refused client leaves no row and no event. */
    async create(input: NewClient): Promise<ClientWithSecret> {
      const clientId = newClientId()
      const metadata = clientMetadata(clientId, input)
      const secret = usesSecret(metadata.token_endpoint_auth_method) ? newClientSecret() : null
      const firstParty = input.first_party ?? false
      const now = clock.now()
      const client = await db.transaction().execute(async (trx) => {
        const added = await clientsRepository(trx).insert(
          {
            clientId,
            name: metadata.client_name ?? input.client_name,
            firstParty,
            metadata,
            secretHash: secret === null ? null : hashSecret(secret),
          },
          now,
        )
        await record(trx, {
          type: 'oauth.client_added',
          at: now,
          data: {
            client_id: clientId,
            client_name: added.name,
            first_party: firstParty,
            auth_method: metadata.token_endpoint_auth_method,
            grant_types: metadata.grant_types,
          },
        })
        return added
      })
      return { client, secret }
    },

    find,

    list: () => clients.list(),

    /** The changed client, checked as a whole by the rules of a new one. */
    async update(clientId: string, changes: ClientChanges): Promise<StoredClient> {
      const current = await find(clientId)
      const was = current.metadata
      const metadata = clientMetadata(current.clientId, {
        client_name: changes.client_name ?? current.name,
        redirect_uris: changes.redirect_uris ?? was.redirect_uris,
        post_logout_redirect_uris:
          changes.post_logout_redirect_uris ?? was.post_logout_redirect_uris,
        // Grants follow the redirect URIs; client_credentials stays as registered.
        grant_types: was.grant_types?.filter((grant) => grant === 'client_credentials'),
        scope: changes.scope ?? was.scope,
        token_endpoint_auth_method: was.token_endpoint_auth_method,
        id_token_signed_response_alg:
          changes.id_token_signed_response_alg ?? was.id_token_signed_response_alg,
        jwks: changes.jwks ?? was.jwks,
      })
      const updated = await clients.update(
        current.clientId,
        {
          name: metadata.client_name ?? current.name,
          firstParty: changes.first_party ?? current.firstParty,
          metadata,
        },
        clock.now(),
      )
      if (!updated) throw noSuchClient()
      // A first-party client's grants were made without asking anyone: once it is no longer
      // first-party, they end, and it asks for consent like any other app.
      if (current.firstParty && !updated.firstParty) await clients.endGrants(clientId)
      return updated
    },

    /** A new secret, returned this once; the old one stops matching at once. */
    async rotateSecret(clientId: string): Promise<ClientWithSecret & { secret: string }> {
      const current = await find(clientId)
      const method = current.metadata.token_endpoint_auth_method
      if (!usesSecret(method)) {
        throw new AppError('validation_failed', {
          detail: 'This client authenticates without a secret: there is none to rotate.',
          errors: [
            {
              field: 'token_endpoint_auth_method',
              code: 'invalid_value',
              message: `is ${method}: only client_secret_basic and client_secret_post clients have a secret`,
            },
          ],
        })
      }
      const secret = newClientSecret()
      const client = await clients.setSecretHash(current.clientId, hashSecret(secret), clock.now())
      if (!client) throw noSuchClient()
      return { client, secret }
    },

    /** The client, its grants and tokens (oidc_payloads) and its consents (cascade) go together. */
    async remove(clientId: string): Promise<void> {
      const current = await find(clientId)
      const now = clock.now()
      await db.transaction().execute(async (trx) => {
        if (!(await clientsRepository(trx).remove(current.clientId))) throw noSuchClient()
        await record(trx, {
          type: 'oauth.client_removed',
          at: now,
          data: { client_id: current.clientId, client_name: current.name },
        })
      })
    },
  }
}

export type ClientService = ReturnType<typeof createClientService>
