// Accounts with a second factor, the login's second step, and sessions started at a chosen level.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { decodeJwt } from 'jose'
import { v7 as uuidv7 } from 'uuid'
import type { App } from '../../src/app.ts'
import { factorRepository } from '../../src/factors/repository.ts'
import type { Aal, Amr } from '../../src/tokens/access.ts'
import type { User } from '../../src/users/types.ts'
import { codesOf } from './recovery-codes.ts'
import { login, PASSWORD, type Session, signUp } from './requests.ts'

/**
 * Gives the user an active factor: a passkey with a made-up credential, confirmed as it is
 * stored. A stored fact only: no assertion can ever pass with it, so it makes the account one
 * with a second step without giving the test a way through it. Returns the factor's id.
 */
export async function giveFactor(app: App, userId: string): Promise<string> {
  const id = uuidv7()
  await factorRepository(app.store.db).insertPasskey({
    id,
    userId,
    name: 'made-up passkey',
    credentialId: randomBytes(16).toString('base64url'),
    publicKey: randomBytes(77).toString('base64url'),
    signCount: 0,
    transports: ['internal'],
    backupEligible: false,
    backupState: false,
    now: app.clock.now(),
  })
  return id
}

/** The user as stored now (a session must start after its last password change). */
export function storedUser(app: App, userId: string): Promise<User> {
  return app.users.get({ id: userId, role: 'user' }, userId)
}

/** The proofs of a session started at each level, as the login would start it. */
export const PROOF: Record<Aal, { amr: Amr[]; aal: Aal }> = {
  aal1: { amr: ['pwd'], aal: 'aal1' },
  aal2: { amr: ['pwd', 'otp', 'mfa'], aal: 'aal2' },
}

/** An access token of a new session of the user at `aal`, without the login flow. */
export async function tokenAt(app: App, userId: string, aal: Aal): Promise<string> {
  const pair = await app.sessions.start(await storedUser(app, userId), PROOF[aal], {
    userAgent: 'test',
    address: '127.0.0.1',
  })
  assert.ok(pair, 'the session started')
  return pair.accessToken
}

export interface FactorAccount {
  /** The session of its first login, before the factor existed (aal1). */
  session: Session
  userId: string
  /** Its saved recovery codes, made before the factor existed. */
  codes: string[]
}

/** Registers `loginName`, saves ten recovery codes, then gives it an active factor. */
export async function accountWithFactor(app: App, loginName: string): Promise<FactorAccount> {
  const session = await signUp(app, loginName)
  const codes = await codesOf(app, session.access_token)
  await giveFactor(app, session.user.id)
  return { session, userId: session.user.id, codes }
}

export interface MfaRequired {
  mfa_required: true
  mfa_token: string
  expires_in: number
  methods: string[]
}

/** The right password of an account with a factor: the second step's answer; fails unless 200. */
export async function firstStep(
  app: App,
  loginName: string,
  password = PASSWORD,
): Promise<MfaRequired> {
  const res = await login(app, loginName, password)
  assert.equal(res.statusCode, 200, res.body)
  const body = res.json() as MfaRequired
  assert.equal(body.mfa_required, true, res.body)
  return body
}

/** The claims of an access token that tell how its session was authenticated. */
export function authOf(accessToken: string): { sid: string; amr: string[]; aal: string } {
  const { sid, amr, aal } = decodeJwt(accessToken) as { sid: string; amr: string[]; aal: string }
  return { sid, amr, aal }
}
