import type { ColumnType, Kysely } from 'kysely'

/** PostgreSQL gives back Date for timestamptz, SQLite the ISO text we stored; we always write ISO text. */
export type Timestamp = ColumnType<Date | string, string, string>
export type NullableTimestamp = ColumnType<Date | string | null, string | null, string | null>

export interface UsersTable {
  id: string
  login: string
  login_key: string
  password_hash: string
  role: 'user' | 'admin' // as the CHECK constraint of 0001_initial; users/types.ts names it Role
  registered_at: Timestamp
  password_changed_at: Timestamp
  email: ColumnType<string | null, string | null | undefined, string | null>
  email_key: ColumnType<string | null, string | null | undefined, string | null>
  email_verified_at: ColumnType<Date | string | null, string | null | undefined, string | null>
  disabled_at: ColumnType<Date | string | null, string | null | undefined, string | null>
  disabled_reason: ColumnType<string | null, string | null | undefined, string | null>
  /** An imported hash's scheme (passwords/foreign), until the first login replaces it; else null. */
  password_scheme: ColumnType<string | null, string | null | undefined, string | null>
}

export interface RefreshTokensTable {
  id: string
  family_id: string
  user_id: string
  token_hash: string
  created_at: Timestamp
  expires_at: Timestamp
  used_at: NullableTimestamp
  revoked_at: NullableTimestamp
}

export interface SigningKeysTable {
  kid: string
  generation: number
  public_jwk: string
  private_jwk: string | null
  created_at: Timestamp
  retired_at: NullableTimestamp
  /** 'EdDSA' (access tokens, ID tokens by default) or 'RS256' (ID tokens for clients that ask). */
  alg: ColumnType<string, string | undefined, string>
}

export interface OneTimeCodesTable {
  id: string
  user_id: string
  purpose: string
  code_hash: string
  sent_to: string | null
  attempts: ColumnType<number, number | undefined, number>
  created_at: Timestamp
  expires_at: Timestamp
  used_at: NullableTimestamp
}

export interface RecoveryCodesTable {
  id: string
  user_id: string
  selector: string
  code_hash: string
  created_at: Timestamp
  used_at: NullableTimestamp
}

export interface OutboxTable {
  id: string
  channel: string
  payload: string
  created_at: Timestamp
  attempt_at: Timestamp
  attempts: ColumnType<number, number | undefined, number>
  lease_until: NullableTimestamp
  last_error: string | null
}

export interface FactorsTable {
  id: string
  user_id: string
  type: 'totp' | 'passkey' // factors/types.ts names it FactorType
  name: string
  created_at: Timestamp
  confirmed_at: NullableTimestamp
  last_used_at: NullableTimestamp
  secret: string | null
  /** bigint: the pg driver gives it back as a string. */
  last_step: ColumnType<string | number | null, number | null, number | null>
  credential_id: string | null
  public_key: string | null
  sign_count: ColumnType<string | number | null, number | null, number | null>
  transports: string | null
  backup_eligible: number | null
  backup_state: number | null
}

export interface ChallengesTable {
  id: string
  purpose: string
  user_id: string | null
  data: string
  attempts: ColumnType<number, number | undefined, number>
  created_at: Timestamp
  expires_at: Timestamp
  used_at: NullableTimestamp
}

export interface SessionsTable {
  id: string
  user_id: string
  created_at: Timestamp
  last_used_at: Timestamp
  expires_at: Timestamp
  user_agent: string | null
  address: string | null
  aal: string
  amr: string
  ended_at: NullableTimestamp
}

export interface EventsTable {
  id: string
  type: string
  occurred_at: Timestamp
  actor_type: string
  actor_id: string | null
  subject_user_id: string | null
  address: string | null
  user_agent: string | null
  data: string
}

export interface WebhooksTable {
  id: string
  url: string
  description: string | null
  types: string | null
  enabled: number
  disabled_reason: string | null
  secret: string
  previous_secret: string | null
  previous_secret_until: NullableTimestamp
  created_at: Timestamp
  updated_at: Timestamp
}

export interface WebhookDeliveriesTable {
  id: string
  webhook_id: string
  event_id: string
  event_type: string
  status: 'pending' | 'delivered' | 'failed'
  attempts: ColumnType<number, number | undefined, number>
  last_status_code: number | null
  last_error: string | null
  last_attempt_at: NullableTimestamp
  next_attempt_at: NullableTimestamp
  attempt_log: string
  created_at: Timestamp
  delivered_at: NullableTimestamp
}

/** The OpenID provider's state, one row per model and id (oidc/adapter.ts). */
export interface OidcPayloadsTable {
  model: string
  id: string
  /** JSON: the library's payload, as it gave it. */
  payload: string
  grant_id: string | null
  uid: string | null
  user_code: string | null
  expires_at: NullableTimestamp
  consumed_at: NullableTimestamp
  /** The user and client a grant or token belongs to (a withdrawn consent finds them). */
  account_id: string | null
  client_id: string | null
}

/** A registered OpenID relying party (oidc/clients). */
export interface OauthClientsTable {
  client_id: string
  name: string
  /** JSON: the registered metadata, without any secret. */
  metadata: string
  /** SHA-256 of the secret, base64url; null for public and private_key_jwt clients. */
  secret_hash: string | null
  /** 1: the team's own app (no consent screen); 0 otherwise. */
  first_party: ColumnType<number, number | undefined, number>
  created_at: Timestamp
  updated_at: Timestamp
}

/** What a user allowed a client, kept until withdrawn. */
export interface OauthConsentsTable {
  user_id: string
  client_id: string
  /** Space-separated scopes. */
  scopes: string
  granted_at: Timestamp
  updated_at: Timestamp
}

/** The provider's browser session (its uid) → the usersvc session it was signed in with. */
export interface OidcSessionLinksTable {
  uid: string
  session_id: string
  created_at: Timestamp
}

export interface StoreProbeTable {
  id: number
  writes: number
}

export interface Database {
  users: UsersTable
  refresh_tokens: RefreshTokensTable
  signing_keys: SigningKeysTable
  store_probe: StoreProbeTable
  one_time_codes: OneTimeCodesTable
  recovery_codes: RecoveryCodesTable
  outbox: OutboxTable
  factors: FactorsTable
  challenges: ChallengesTable
  sessions: SessionsTable
  events: EventsTable
  webhooks: WebhooksTable
  webhook_deliveries: WebhookDeliveriesTable
  oidc_payloads: OidcPayloadsTable
  oauth_clients: OauthClientsTable
  oauth_consents: OauthConsentsTable
  oidc_session_links: OidcSessionLinksTable
}

export type Dialect = 'sqlite' | 'postgres'
export type Db = Kysely<Database>

/** A database handle that knows which dialect it speaks, for the few places SQL must differ. */
export interface Store {
  db: Db
  dialect: Dialect
  destroy(): Promise<void>
  /** PostgreSQL only: the pool's connections and the clients waiting for one. */
  poolStats?(): { total: number; idle: number; waiting: number }
  /** SQLite on a file only: what the store guard (guard.ts) watches. */
  file?: SqliteFileInfo
}

export interface SqliteFileInfo {
  path: string
  /** Device and inode of the file when it was opened. */
  identity: string | undefined
  /** Opens the file afresh, between queries (no transaction is open then). */
  reopen(): Promise<void>
}

export function toDate(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value)
}
