import Type from 'typebox'
import { BODY_ERRORS, NoContent, problems } from '../schemas.ts'
import { UserSchema } from '../users/schemas.ts'

export const RefreshToken = Type.String({ minLength: 1, maxLength: 1024 })

export const RefreshBody = Type.Object(
  { refresh_token: Type.Optional(RefreshToken) },
  {
    additionalProperties: false,
    description: 'refresh_token is required, except with ?cookie=true, where the cookie carries it',
  },
)

export const CookieQuery = Type.Object({
  cookie: Type.Optional(
    Type.Boolean({
      description:
        'For browsers: the refresh token travels in an HttpOnly, Secure, SameSite=Strict cookie ' +
        '(path /session) instead of the JSON body; the request must carry an Origin of this service.',
    }),
  ),
})

export const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Lifetime of the access token in seconds' }),
  refresh_token: Type.Optional(Type.String({ description: 'Absent with ?cookie=true' })),
  user: UserSchema,
})

export const tokenResponses = {
  200: TokenResponse,
  ...problems(
    ...BODY_ERRORS,
    'invalid_credentials',
    'invalid_refresh_token',
    'forbidden',
    'rate_limited',
    'overloaded',
  ),
}
export const logoutResponses = { 204: NoContent, ...problems(...BODY_ERRORS, 'forbidden') }
