import Type, { type Static } from 'typebox'
import {
  AUTH_METHODS,
  DEFAULT_SCOPE,
  GRANT_TYPES,
  ID_TOKEN_ALGS,
  KEYS_MAX,
  NAME_MAX,
  SCOPES,
  URI_MAX_LENGTH,
  URIS_MAX,
} from './metadata.ts'
import type { StoredClient } from './repository.ts'

// The public face of a registered client: OIDC Dynamic Client Registration names, in and out.
// The secret appears only in the answers that make one (ClientWithSecret), never in a GET.

const Time = Type.String({ format: 'date-time' })

const Name = Type.String({
  minLength: 1,
  maxLength: NAME_MAX,
  description: `Shown on the consent screen; 1 to ${NAME_MAX} characters`,
})

const Uri = Type.String({ minLength: 1, maxLength: URI_MAX_LENGTH })
const RedirectUris = Type.Array(Uri, {
  maxItems: URIS_MAX,
  description:
    'Absolute, no fragment; https, or http only to 127.0.0.1, [::1] or localhost (RFC 8252 §7.3). Matched exactly as given.',
})
const LogoutUris = Type.Array(Uri, {
  maxItems: URIS_MAX,
  description: 'Where RP-initiated logout may return to; the rules of redirect_uris',
})

const Scope = Type.String({
  minLength: 1,
  maxLength: 200,
  description: `Space-separated, some of: ${SCOPES.join(' ')}. Default: ${DEFAULT_SCOPE}`,
})

const Alg = Type.Enum([...ID_TOKEN_ALGS], {
  description: 'How its ID tokens are signed (default EdDSA)',
})

const Jwk = Type.Object(
  { kty: Type.String() },
  { additionalProperties: true, description: 'A public JWK (RSA, EC or Ed25519)' },
)
const Jwks = Type.Object(
  { keys: Type.Array(Jwk, { minItems: 1, maxItems: KEYS_MAX }) },
  {
    additionalProperties: false,
    description:
      'The public keys of a private_key_jwt client (RFC 7517 JWK Set); private members (d, p, q, dp, dq, qi, k) are refused',
  },
)

const FirstParty = Type.Boolean({
  description: 'The team’s own app: signs users in without a consent screen',
})

export const CreateClientBody = Type.Object(
  {
    client_name: Name,
    redirect_uris: Type.Optional(RedirectUris),
    post_logout_redirect_uris: Type.Optional(LogoutUris),
    grant_types: Type.Optional(
      Type.Array(Type.Enum([...GRANT_TYPES]), {
        maxItems: GRANT_TYPES.length,
        description:
          'authorization_code and refresh_token come with redirect_uris; list client_credentials to add that grant (not for public clients). A client with only client_credentials needs no redirect URI.',
      }),
    ),
    scope: Type.Optional(Scope),
    token_endpoint_auth_method: Type.Optional(
      Type.Enum([...AUTH_METHODS], {
        description:
          'Default client_secret_basic; none for a public client (PKCE, no secret); private_key_jwt needs jwks',
      }),
    ),
    id_token_signed_response_alg: Type.Optional(Alg),
    first_party: Type.Optional(FirstParty),
    jwks: Type.Optional(Jwks),
  },
  {
    additionalProperties: false,
    examples: [
      {
        client_name: 'Team wiki',
        redirect_uris: ['https://wiki.example.com/oauth/callback'],
        scope: 'openid profile email offline_access',
        first_party: true,
      },
    ],
  },
)
export type CreateClientInput = Static<typeof CreateClientBody>

export const UpdateClientBody = Type.Object(
  {
    client_name: Type.Optional(Name),
    redirect_uris: Type.Optional(RedirectUris),
    post_logout_redirect_uris: Type.Optional(LogoutUris),
    scope: Type.Optional(Scope),
    first_party: Type.Optional(FirstParty),
    id_token_signed_response_alg: Type.Optional(Alg),
    jwks: Type.Optional(Jwks),
  },
  {
    additionalProperties: false,
    examples: [{ redirect_uris: ['https://wiki.example.com/oauth/callback'] }],
  },
)

export const ClientSchema = Type.Object({
  client_id: Type.String({ description: '16 random bytes, base64url' }),
  client_name: Type.String(),
  redirect_uris: Type.Array(Type.String()),
  post_logout_redirect_uris: Type.Array(Type.String()),
  grant_types: Type.Array(Type.Enum([...GRANT_TYPES])),
  scope: Type.String({ description: 'Space-separated' }),
  token_endpoint_auth_method: Type.Enum([...AUTH_METHODS]),
  id_token_signed_response_alg: Type.Enum([...ID_TOKEN_ALGS]),
  first_party: Type.Boolean(),
  jwks: Type.Optional(
    Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) }),
  ),
  created_at: Time,
  updated_at: Time,
})
export type ClientBody = Static<typeof ClientSchema>

const Secret = Type.String({
  description: '32 random bytes, base64url: shown in this answer only (only its SHA-256 is stored)',
})

export const CreatedClient = Type.Object(
  { ...ClientSchema.properties, client_secret: Type.Optional(Secret) },
  {
    description:
      'The client; client_secret (client_secret_basic and client_secret_post clients only) is shown this once',
  },
)

export const ClientWithSecretSchema = Type.Object(
  { ...ClientSchema.properties, client_secret: Secret },
  { description: 'The client with its new secret: the only time it is shown' },
)

export const ClientList = Type.Object({
  items: Type.Array(ClientSchema, { description: 'Every client, oldest first' }),
})

export const ClientParams = Type.Object({ client_id: Type.String() })

/** The allow-list of what leaves: never the secret or its hash. */
export function clientBody(client: StoredClient): ClientBody {
  const { metadata } = client
  return {
    client_id: client.clientId,
    client_name: client.name,
    redirect_uris: [...(metadata.redirect_uris ?? [])],
    post_logout_redirect_uris: [...(metadata.post_logout_redirect_uris ?? [])],
    grant_types: [...(metadata.grant_types ?? [])] as ClientBody['grant_types'],
    scope: metadata.scope ?? '',
    token_endpoint_auth_method:
      metadata.token_endpoint_auth_method as ClientBody['token_endpoint_auth_method'],
    id_token_signed_response_alg:
      metadata.id_token_signed_response_alg as ClientBody['id_token_signed_response_alg'],
    first_party: client.firstParty,
    ...(metadata.jwks ? { jwks: metadata.jwks as unknown as ClientBody['jwks'] } : {}),
    created_at: client.createdAt.toISOString(),
    updated_at: client.updatedAt.toISOString(),
  }
}
