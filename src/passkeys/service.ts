import { randomBytes } from 'node:crypto'
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server'
import { COSEALG } from '@simplewebauthn/server/helpers'
import { Value } from 'typebox/value'
import { v7 as uuidv7 } from 'uuid'
import { type Challenge, challengeRepository } from '../challenges/repository.ts'
import type { Clock } from '../clock.ts'
import type { WebauthnConfig } from '../config/webauthn.ts'
import { isUniqueViolationOf } from '../db/errors.ts'
import type { Db } from '../db/schema.ts'
import { AppError } from '../errors.ts'
import type { RecordEvent } from '../events/catalogue.ts'
import { recordFactorEvent } from '../factors/events.ts'
import { factorName } from '../factors/factor-service.ts'
import { recordNotice } from '../factors/notice.ts'
import { factorRepository } from '../factors/repository.ts'
import type { Factor, PasskeyFactor } from '../factors/types.ts'
import type { Language } from '../outbox/mail.ts'
import type { Record as RecordFn } from '../outbox/record.ts'
import { withUserLock } from '../users/lock.ts'
import type { User } from '../users/types.ts'
import { AssertionCredential, RegistrationCredential } from './schemas.ts'

// A ceremony's challenge is single-use and lives 5 minutes; the browser is told the same.
const CHALLENGE_TTL_SECONDS = 300
const DEFAULT_NAME = 'Passkey'
// What authenticators make (COSE, RFC 9053). Named, so the library does not probe Node's still
// experimental ML-DSA support (which warns on stderr) to pick its default.
const ALGORITHMS = [COSEALG.EdDSA, COSEALG.ES256, COSEALG.RS256]

/** What an assertion is checked for: the second step of one login, or a passwordless login. */
export type AssertionExpectation =
  /** Only `userId`'s passkeys, for the challenge issued with `link` (the mfa_token's id). */
  | { purpose: 'passkey_mfa'; userId: string; link: string }
  /** Any user's discoverable passkey, with user verification. */
  | { purpose: 'passkey_login' }

export interface VerifiedAssertion {
  userId: string
  factorId: string
  /** RFC 8176: `swk` for a synced (backup-eligible) passkey, `hwk` for a device-bound one. */
  amr: 'hwk' | 'swk'
}

export interface PasskeyServiceOptions {
  db: Db
  clock: Clock
  config: WebauthnConfig
  record: RecordFn
  events: RecordEvent
}

/**
 * The WebAuthn user handle: the 16 bytes of the user's id. Never the login, which can change and
 * is personal (WebAuthn L3 §14.6.1).
 */
export function userHandle(userId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(userId.replaceAll('-', ''), 'hex'))
}

const CHALLENGE = /^[A-Za-z0-9_-]{16,128}$/

/** The challenge a response's clientDataJSON names, if it is well formed. */
function challengeOf(clientDataJSON: string): string | undefined {
  try {
    const data = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8'))
    const challenge = (data as { challenge?: unknown } | null)?.challenge
    return typeof challenge === 'string' && CHALLENGE.test(challenge) ? challenge : undefined
  } catch {
    return undefined
  }
}

/** The library's checks (origin, RP ID, flags, counter, signature); the new counter and BS. */
async function checkAssertion(
  config: WebauthnConfig,
  response: AuthenticationResponseJSON,
  challenge: string,
  passkey: PasskeyFactor,
  expect: AssertionExpectation,
): Promise<{ signCount: number; backupState: boolean } | undefined> {
  try {
    const { response: inner } = response
    const result = await verifyAuthenticationResponse({
      // A null userHandle (some clients send one) is as good as none.
      response: { ...response, response: { ...inner, userHandle: inner.userHandle || undefined } },
      expectedChallenge: challenge,
      expectedOrigin: config.origins,
      expectedRPID: config.rpId,
      credential: {
        id: passkey.credentialId,
        publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')),
        counter: passkey.signCount,
        transports: passkey.transports,
      },
      // A non-zero counter must go up (the library refuses otherwise); 0 stays 0 for synced
      // passkeys (WebAuthn L3 §6.1.1).
      requireUserVerification: expect.purpose === 'passkey_login',
    })
    const info = result.authenticationInfo
    if (!result.verified) return undefined
    // WebAuthn L3 §6.1.3: backup eligibility is fixed when the credential is made.
    if ((info.credentialDeviceType === 'multiDevice') !== passkey.backupEligible) return undefined
    return { signCount: info.newCounter, backupState: info.credentialBackedUp }
  } catch {
    return undefined
  }
}

