import type { EventType } from '../events/catalogue.ts'
import type { Events } from '../events/plugin.ts'
import { oidcRepository } from './repository.ts'

// Session ends that end every session of the account: its apps' grants and tokens go with them.
const ENDS_EVERYTHING = new Set(['logout_all', 'admin', 'password_changed', 'disabled', 'deleted'])
const ACCOUNT_CHANGES: EventType[] = ['user.password_changed', 'user.disabled', 'user.deleted']

/**
 * What the provider issued follows the account, in the transaction of the change: a new
 * password, a disable or a deletion ends every grant and token (a recovered account keeps no
 * attacker's refresh token); an ended usersvc session ends the tokens bound to the browser
 * sessions resting on it (single sign-on then asks again: provider.ts).
 */
export function followAccounts(events: Events): void {
  for (const type of ACCOUNT_CHANGES) {
    events.follow(type, async (trx, event) => {
      if (event.subject) await oidcRepository(trx).removeAccount(event.subject.user_id)
    })
  }
  events.follow('session.ended', async (trx, event) => {
    const rows = oidcRepository(trx)
    await rows.removeSessionBound(String(event.data.session_id))
    if (event.subject && ENDS_EVERYTHING.has(String(event.data.reason))) {
      await rows.removeAccount(event.subject.user_id)
    }
  })
}
