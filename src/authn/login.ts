import { AppError } from '../errors.ts'
import type { Client, SessionService, TokenPair } from '../sessions/service.ts'
import type { Throttle } from '../throttle/throttle.ts'
import type { PasswordCheck } from './password.ts'
import type { SecondStep, SecondStepFlow } from './second-step.ts'

export interface LoginFlowOptions {
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
export function createLoginFlow({ passwords, sessions, throttle, secondStep }: LoginFlowOptions) {
  return {
    /** Unknown login and wrong password are one answer, after the same work. */
    async login(login: string, password: string, client: Client): Promise<LoginOutcome> {
      await throttle.loginAttempt(client.address)
      const user = await passwords.check({ login }, password, client.address)
      if (!user) throw invalidCredentials()
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
