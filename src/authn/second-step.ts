import { challengeRepository, newChallengeValue, tokenId } from '../challenges/repository.ts'
import type { Clock } from '../clock.ts'
import type { Db } from '../db/schema.ts'
import { AppError } from '../errors.ts'
import type { RecordEvent } from '../events/catalogue.ts'
import { loginFailed } from '../events/record.ts'
import { recordNotice } from '../factors/notice.ts'
import type { RecoveryCodeCheck } from '../factors/recovery-code-check.ts'
import { factorRepository } from '../factors/repository.ts'
import type { Language } from '../outbox/mail.ts'
import type { Record as RecordFn } from '../outbox/record.ts'
import type { Client, SessionService, TokenPair } from '../sessions/service.ts'
import type { Throttle } from '../throttle/throttle.ts'
import type { Amr } from '../tokens/access.ts'
import { userRepository } from '../users/repository.ts'
import { accountDisabled } from '../users/service.ts'
import type { User } from '../users/types.ts'

/** The second step's time to live, and how many wrong proofs kill it. */
export const MFA_TOKEN_TTL_SECONDS = 300
export const MFA_TOKEN_MAX_FAILURES = 5

export type SecondFactorMethod = 'totp' | 'passkey' | 'recovery_code'

/** What POST /session/ answers instead of tokens for an account with a second factor. */
export interface SecondStep {
  mfaToken: string
  expiresIn: number
  methods: SecondFactorMethod[]
}

/** One proof for the second step. */
export type SecondProof = { code: string } | { recovery_code: string } | { credential: unknown }

/** What a passkey assertion proved (passkeys/). */
export interface PasskeyAssertion {
  userId: string
  factorId: string
  amr: 'hwk' | 'swk'
}

type PasskeyExpectation = { purpose: 'passkey_mfa'; userId: string; link: string }

/** The parts of factors/ and passkeys/ the second step asks; given by the plugin. */
export interface SecondFactors {
  totp: {
    verify(user: Pick<User, 'id' | 'loginKey'>, code: string, address: string): Promise<boolean>
  }
  passkeys: {
    requestOptions(expect: PasskeyExpectation): Promise<unknown>
    verifyAssertion(
      credential: unknown,
      expect: PasskeyExpectation,
    ): Promise<PasskeyAssertion | undefined>
  }
  recoveryCodes: RecoveryCodeCheck
  /** Unspent saved recovery codes of the user. */
  recoveryCodesLeft(userId: string): Promise<number>
}

export interface SecondStepOptions {
  db: Db
  clock: Clock
  sessions: SessionService
  throttle: Throttle
  record: RecordFn
  events: RecordEvent
  factors: () => SecondFactors
}

interface MfaData {
  /** The password check that issued the token: a change since then kills it. */
  passwordChangedAt: string
}

const deadToken = () => new AppError('invalid_mfa_token')

/**
 * The methods that can finish a login of `userId`, or none when the password alone does: an
 * account has a second step once it has an active factor (NIST SP 800-63B rev 4 §2.2, AAL2). A
 * saved recovery code can stand in for the factor; alone it is not one.
 */
export async function secondFactorMethods(
  db: Db,
  factors: SecondFactors,
  userId: string,
): Promise<SecondFactorMethod[]> {
  const active = await factorRepository(db).listActive(userId)
  if (active.length === 0) return []
  const methods: SecondFactorMethod[] = []
  if (active.some((f) => f.type === 'totp')) methods.push('totp')
  if (active.some((f) => f.type === 'passkey')) methods.push('passkey')
  if ((await factors.recoveryCodesLeft(userId)) > 0) methods.push('recovery_code')
  return methods
}

/**
 * A login's second step. The `mfa_token` is single-use, lives 5 minutes, dies after 5 wrong
 * proofs, and is bound to the password check that issued it. A proof that works starts an AAL2
 * session and spends the token (and a recovery code, when one was used) in one transaction.
 */
