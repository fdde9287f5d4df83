import Type, { type Static } from 'typebox'
import { Password } from '../passwords/schemas.ts'
import { Uuid } from '../schemas.ts'
import { ROLES, type User } from './types.ts'

// The public face of a user: what every response that carries one may show, and nothing else.

const EXAMPLE_USER = {
  id: '0196f4c2-7b1e-7c3a-9d2e-1f6a5b4c3d2e',
  login: 'alice',
  role: 'user',
  registered_at: '2026-11-21T23:51:28.123Z',
  email: 'alice@example.com',
  email_verified: true,
  mfa_enabled: false,
  disabled_at: null,
}

export const UserSchema = Type.Object(
  {
    id: Uuid,
    login: Type.String(),
    role: Type.Enum([...ROLES]),
    registered_at: Type.String({ format: 'date-time' }),
    email: Type.Union([Type.String(), Type.Null()], {
      description: 'The address as stored (the domain IDNA-encoded), or null for none',
    }),
    email_verified: Type.Boolean({
      description: 'A code mailed to this address came back; false again after every change',
    }),
    mfa_enabled: Type.Boolean({
      description:
        'An active second factor exists: logging in takes a second step, and changes to the account need an access token with aal2',
    }),
    disabled_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'When an admin disabled the account (no sign-in, no tokens); null when enabled',
    }),
  },
  { examples: [EXAMPLE_USER] },
)
export type UserBody = Static<typeof UserSchema>

export function userBody(user: User): UserBody {
  return {
    id: user.id,
    login: user.login,
    role: user.role,
    registered_at: user.registeredAt.toISOString(),
    email: user.email,
    email_verified: user.email !== null && user.emailVerifiedAt !== null,
    mfa_enabled: user.mfaEnabled,
    disabled_at: user.disabledAt?.toISOString() ?? null,
  }
}

// The real rules are in login-name.ts; this only keeps absurd inputs out.
export const Login = Type.String({ minLength: 1, maxLength: 1024 })

// The real rules are in email-address.ts (reported in the service's words, with the others).
export const Email = Type.String({
  description: 'At most 254 characters, one @; compared case-insensitively',
})

/** An address or null (none). One JSON type list, so a wrong type is one error, not three. */
export const EmailOrNull = Type.Unsafe<string | null>({
  type: ['string', 'null'],
  description: 'An email address (at most 254 characters, one @), or null for none',
})

export const RegisterBody = Type.Object(
  {
    login: Login,
    password: Password,
    // Optional unless EMAIL_REQUIRED=on; a verification code is mailed to it.
    email: Type.Optional(EmailOrNull),
  },
  {
    additionalProperties: false,
    examples: [
      { login: 'alice', password: 'correct horse battery staple', email: 'alice@example.com' },
    ],
  },
)

export const UserIdParams = Type.Object({ id: Type.String({ description: 'A user id (UUID)' }) })

export const ListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'next_cursor of the previous page' }),
  ),
})

export const UserList = Type.Object(
  {
    items: Type.Array(UserSchema),
    next_cursor: Type.Union([Type.String(), Type.Null()], {
      description: 'Pass as cursor for the next page; null on the last page',
    }),
  },
  { examples: [{ items: [EXAMPLE_USER], next_cursor: null }] },
)

export const VerifyEmailBody = Type.Object(
  {
    code: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'The digits of the mail, as a string (spaces and hyphens are ignored)',
    }),
  },
  { additionalProperties: false, examples: [{ code: '046213' }] },
)

export const EmptyBody = Type.Object({}, { additionalProperties: false })