const invalidPasskey = (detail: string, cause?: unknown) =>
  new AppError('invalid_passkey', { detail, cause })

/** The challenge row was issued for this very expectation. */
function issuedFor(challenge: Challenge<{ link?: string } | null>, expect: AssertionExpectation) {
  if (expect.purpose === 'passkey_login') return true
  return challenge.userId === expect.userId && challenge.data?.link === expect.link
}

/**
 * Passkeys (WebAuthn Level 3): registration for a signed-in user, and assertions for a login's
 * second step or a passwordless login. Challenges are single-use rows (challenges/), spent by
 * compare-and-set before anything else is checked.
 */
export function createPasskeyService(options: PasskeyServiceOptions) {
  const { db, clock, config, record } = options

  async function issueChallenge(
    challenge: string,
    purpose: Challenge['purpose'],
    userId: string | null,
    data: unknown,
  ) {
    await challengeRepository(db).insert({
      id: challenge,
      purpose,
      userId,
      data,
      now: clock.now(),
      ttlSeconds: CHALLENGE_TTL_SECONDS,
    })
  }

  /** Finds and spends the live challenge the response names; undefined when there is none. */
  async function spend(
    clientDataJSON: string,
    purpose: Challenge['purpose'],
    issued: (challenge: Challenge<{ link?: string } | null>) => boolean,
  ): Promise<string | undefined> {
    const id = challengeOf(clientDataJSON)
    if (!id) return undefined
    const challenges = challengeRepository(db)
    const now = clock.now()
    const live = await challenges.findLive<{ link?: string } | null>(id, purpose, now)
    if (!live || !issued(live)) return undefined
    return (await challenges.spend(id, now)) ? id : undefined
  }

  return {
    /**
     * Options for navigator.credentials.create(): a discoverable credential (so it can sign in
     * without a login), user verification preferred, no attestation, the user's passkeys excluded.
     */
    async registrationOptions(actor: User): Promise<PublicKeyCredentialCreationOptionsJSON> {
      const existing = await factorRepository(db).activePasskeys(actor.id)
      const options = await generateRegistrationOptions({
        rpName: config.rpName,
        rpID: config.rpId,
        userName: actor.login,
        userDisplayName: actor.login,
        userID: userHandle(actor.id),
        challenge: randomBytes(32),
        timeout: CHALLENGE_TTL_SECONDS * 1000,
        attestationType: 'none',
        excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports })),
        authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
        supportedAlgorithmIDs: ALGORITHMS,
      })
      await issueChallenge(options.challenge, 'passkey_registration', actor.id, null)
      return options
    },

    /**
     * Verifies the new credential against a live challenge of the actor's, spent first, and
     * stores it as an active factor, with a notice to the verified address in the same
     * transaction. 400 invalid_passkey for any failure; 409 passkey_registered.
     */
    async register(
      actor: User,
      name: string | undefined,
      credential: unknown,
      language: Language,
    ): Promise<Factor> {
      // Before the challenge is spent: a bad name changes nothing.
      const label = factorName(name, DEFAULT_NAME)
      if (!Value.Check(RegistrationCredential, credential)) {
        throw invalidPasskey('The credential is not a registration response.')
      }
      const response = credential as RegistrationResponseJSON
      const challenge = await spend(
        response.response.clientDataJSON,
        'passkey_registration',
        (live) => live.userId === actor.id,
      )
      if (!challenge) {
        throw invalidPasskey('The challenge is unknown, expired or used: ask for new options.')
      }
      const verified = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: config.origins,
        expectedRPID: config.rpId,
        requireUserVerification: false,
        supportedAlgorithmIDs: ALGORITHMS,
      }).catch((error: unknown) => {
        throw invalidPasskey('The credential could not be verified.', error)
      })
      if (!verified.verified) throw invalidPasskey('The credential could not be verified.')
      const info = verified.registrationInfo
      const credentialId = info.credential.id
      const transports = [...new Set(info.credential.transports ?? [])].slice(0, 8)
      const added = await withUserLock(db, actor.id, async (trx): Promise<Factor | false> => {
        const factors = factorRepository(trx)
        if (await factors.passkeyByCredentialId(credentialId)) return false
        const now = clock.now()
        const factor: Factor = {
          id: uuidv7(),
          userId: actor.id,
          type: 'passkey',
          name: label,
          createdAt: now,
          confirmedAt: now,
          lastUsedAt: null,
        }
        await factors.insertPasskey({
          id: factor.id,
          userId: actor.id,
          name: factor.name,
          credentialId,
          publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
          signCount: info.credential.counter,
          transports,
          // WebAuthn L3 §6.1.3: BE says a synced passkey, BS that it is backed up now.
          backupEligible: info.credentialDeviceType === 'multiDevice',
          backupState: info.credentialBackedUp,
          now,
        })
        await recordNotice(trx, record, { userId: actor.id, template: 'factor_added', language })
        await recordFactorEvent(trx, options.events, 'factor.added', factor, now)
        return factor
      }).catch((error: unknown): false => {
        if (isUniqueViolationOf(error, 'credential_id')) return false
        throw error
      })
      // The account was deleted meanwhile.
      if (added === undefined) throw new AppError('invalid_token')
      if (!added) throw new AppError('passkey_registered')
      return added
    },

    /**
     * Options for navigator.credentials.get(). For a second step, only that user's passkeys are
     * allowed and the challenge is tied to `link`; for a passwordless login, any discoverable
     * credential, and user verification is required (a passkey then is both factors).
     */
    async requestOptions(
      expect: AssertionExpectation,
    ): Promise<PublicKeyCredentialRequestOptionsJSON> {
      const mfa = expect.purpose === 'passkey_mfa'
      const allowed = mfa ? await factorRepository(db).activePasskeys(expect.userId) : undefined
      const options = await generateAuthenticationOptions({
        rpID: config.rpId,
        allowCredentials: allowed?.map((p) => ({ id: p.credentialId, transports: p.transports })),
        challenge: randomBytes(32),
        timeout: CHALLENGE_TTL_SECONDS * 1000,
        userVerification: mfa ? 'preferred' : 'required',
      })
      await issueChallenge(
        options.challenge,
        expect.purpose,
        mfa ? expect.userId : null,
        mfa ? { link: expect.link } : null,
      )
      return options
    },

    /**
     * The user and factor an assertion proves, or undefined for every failure alike. The
     * challenge is spent before the signature is checked, so it is used once even when the
     * assertion fails; the counter is moved on by compare-and-set.
     */
    async verifyAssertion(
      credential: unknown,
      expect: AssertionExpectation,
    ): Promise<VerifiedAssertion | undefined> {
      if (!Value.Check(AssertionCredential, credential)) return undefined
      const response = credential as AuthenticationResponseJSON
      const challenge = await spend(response.response.clientDataJSON, expect.purpose, (live) =>
        issuedFor(live, expect),
      )
      if (!challenge) return undefined
      const passkey = await factorRepository(db).passkeyByCredentialId(response.id)
      if (!passkey) return undefined
      if (expect.purpose === 'passkey_mfa' && passkey.userId !== expect.userId) return undefined
      // WebAuthn L3 §7.2 step 6: a user handle, when given, is the credential's owner.
      const handle = response.response.userHandle
      if (handle && handle !== Buffer.from(userHandle(passkey.userId)).toString('base64url')) {
        return undefined
      }
      const checked = await checkAssertion(config, response, challenge, passkey, expect)
      if (!checked) return undefined
      const used = await factorRepository(db).usePasskey(
        passkey.id,
        passkey.signCount,
        checked,
        clock.now(),
      )
      if (!used) return undefined
      return {
        userId: passkey.userId,
        factorId: passkey.id,
        amr: passkey.backupEligible ? 'swk' : 'hwk',
      }
    },
  }
}

export type PasskeyService = ReturnType<typeof createPasskeyService>
