// The event catalogue: what the trail records, webhooks carry and NATS publishes. `data` holds
// what each type needs and never a secret (no password, hash, code, token or key).

export const EVENT_TYPES = [
  'user.registered',
  'user.deleted',
  'user.disabled',
  'user.enabled',
  'user.password_changed',
  'user.email_changed',
  'user.email_verified',
  'session.created',
  'session.ended',
  'session.reuse_detected',
  'login.failed',
  'factor.added',
  'factor.removed',
  'recovery.requested',
  'recovery_codes.generated',
  'signing_key.rotated',
  'oauth.client_added',
  'oauth.client_removed',
  'oauth.consent_given',
  'oauth.consent_withdrawn',
  'oauth.token_issued',
] as const
export type EventType = (typeof EVENT_TYPES)[number]

export const PASSWORD_CHANGE_METHODS = [
  'change',
  'recovery_email',
  'recovery_code',
  'admin',
] as const
export type PasswordChangeMethod = (typeof PASSWORD_CHANGE_METHODS)[number]

export const SESSION_END_REASONS = [
  'logout',
  'logout_all',
  'password_changed',
  'revoked',
  'admin',
  'disabled',
  'deleted',
] as const
export type SessionEndReason = (typeof SESSION_END_REASONS)[number]

/** Why a sign-in failed: in the trail for admins, webhooks and NATS; never shown to the user. */
export const LOGIN_FAILURE_REASONS = [
  'unknown_login',
  'wrong_password',
  'account_disabled',
  'invalid_code',
  'invalid_passkey',
] as const
export type LoginFailureReason = (typeof LOGIN_FAILURE_REASONS)[number]

export const ACTOR_TYPES = ['user', 'admin', 'system'] as const
export type ActorType = (typeof ACTOR_TYPES)[number]

export interface EventActor {
  type: ActorType
  /** The user who acted; null for the system, or for a sign-in by nobody known. */
  id: string | null
}

/** An event as it is stored, listed, posted to webhooks and published on NATS. */
export interface Event {
  /** UUIDv7: a receiver de-duplicates by it (webhook-id, Nats-Msg-Id). */
  id: string
  type: EventType
  /** ISO 8601. */
  occurred_at: string
  actor: EventActor
  /** The account it is about; null when none (a sign-in with an unknown login, a key rotation). */
  subject: { user_id: string } | null
  address: string | null
  user_agent: string | null
  data: Record<string, unknown>
}

/** What a domain service records; the rest (id, time, who, from where) the recorder fills in. */
export interface NewEvent {
  type: EventType
  /** The account it is about. */
  userId?: string | null
  data?: Record<string, unknown>
  /** The time of the change, when the caller has taken it already (default: the clock's now). */
  at?: Date
  /** Who acted, when the request's caller is not it (default: see context.ts). */
  actor?: EventActor
}

/** Records an event inside the transaction of its change (events/record.ts). */
export type RecordEvent = (trx: import('../db/schema.ts').Db, event: NewEvent) => Promise<Event>
/** Records many events inside the transaction of a bulk change (an import): multi-row inserts. */
export type RecordEvents = (
  trx: import('../db/schema.ts').Db,
  events: readonly NewEvent[],
) => Promise<Event[]>

// What the trail keeps for admins only: why a sign-in failed, and an admin's note on disabling
// (DisableBody in authn/account-routes.ts: "never shown to the user").
const HIDDEN_REASON: ReadonlySet<EventType> = new Set(['login.failed', 'user.disabled'])

/** The user's own view of an event: failed sign-ins and disables without the internal reason. */
export function ownView(event: Event): Event {
  if (!HIDDEN_REASON.has(event.type)) return event
  const { reason: _hidden, ...data } = event.data
  return { ...event, data }
}
