import Type from 'typebox'

// Bounded here only to keep absurd inputs out; the policy (≤ 256 code points after NFKC) gives
// the real answer, and the 16 KiB body limit comes first anyway.
export const Password = Type.String({ minLength: 1, maxLength: 4096 })

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
