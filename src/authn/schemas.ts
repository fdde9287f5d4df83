import Type from 'typebox'
import { Password } from '../passwords/schemas.ts'
import { Login } from '../users/schemas.ts'

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
