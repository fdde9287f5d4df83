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
