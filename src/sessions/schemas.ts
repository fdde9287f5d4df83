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
    'account_disabled',
    'rate_limited',
    'overloaded',
  ),
}
export const logoutResponses = { 204: NoContent, ...problems(...BODY_ERRORS, 'forbidden') }

export const SessionItem = Type.Object({
  id: Type.String({ description: 'The session; the sid claim of its access tokens' }),
  created_at: Type.String({ format: 'date-time', description: 'When it was signed in' }),
  last_used_at: Type.String({ format: 'date-time', description: 'Its last sign-in or refresh' }),
  user_agent: Type.Union([Type.String(), Type.Null()], {
    description: 'The User-Agent it signed in with (at most 256 characters)',
  }),
  address: Type.Union([Type.String(), Type.Null()], {
    description: 'The address it signed in from',
  }),
  aal: Type.Enum(['aal1', 'aal2'], { description: 'aal2: signed in with a second factor' }),
  current: Type.Boolean({ description: 'The session of the access token that asks' }),
})

export const SessionList = Type.Object(
  { items: Type.Array(SessionItem) },
  {
    examples: [
      {
        items: [
          {
            id: '0196f4c2-7b1e-7c3a-9d2e-1f6a5b4c3d2e',
            created_at: '2026-11-21T23:51:28.123Z',
            last_used_at: '2026-11-22T08:02:11.456Z',
            user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0',
            address: '203.0.113.7',
            aal: 'aal2',
            current: true,
          },
        ],
      },
    ],
  },
)

export const SessionIdParams = Type.Object({ id: Type.String({ description: 'A session id' }) })
