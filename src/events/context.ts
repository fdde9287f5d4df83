import { AsyncLocalStorage } from 'node:async_hooks'
import type { EventActor } from './catalogue.ts'

/** Who is asking, as far as an event needs it: set per request, read by the recorder. */
export interface EventContext {
  address: string | null
  userAgent: string | null
  /** The authenticated caller, once Bearer authentication has found one. */
  caller(): { id: string; role: string } | null | undefined
}

// Per request, so that every event a request causes says from where and by whom without each
// domain service passing it along. Outside a request (background jobs, the command line) there
// is none, and the actor is the system.
const storage = new AsyncLocalStorage<EventContext>()

export function runInContext<T>(context: EventContext, work: () => T): T {
  return storage.run(context, work)
}

/** The request's address and user agent, to carry into work done after it (a queued request). */
export function currentClient(): { address: string | null; userAgent: string | null } {
  const context = storage.getStore()
  return { address: context?.address ?? null, userAgent: context?.userAgent ?? null }
}

const USER_AGENT_MAX = 256

/** Who acted and from where, for an event about `subject`. */
export function whoAndWhere(subject: string | null | undefined, given?: EventActor) {
  const context = storage.getStore()
  const where = {
    address: context?.address ?? null,
    user_agent: context?.userAgent?.slice(0, USER_AGENT_MAX) ?? null,
  }
  if (given) return { actor: given, ...where }
  if (!context) return { actor: { type: 'system' as const, id: null }, ...where }
  const caller = context.caller()
  if (caller) {
    // An admin acting on somebody else's account acts as an admin; on its own, as a user.
    const type = caller.role === 'admin' && caller.id !== subject ? 'admin' : 'user'
    return { actor: { type, id: caller.id } as EventActor, ...where }
  }
  // No Bearer token (sign-in, registration, recovery): the account's holder, if any.
  return { actor: { type: 'user' as const, id: subject ?? null }, ...where }
}
