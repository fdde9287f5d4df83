import type { Clock } from '../clock.ts'
import type { Db } from '../db/schema.ts'
import { AppError } from '../errors.ts'
import type { RecordEvent } from '../events/catalogue.ts'
import { endSessionsOf } from '../sessions/service.ts'
import { withUserLock } from '../users/lock.ts'
import { userRepository } from '../users/repository.ts'
import { type Actor, noSuchUser } from '../users/service.ts'
import type { User } from '../users/types.ts'
import { deleteAccount } from './credentials.ts'

export interface AccountServiceOptions {
  db: Db
  clock: Clock
  events: RecordEvent
}

const notOwn = (what: string, instead: string) =>
  new AppError('forbidden', { detail: `An admin cannot ${what} its own account${instead}.` })

/**
 * What an admin does to another account: delete, disable, enable. Each ends or opens its access
 * in one transaction with its events. Others' ids get the same 404 as ids that do not exist.
 */
export function createAccountService({ db, clock, events }: AccountServiceOptions) {
  function assertAdmin(actor: Actor, id: string) {
    if (actor.role !== 'admin') throw noSuchUser()
    return id
  }

  async function setDisabled(actor: Actor, id: string, disable: boolean, reason?: string) {
    assertAdmin(actor, id)
    if (actor.id === id) throw notOwn(disable ? 'disable' : 'enable', '')
    const done = await withUserLock(db, id, async (trx): Promise<User | undefined> => {
      const at = clock.now()
      const users = userRepository(trx)
      // Already so: nothing changes, and nothing is recorded.
      if (await users.setDisabled(id, disable ? at : null, disable ? (reason ?? null) : null)) {
        if (disable) {
          await endSessionsOf(trx, id, at, 'disabled', events)
          const data = reason ? { reason } : {}
          await events(trx, { type: 'user.disabled', userId: id, at, data })
        } else {
          await events(trx, { type: 'user.enabled', userId: id, at })
        }
      }
      return users.findById(id)
    })
    if (!done) throw noSuchUser()
    return done
  }

  return {
    /**
     * Nobody deletes their own account by id: that is DELETE /user/me, confirmed by the
     * password (credentials.ts).
     */
    async remove(actor: Actor, id: string): Promise<void> {
      if (actor.id === id) {
        throw new AppError('forbidden', {
          detail: 'Delete your own account with DELETE /user/me, confirmed by your password.',
        })
      }
      assertAdmin(actor, id)
      const removed = await withUserLock(db, id, (trx) =>
        deleteAccount(trx, id, clock.now(), events),
      )
      if (!removed) throw noSuchUser()
    },

    /** Signs the user out everywhere (a stolen device, say): every session ends at once. */
    async endSessions(actor: Actor, id: string): Promise<void> {
      assertAdmin(actor, id)
      // endSessionsOf answers nothing: true says the lock was had (the user exists).
      const done = await withUserLock(db, id, async (trx) => {
        await endSessionsOf(trx, id, clock.now(), 'admin', events)
        return true
      })
      if (!done) throw noSuchUser()
    },

    /** Every session ends, and its access tokens are refused at once; sign-in is 403. */
    disable: (actor: Actor, id: string, reason?: string) => setDisabled(actor, id, true, reason),

    enable: (actor: Actor, id: string) => setDisabled(actor, id, false),
  }
}

export type AccountService = ReturnType<typeof createAccountService>
