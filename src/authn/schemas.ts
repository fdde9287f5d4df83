import Type from 'typebox'
import { Password } from '../passwords/schemas.ts'
import { EmailOrNull, Login } from '../users/schemas.ts'

export const LoginBody = Type.Object(
  { login: Login, password: Password },
  {
    additionalProperties: false,
    examples: [{ login: 'alice', password: 'correct horse battery staple' }],
  },
)

export const ChangePasswordBody = Type.Object(
  { current_password: Password, new_password: Password },
  { additionalProperties: false },
)

export const DeleteMeBody = Type.Object(
  { password: Password },
  { additionalProperties: false, description: 'The current password, as confirmation' },
)

export const ChangeEmailBody = Type.Object(
  { email: EmailOrNull, password: Password },
  {
    additionalProperties: false,
    description: 'The new address (null: none), confirmed by the current password',
    examples: [{ email: 'alice@example.org', password: 'correct horse battery staple' }],
  },
)

const MfaToken = Type.String({ minLength: 1, maxLength: 256 })

export const MfaRequired = Type.Object(
  {
    mfa_required: Type.Literal(true),
    mfa_token: Type.String({
      description: 'For POST /session/mfa: single-use, 5 minutes, dies after 5 wrong proofs',
    }),
    expires_in: Type.Integer({ description: 'Seconds the mfa_token lives' }),
    methods: Type.Array(Type.Enum(['totp', 'passkey', 'recovery_code']), {
      description:
        'What can finish this login: the account’s factors, and recovery_code while saved codes remain',
    }),
  },
  {
    description: 'The password was right; the account has a second factor, which must follow',
    examples: [
      {
        mfa_required: true,
        mfa_token: 'q3Yx0m2n5QyZr8bQe1tJ7fN4vV6cW9aK2sD0gH3jL5o',
        expires_in: 300,
        methods: ['totp', 'passkey', 'recovery_code'],
      },
    ],
  },
)

export const MfaBody = Type.Object(
  {
    mfa_token: MfaToken,
    code: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'The authenticator app’s 6 digits' }),
    ),
    recovery_code: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'A saved recovery code' }),
    ),
    credential: Type.Optional(
      Type.Unsafe<Record<string, unknown>>({
        type: 'object',
        description:
          'A passkey assertion (AuthenticationResponseJSON) for options from POST /session/mfa/passkey/options',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'The mfa_token and exactly one of code, recovery_code or credential',
    examples: [{ mfa_token: 'q3Yx0m2n5QyZr8bQe1tJ7fN4vV6cW9aK2sD0gH3jL5o', code: '046213' }],
  },
)

export const MfaTokenBody = Type.Object({ mfa_token: MfaToken }, { additionalProperties: false })
