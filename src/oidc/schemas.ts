import Type from 'typebox'

export const InteractionParams = Type.Object({ uid: Type.String({ minLength: 1, maxLength: 128 }) })

export const EmptyBody = Type.Object({}, { additionalProperties: false })

export const Redirect = Type.Object({
  redirect: Type.String({ description: 'Where the page sends the browser next' }),
})

export const InteractionDetails = Type.Object({
  prompt: Type.Union([Type.Literal('login'), Type.Literal('consent')]),
  reasons: Type.Array(Type.String()),
  fresh: Type.Boolean({
    description:
      'The application asked for a new sign-in (prompt=login or max_age): a session already open does not do',
  }),
  client: Type.Object({
    client_id: Type.String(),
    name: Type.String(),
    first_party: Type.Boolean(),
  }),
  scopes: Type.Array(Type.String()),
  login_hint: Type.Optional(Type.String()),
})

export const ConsentParams = Type.Object({
  client_id: Type.String({ minLength: 1, maxLength: 128 }),
})

export const ConsentList = Type.Object({
  consents: Type.Array(
    Type.Object({
      client_id: Type.String(),
      client_name: Type.String(),
      scopes: Type.Array(Type.String()),
      granted_at: Type.String({ format: 'date-time' }),
      updated_at: Type.String({ format: 'date-time' }),
    }),
  ),
})
