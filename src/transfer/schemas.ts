import Type from 'typebox'

export const MAX_RECORDS = 1000
/** 1,000 records with room for long hashes and structured digests. */
export const IMPORT_BODY_LIMIT = 2 * 1024 * 1024

export const ImportBody = Type.Object(
  {
    users: Type.Array(
      // Each record is checked by the importer, so one bad record is reported by its index
      // instead of failing the whole request.
      Type.Unknown({
        description:
          '{login, password | password_hash, email?, email_verified?, registered_at?, role?, id?}: see "Migrating to usersvc" in the README',
      }),
      { maxItems: MAX_RECORDS },
    ),
    allow_weak: Type.Optional(
      Type.Boolean({ description: 'Accept unsalted hashes and MD5/SHA-1 digests' }),
    ),
    firebase: Type.Optional(
      Type.Object(
        {
          signer_key: Type.String({ minLength: 1, maxLength: 200, description: 'base64' }),
          salt_separator: Type.String({ maxLength: 100, description: 'base64' }),
          rounds: Type.Integer({ minimum: 1, maximum: 64 }),
          mem_cost: Type.Integer({ minimum: 1, maximum: 20 }),
        },
        {
          additionalProperties: false,
          description: "The project's hash config, for firebase-scrypt records",
        },
      ),
    ),
  },
  { additionalProperties: false },
)

export const ImportResult = Type.Object({
  imported: Type.Integer({ description: 'Users written' }),
  skipped: Type.Array(
    Type.Object({
      index: Type.Integer(),
      login: Type.String(),
      reason: Type.Union([
        Type.Literal('login_exists'),
        Type.Literal('email_exists'),
        Type.Literal('id_exists'),
      ]),
    }),
    { description: 'Records whose login, address or id exists already (nothing written)' },
  ),
  refused: Type.Array(
    Type.Object({
      index: Type.Integer(),
      reason: Type.String({
        description:
          'unknown_hash, malformed_hash, weak_hash, unsafe_cost, invalid_login, invalid_email, password_policy, duplicate_login, duplicate_email, duplicate_id, missing_password, unknown_field, invalid_field, not_an_object, firebase_params_missing, unusable_password',
      }),
      detail: Type.Optional(Type.String()),
    }),
    { description: 'Records that break a rule (nothing written for them)' },
  ),
})
