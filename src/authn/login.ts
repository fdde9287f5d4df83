import { AppError } from '../errors.ts'
import type { SessionService, TokenPair } from '../sessions/service.ts'
import type { Throttle } from '../throttle/throttle.ts'
import type { PasswordCheck } from './password.ts'

export interface LoginFlowOptions {
  passwords: PasswordCheck
  sessions: SessionService
  throttle: Throttle
}

const invalidCredentials = () => new AppError('invalid_credentials')

/**
 * Logging in: the client's address within its rate, the password right, then a session. The one
 * place that decides what a checked password leads to (a second step, when accounts have one).
 */
export function createLoginFlow({ passwords, sessions, throttle }: LoginFlowOptions) {
  return {
    /** Unknown login and wrong password are one answer, after the same work. */
    async login(login: string, password: string, address: string): Promise<TokenPair> {
      await throttle.loginAttempt(address)
      const user = await passwords.check({ login }, password, address)
      if (!user) throw invalidCredentials()
      // Undefined when the password was changed while it was being checked.
      const pair = await sessions.start(
        user,
        { amr: ['pwd'], aal: 'aal1' },
        { userAgent: undefined, address },
      )
      if (!pair) throw invalidCredentials()
      return pair
    },
  }
}

export type LoginFlow = ReturnType<typeof createLoginFlow>
