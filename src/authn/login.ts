import type { Db } from '../db/schema.ts'
import { AppError } from '../errors.ts'
import type { RecordEvent } from '../events/catalogue.ts'
import { loginFailed } from '../events/record.ts'
import type { Client, SessionService, TokenPair } from '../sessions/service.ts'
import type { Throttle } from '../throttle/throttle.ts'
import { accountDisabled } from '../users/service.ts'
import type { PasswordCheck } from './password.ts'
import type { SecondStep, SecondStepFlow } from './second-step.ts'

export interface LoginFlowOptions {
  db: Db
  events: RecordEvent
  passwords: PasswordCheck
  sessions: SessionService
  throttle: Throttle
  secondStep: SecondStepFlow
}

/** A login's outcome: a session, or (an account with a second factor) the second step. */
export type LoginOutcome = { tokens: TokenPair } | { secondStep: SecondStep }

const invalidCredentials = () => new AppError('invalid_credentials')

/**
 * Logging in: the client's address within its rate, the password right, then a session, or the
 * second step when the account has a factor. The one place that decides what a checked password
 * leads to.
 */
export function createLoginFlow(options: LoginFlowOptions) {
  const { db, events, passwords, sessions, throttle, secondStep } = options
  return {
    /** Unknown login and wrong password are one answer, after the same work. */
    async login(login: string, password: string, client: Client): Promise<LoginOutcome> {
      await throttle.loginAttempt(client.address)
      const attempt = await passwords.attempt({ login }, password, client.address)
      const { user } = attempt
      if (!user) {
        const reason = attempt.userId ? 'wrong_password' : 'unknown_login'
        await loginFailed(db, events, attempt.userId, reason, 'password')
        throw invalidCredentials()
      }
      if (user.disabledAt) {
        await loginFailed(db, events, user.id, 'account_disabled', 'password')
        throw accountDisabled()
      }
      const second = await secondStep.begin(user)
      if (second) return { secondStep: second }
      // Undefined when the password was changed while it was being checked.
      const pair = await sessions.start(user, { amr: ['pwd'], aal: 'aal1' }, client)
      if (!pair) throw invalidCredentials()
      return { tokens: pair }
    },
  }
}

export type LoginFlow = ReturnType<typeof createLoginFlow>
