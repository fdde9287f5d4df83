import Type from 'typebox'
import type { EnvOf } from './env.ts'

export const env = {
  // NIST SP 800-63B §4.2.1.2: a recovery code sent by mail lives briefly. At most 24 h.
  RECOVERY_CODE_TTL_SECONDS: Type.Integer({ default: 900, minimum: 60, maximum: 86400 }),
  // How long a code that verifies an email address lives.
  EMAIL_CODE_TTL_SECONDS: Type.Integer({ default: 3600, minimum: 60, maximum: 86400 }),
  // on: registration needs an email address.
  EMAIL_REQUIRED: Type.Enum(['on', 'off'], { default: 'off' }),
}

export interface RecoveryConfig {
  recoveryCodeTtlSeconds: number
  emailCodeTtlSeconds: number
  emailRequired: boolean
}

export function read(e: EnvOf<typeof env>): RecoveryConfig {
  return {
    recoveryCodeTtlSeconds: e.RECOVERY_CODE_TTL_SECONDS,
    emailCodeTtlSeconds: e.EMAIL_CODE_TTL_SECONDS,
    emailRequired: e.EMAIL_REQUIRED === 'on',
  }
}
