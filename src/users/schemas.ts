import Type from 'typebox'
import { Login, Password, UserSchema } from '../http/schemas.ts'

const EXAMPLE_USER = {
  id: '0196f4c2-7b1e-7c3a-9d2e-1f6a5b4c3d2e',
  login: 'alice',
  role: 'user',
  registered_at: '2026-11-21T23:51:28.123Z',
}

export const RegisterBody = Type.Object(
  { login: Login, password: Password },
  {
    additionalProperties: false,
    examples: [{ login: 'alice', password: 'correct horse battery staple' }],
  },
)

export const User = Type.Object(UserSchema.properties, { examples: [EXAMPLE_USER] })

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

export const ChangePasswordBody = Type.Object(
  { current_password: Password, new_password: Password },
  { additionalProperties: false },
)

export const DeleteMeBody = Type.Object(
  { password: Password },
  { additionalProperties: false, description: 'The current password, as confirmation' },
)

export const PasswordPolicy = Type.Object(
  {
    min_length: Type.Integer({ description: 'Unicode code points after NFKC' }),
    max_length: Type.Integer(),
    refuses_common_passwords: Type.Boolean(),
    refuses_login_in_password: Type.Boolean(),
  },
  {
    examples: [
      {
        min_length: 15,
        max_length: 256,
        refuses_common_passwords: true,
        refuses_login_in_password: true,
      },
    ],
  },
)
