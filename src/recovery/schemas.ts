import Type from 'typebox'
import { Password } from '../passwords/schemas.ts'
import { BODY_ERRORS, NoContent, problems } from '../schemas.ts'
import { Email, Login } from '../users/schemas.ts'

// An account is named by its login or by its email address: exactly one of the two.

export const RecoveryRequestBody = Type.Object(
  { login: Type.Optional(Login), email: Type.Optional(Email) },
  {
    additionalProperties: false,
    description: 'login or email, not both',
    examples: [{ login: 'alice' }, { email: 'alice@example.com' }],
  },
)

export const CompleteRecoveryBody = Type.Object(
  {
    login: Type.Optional(Login),
    email: Type.Optional(Email),
    code: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'The digits of the mail, as a string (spaces and hyphens are ignored)',
    }),
    new_password: Password,
  },
  {
    additionalProperties: false,
    description: 'login or email (not both), the code mailed to the account, a new password',
    examples: [
      {
        login: 'alice',
        code: '04711236',
        new_password: 'a brand new tremendously long passphrase',
      },
    ],
  },
)

export const SavedCodeRecoveryBody = Type.Object(
  {
    login: Login,
    // Room for spaces and dashes as typed; the real check is the code's own (factors/).
    recovery_code: Type.String({ minLength: 1, maxLength: 100 }),
    new_password: Password,
  },
  {
    additionalProperties: false,
    examples: [
      {
        login: 'alice',
        recovery_code: '7KQ2-M4XD-9RVA-0TNE-HB3W',
        new_password: 'a brand new tremendously long passphrase',
      },
    ],
  },
)

/** What a recovery that sets a new password answers: 204, or one of these problems. */
export const recoveryResponses = {
  204: NoContent,
  ...problems(...BODY_ERRORS, 'invalid_code', 'password_policy', 'rate_limited', 'overloaded'),
}
