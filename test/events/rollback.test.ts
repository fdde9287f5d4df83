// An event exists exactly when its change does: a change that rolls back leaves no event in the
// trail and no row in the outbox, whatever made it roll back (a lost race on a unique login, an
// error after the event was recorded, a compare-and-set that refused).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { sql } from 'kysely'
import type { App } from '../../src/app.ts'
import type { Dialect } from '../../src/db/schema.ts'
import { createHasher, type Hasher } from '../../src/passwords/hasher.ts'
import { registerWithEmail } from '../support/email.ts'
import {
  countEvents,
  countFanOut,
  eventsOf,
  fanOutPayloads,
  holdFanOut,
  trail,
} from '../support/events.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import {
  changePassword,
  NEW_PASSWORD,
  PASSWORD,
  register,
  session,
  signUp,
} from '../support/requests.ts'
import { userCount } from '../support/store.ts'

/** The trail and the events' outbox rows hold the same events, these many. */
async function assertEvents(app: App, count: number, what: string) {
  assert.equal(await countEvents(app), count, `${what}: events in the trail`)
  assert.equal(await countFanOut(app), count, `${what}: events in the outbox`)
  const ids = (await fanOutPayloads(app)).map((p) => JSON.parse(p).id).sort()
  assert.deepEqual(ids, (await trail(app)).map((e) => e.id).sort(), what)
}

/** Every insert into the outbox on `channel` fails, until the returned function is called. */
async function refuseOutbox(app: App, dialect: Dialect, channel: string) {
  const { db } = app.store
  if (dialect === 'sqlite') {
    await sql
      .raw(`create trigger refuse_outbox before insert on outbox when new.channel = '${channel}'
            begin select raise(abort, 'outbox refused'); end`)
      .execute(db)
    return () => sql.raw('drop trigger refuse_outbox').execute(db)
  }
  await sql
    .raw(`create function refuse_outbox() returns trigger language plpgsql as $$
          begin
            if new.channel = '${channel}' then raise exception 'outbox refused'; end if;
            return new;
          end $$`)
    .execute(db)
  await sql
    .raw(`create trigger refuse_outbox before insert on outbox
          for each row execute function refuse_outbox()`)
    .execute(db)
  return () => sql.raw('drop trigger refuse_outbox on outbox').execute(db)
}

/** A cheap real hasher whose first `hash` after `arm()` waits until `release` is called. */
async function gatedHasher() {
  const real = await createHasher({ params: { memoryCost: 256, timeCost: 1, parallelism: 1 } })
  let reached!: () => void
  let release!: () => void
  const atGate = new Promise<void>((resolve) => {
    reached = resolve
  })
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let armed = false
  const hasher: Hasher = {
    admission: real.admission,
    needsRehash: (stored) => real.needsRehash(stored),
    verify: (stored, password) => real.verify(stored, password),
    verifyDummy: (password) => real.verifyDummy(password),
    async hash(password) {
      if (armed) {
        armed = false
        reached()
        await gate
      }
      return real.hash(password)
    },
  }
  const arm = () => {
    armed = true
  }
  return { hasher, arm, atGate, release }
}

for (const dialect of dialects()) {
  describe(`events roll back with their change (${dialect})`, () => {
    test('twenty concurrent registrations of one login: one user, one user.registered', async (t) => {
      const { app } = await makeApp(t, { dialect })
      await holdFanOut(app)
      const results = await Promise.all(Array.from({ length: 20 }, () => register(app, 'racer')))
      const codes = results.map((r) => r.statusCode).sort()
      assert.deepEqual(codes, [201, ...Array(19).fill(409)])
      const winner = results.find((r) => r.statusCode === 201)?.json().id
      const registered = await eventsOf(app, 'user.registered')
      assert.deepEqual(
        registered.map((e) => e.subject),
        [{ user_id: winner }],
      )
      await assertEvents(app, 1, 'after the race')
    })

    test('a transaction that records an event and then throws leaves neither event nor outbox row', async (t) => {
      const { app } = await makeApp(t, { dialect })
      await holdFanOut(app)
      const { user } = await signUp(app, 'alice')
      const before = await countEvents(app)
      await assert.rejects(
        app.store.db.transaction().execute(async (trx) => {
          const recorded = await app.events.record(trx, { type: 'user.enabled', userId: user.id })
          // Inside the transaction it is there …
          const seen = await trx
            .selectFrom('events')
            .select('id')
            .where('id', '=', recorded.id)
            .execute()
          assert.equal(seen.length, 1)
          throw new Error('the change failed after its event')
        }),
        /the change failed after its event/,
      )
      // … and after the rollback it is not, anywhere.
      assert.equal((await eventsOf(app, 'user.enabled')).length, 0)
      await assertEvents(app, before, 'after the rollback')
    })

    test('a registration whose mail cannot be recorded after its event: no user, no event', async (t) => {
      const { app } = await makeApp(t, { dialect })
      await holdFanOut(app)
      const allow = await refuseOutbox(app, dialect, 'mail')
      const res = await registerWithEmail(app, 'alice', 'alice@example.com')
      assertProblem(res, 500, 'internal')
      assert.equal(await userCount(app), 0)
      await assertEvents(app, 0, 'after the failed registration')
      // The same registration once the outbox takes mail again: one user, one event.
      await allow()
      const again = await registerWithEmail(app, 'alice', 'alice@example.com')
      assert.equal(again.statusCode, 201, again.body)
      assert.equal((await eventsOf(app, 'user.registered', again.json().id)).length, 1)
      await assertEvents(app, 1, 'after the registration')
    })

    test('a password change refused by the compare-and-set records nothing; the one that won, once', async (t) => {
      const gated = await gatedHasher()
      const { app } = await makeApp(t, { dialect, hasher: gated.hasher })
      await holdFanOut(app)
      const a = await signUp(app, 'alice')
      const b = await session(app, 'alice')
      const before = await countEvents(app)
      gated.arm()
      // The first change checked the password and waits at hashing the new one …
      const slow = changePassword(app, a.access_token, {
        current_password: PASSWORD,
        new_password: `${NEW_PASSWORD} (slow)`,
      })
      await gated.atGate
      // … while a second one, checked against the same password, commits.
      const fast = await changePassword(app, b.access_token, {
        current_password: PASSWORD,
        new_password: NEW_PASSWORD,
      })
      assert.equal(fast.statusCode, 204, fast.body)
      gated.release()
      assertProblem(await slow, 401, 'invalid_credentials')
      const changed = await eventsOf(app, 'user.password_changed')
      assert.equal(changed.length, 1)
      // The winner's change ended both sessions, each once.
      const ended = await eventsOf(app, 'session.ended')
      assert.deepEqual(
        ended.map((e) => e.data.reason),
        ['password_changed', 'password_changed'],
      )
      await assertEvents(app, before + 3, 'after the race')
    })
  })
}
