import type { Db } from '../db/schema.ts'

/** The provider's browser sessions and the usersvc sessions they rest on. */
export function sessionLinks(db: Db) {
  return {
    async link(uid: string, sessionId: string, now: Date): Promise<void> {
      await db
        .insertInto('oidc_session_links')
        .values({ uid, session_id: sessionId, created_at: now.toISOString() })
        .onConflict((oc) => oc.column('uid').doUpdateSet({ session_id: sessionId }))
        .execute()
    },

    /** The usersvc session behind a provider session, if it has neither ended nor expired. */
    async liveSession(uid: string, now: Date): Promise<{ id: string; userId: string } | undefined> {
      return db
        .selectFrom('oidc_session_links')
        .innerJoin('sessions', 'sessions.id', 'oidc_session_links.session_id')
        .select(['sessions.id as id', 'sessions.user_id as userId'])
        .where('oidc_session_links.uid', '=', uid)
        .where('sessions.ended_at', 'is', null)
        .where('sessions.expires_at', '>', now.toISOString())
        .executeTakeFirst()
    },

    async unlink(uid: string): Promise<void> {
      await db.deleteFrom('oidc_session_links').where('uid', '=', uid).execute()
    },
  }
}