export function createSecondStep(options: SecondStepOptions) {
  const { db, clock, sessions, throttle, record, events } = options
  const challenges = challengeRepository(db)
  const users = userRepository(db)

  /** The live token's challenge and user, or 401 invalid_mfa_token. */
  async function live(mfaToken: string) {
    const found = await challenges.findLive<MfaData>(
      tokenId(mfaToken),
      'mfa',
      clock.now(),
      MFA_TOKEN_MAX_FAILURES,
    )
    const user = found?.userId ? await users.findById(found.userId) : undefined
    if (!found || !user) throw deadToken()
    if (user.passwordChangedAt.toISOString() !== found.data.passwordChangedAt) throw deadToken()
    return { challenge: found, user }
  }

  return {
    /**
     * After the right password: the token for the second step, or undefined when the account
     * has no active factor (the password alone logs it in).
     */
    async begin(user: User): Promise<SecondStep | undefined> {
      const methods = await secondFactorMethods(db, options.factors(), user.id)
      if (methods.length === 0) return undefined
      const mfaToken = newChallengeValue()
      await challenges.insert({
        id: tokenId(mfaToken),
        purpose: 'mfa',
        userId: user.id,
        data: { passwordChangedAt: user.passwordChangedAt.toISOString() } satisfies MfaData,
        now: clock.now(),
        ttlSeconds: MFA_TOKEN_TTL_SECONDS,
      })
      return { mfaToken, expiresIn: MFA_TOKEN_TTL_SECONDS, methods }
    },

    /** Request options for a passkey of the token's user (only theirs are allowed). */
    async passkeyOptions(mfaToken: string): Promise<unknown> {
      const { challenge, user } = await live(mfaToken)
      if (user.disabledAt) {
        await loginFailed(db, events, user.id, 'account_disabled', 'second_step')
        throw accountDisabled()
      }
      return options
        .factors()
        .passkeys.requestOptions({ purpose: 'passkey_mfa', userId: user.id, link: challenge.id })
    },

    /**
     * Finishes the login with one proof: a TOTP code, a saved recovery code or a passkey
     * assertion. A wrong one is 400 invalid_code and counts against the token; codes count in
     * the account's throttle like passwords (done by the checks themselves).
     */
    async complete(
      mfaToken: string,
      proof: SecondProof,
      client: Client,
      language: Language,
    ): Promise<TokenPair> {
      await throttle.loginAttempt(client.address)
      const { challenge, user } = await live(mfaToken)
      const factors = options.factors()
      let method: Amr | undefined
      let spendCode: ((trx: Db, now: Date) => Promise<boolean>) | undefined
      if ('code' in proof) {
        if (await factors.totp.verify(user, proof.code, client.address)) method = 'otp'
      } else if ('recovery_code' in proof) {
        const match = await factors.recoveryCodes.check(
          { id: user.id },
          proof.recovery_code,
          client.address,
        )
        if (match) {
          // A look-up secret: "something you have" (NIST SP 800-63B rev 4 §3.1.2).
          method = 'otp'
          spendCode = async (trx, now) => {
            if (!(await factors.recoveryCodes.spend(trx, match, now))) return false
            // §4.1.2.1: the holder hears of a login that stood in for the factor.
            await recordNotice(trx, record, {
              userId: user.id,
              template: 'recovery_code_login',
              language,
            })
            return true
          }
        }
      } else {
        const asserted = await factors.passkeys.verifyAssertion(proof.credential, {
          purpose: 'passkey_mfa',
          userId: user.id,
          link: challenge.id,
        })
        if (asserted?.userId === user.id) method = asserted.amr
      }
      if (!method) {
        await challenges.countFailure(challenge.id)
        const kind =
          'code' in proof ? 'totp' : 'recovery_code' in proof ? 'recovery_code' : 'passkey'
        await loginFailed(db, events, user.id, 'invalid_code', kind)
        throw new AppError('invalid_code', {
          detail: 'The code, recovery code or passkey did not prove this account.',
        })
      }
      // A right proof for an account disabled since the first step: 403, as after a password.
      if (user.disabledAt) {
        await loginFailed(db, events, user.id, 'account_disabled', 'second_step')
        throw accountDisabled()
      }
      const pair = await sessions.start(
        user,
        { amr: ['pwd', method, 'mfa'], aal: 'aal2' },
        client,
        async (trx, now) =>
          (await challengeRepository(trx).spend(challenge.id, now, MFA_TOKEN_MAX_FAILURES)) &&
          (spendCode ? spendCode(trx, now) : true),
      )
      if (!pair) throw deadToken()
      return pair
    },
  }
}

export type SecondStepFlow = ReturnType<typeof createSecondStep>
