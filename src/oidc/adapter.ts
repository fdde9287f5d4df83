import { createHash } from 'node:crypto'
import { type Adapter, type AdapterFactory, type AdapterPayload, errors } from 'oidc-provider'
import type { Clock } from '../clock.ts'
import { type Db, toDate } from '../db/schema.ts'
import type { RecordEvent } from '../events/catalogue.ts'
import { oidcRepository, type StoredRow } from './repository.ts'

/**
 * The models whose rows a grant's revocation removes: the set the library's own adapter indexes
 * by grant (lib/adapters/memory_adapter.js `grantable`). An Interaction names its grant too, but
 * outlives a revocation there, and so here.
 */
export const GRANTABLE: readonly string[] = [
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]

// Bearer values: stored only as their SHA-256, like the service's own refresh tokens, so a copy
// of the database holds no working token or code. (A Session's id is its cookie; the library
// also looks sessions up by uid and needs the id back, so it stays.)
const HASHED = new Set(['AccessToken', 'RefreshToken', 'AuthorizationCode', 'ClientCredentials'])
const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url')
const keyOf = (model: string, id: string) => (HASHED.has(model) ? sha256(id) : id)

// Saved once each, when issued: the trail's `oauth.token_issued`.
const ISSUED = new Set(['AccessToken', 'ClientCredentials'])

const epochSeconds = (at: Date) => Math.floor(at.getTime() / 1000)

function toPayload(row: StoredRow | undefined, id: string): AdapterPayload | undefined {
  if (!row) return undefined
  const payload = JSON.parse(row.payload) as AdapterPayload
  // A hashed row keeps no value: the library reads its id back as `jti`.
  if (HASHED.has(row.model)) payload.jti = id
  // The library reads `consumed` as epoch seconds (memory_adapter.js consume; grant_source.js).
  if (row.consumed_at !== null) payload.consumed = epochSeconds(toDate(row.consumed_at))
  return payload
}

export interface OidcAdapterOptions {
  db: Db
  clock: Clock
  /** Records `oauth.token_issued` in the transaction that stores the token. */
  events?: RecordEvent
  /** Serves the `Client` model (registered clients live in their own table). */
  clients?: Adapter
}

/**
 * oidc-provider's `adapter` (a factory, lib/helpers/initialize_adapter.js) on oidc_payloads. Expiry
 * follows our Clock rather than Date.now(), so a test that freezes the clock sees rows expire.
 */
export function oidcAdapter({ db, clock, events, clients }: OidcAdapterOptions): AdapterFactory {
  const rows = oidcRepository(db)

  async function save(model: string, id: string, payload: AdapterPayload, expiresIn?: number) {
    const now = clock.now()
    const { jti: _value, ...kept } = payload
    const row = {
      model,
      id: keyOf(model, id),
      payload: JSON.stringify(HASHED.has(model) ? kept : payload),
      grantId: GRANTABLE.includes(model) ? (payload.grantId ?? null) : null,
      // A Session's own uid; for a token that ends with its browser session, that session's uid
      // (so an ended usersvc session can end them: repository.ts removeSessionBound).
      uid:
        model === 'Session'
          ? (payload.uid ?? null)
          : payload.expiresWithSession
            ? (payload.sessionUid ?? null)
            : null,
      userCode: payload.userCode ?? null,
      expiresAt: typeof expiresIn === 'number' ? new Date(now.getTime() + expiresIn * 1000) : null,
      // DeviceCode and others carry `consumed` in their payload when saved again.
      consumedAt: typeof payload.consumed === 'number' ? new Date(payload.consumed * 1000) : null,
      accountId: payload.accountId ?? null,
      clientId: payload.clientId ?? null,
    }
    if (!events || !ISSUED.has(model)) return rows.upsert(row)
    await db.transaction().execute(async (trx) => {
      await oidcRepository(trx).upsert(row)
      const user = payload.accountId ?? null
      await events(trx, {
        type: 'oauth.token_issued',
        userId: user,
        at: now,
        actor: user ? { type: 'user', id: user } : { type: 'system', id: null },
        data: {
          client_id: payload.clientId,
          grant_type: model === 'ClientCredentials' ? 'client_credentials' : payload.gty,
          scope: payload.scope ?? '',
        },
      })
    })
  }

  return (model: string): Adapter => {
    if (model === 'Client' && clients) return clients
    return {
      upsert: (id, payload, expiresIn) => save(model, id, payload, expiresIn),
      find: async (id) => toPayload(await rows.find(model, keyOf(model, id), clock.now()), id),
      findByUid: async (uid) => {
        const row = await rows.findBy(model, 'uid', uid, clock.now())
        return row && toPayload(row, row.id)
      },
      findByUserCode: async (userCode) => {
        const row = await rows.findBy(model, 'user_code', userCode, clock.now())
        return row && toPayload(row, row.id)
      },
      // Every caller checks `consumed` first (helpers/grant_source.js, grants/refresh_token.js,
      // authorization/respond.js), so a lost compare-and-set is a concurrent second use: it must
      // not go on to issue tokens. The first consumption's time stays.
      // A lost race is a second use: like the library's own check (helpers/grant_source.js), it
      // revokes what the grant issued (RFC 6749 §4.1.2, RFC 9700 §4.14.2).
      async consume(id) {
        const key = keyOf(model, id)
        if (await rows.consume(model, key, clock.now())) return
        const grantId = (await rows.find(model, key, clock.now()))?.grant_id
        if (grantId) {
          await rows.revokeByGrantId(GRANTABLE, grantId)
          await rows.destroy('Grant', grantId)
        }
        throw new errors.InvalidGrant(`${model} already consumed`)
      },
      async destroy(id) {
        await rows.destroy(model, keyOf(model, id))
      },
      async revokeByGrantId(grantId) {
        await rows.revokeByGrantId(GRANTABLE, grantId)
      },
    }
  }
}
