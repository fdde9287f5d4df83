import Type from 'typebox'

// The shapes WebAuthn clients send (WebAuthn L3 §5.1, toJSON()), checked loosely: bounded
// sizes and the members the library reads. @simplewebauthn/server checks the rest.

// Credential ids are at most 1023 bytes (WebAuthn L3 §4): 1364 base64url characters.
const CredentialId = Type.String({ minLength: 1, maxLength: 1364, pattern: '^[A-Za-z0-9_-]+$' })
const Base64Url = (maxLength: number) =>
  Type.String({ minLength: 1, maxLength, pattern: '^[A-Za-z0-9_-]+={0,2}$' })
// Members a browser adds that the service does not read, kept small.
const Extensions = Type.Object({}, { maxProperties: 16 })
const Attachment = Type.Optional(Type.Union([Type.String({ maxLength: 32 }), Type.Null()]))
const Transports = Type.Array(Type.String({ maxLength: 32 }), { maxItems: 8 })

/** RegistrationResponseJSON: what navigator.credentials.create() gives, as JSON. */
export const RegistrationCredential = Type.Object(
  {
    id: CredentialId,
    rawId: CredentialId,
    type: Type.Literal('public-key'),
    response: Type.Object({
      clientDataJSON: Base64Url(4096),
      attestationObject: Base64Url(8192),
      transports: Type.Optional(Transports),
      authenticatorData: Type.Optional(Base64Url(8192)),
      publicKey: Type.Optional(Base64Url(2048)),
      publicKeyAlgorithm: Type.Optional(Type.Integer()),
    }),
    authenticatorAttachment: Attachment,
    clientExtensionResults: Type.Optional(Extensions),
  },
  {
    description:
      'The new credential as PublicKeyCredential.toJSON() gives it (RegistrationResponseJSON)',
  },
)

/** AuthenticationResponseJSON: what navigator.credentials.get() gives, as JSON. */
export const AssertionCredential = Type.Object(
  {
    id: CredentialId,
    rawId: CredentialId,
    type: Type.Literal('public-key'),
    response: Type.Object({
      clientDataJSON: Base64Url(4096),
      authenticatorData: Base64Url(4096),
      signature: Base64Url(2048),
      userHandle: Type.Optional(Type.Union([Type.String({ maxLength: 128 }), Type.Null()])),
    }),
    authenticatorAttachment: Attachment,
    clientExtensionResults: Type.Optional(Extensions),
  },
  {
    description:
      'The assertion as PublicKeyCredential.toJSON() gives it (AuthenticationResponseJSON)',
  },
)

// Names as a person types them (the same rules as a TOTP factor's): no control characters,
// something besides spaces; trimmed before they are kept.
export const FactorName = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[^\\p{Cc}]*[^\\p{Cc}\\s][^\\p{Cc}]*$',
  description: 'Up to 64 characters, no control characters; trimmed',
})

export const PasskeyOptionsBody = Type.Object({}, { additionalProperties: false })

export const NewPasskeyBody = Type.Object(
  {
    name: Type.Optional(FactorName),
    credential: RegistrationCredential,
  },
  {
    additionalProperties: false,
    description: 'The credential made from the options; default name "Passkey"',
  },
)

export const PasskeyLoginBody = Type.Object(
  { credential: AssertionCredential },
  { additionalProperties: false },
)

const Time = Type.String({ format: 'date-time' })

export const PasskeyFactorSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    type: Type.Literal('passkey'),
    name: Type.String(),
    created_at: Time,
    last_used_at: Type.Union([Time, Type.Null()]),
  },
  {
    examples: [
      {
        id: '019a7f4e-7c1d-7b40-9a5e-3f2d1c0b9a87',
        type: 'passkey',
        name: 'Passkey',
        created_at: '2026-11-21T23:51:28.123Z',
        last_used_at: null,
      },
    ],
  },
)

// The options objects are the WebAuthn L3 JSON types (§5.1.3, §5.1.4), for the browser's
// PublicKeyCredential.parse*OptionsFromJSON() as they are. Optional where WebAuthn says so.
const Descriptors = Type.Array(
  Type.Object({
    id: Type.String(),
    type: Type.String(),
    transports: Type.Optional(Type.Array(Type.String())),
  }),
)

export const CreationOptions = Type.Object(
  {
    challenge: Type.String(),
    rp: Type.Object({ id: Type.Optional(Type.String()), name: Type.String() }),
    user: Type.Object({ id: Type.String(), name: Type.String(), displayName: Type.String() }),
    pubKeyCredParams: Type.Array(Type.Object({ alg: Type.Integer(), type: Type.String() })),
    timeout: Type.Optional(Type.Integer()),
    attestation: Type.Optional(Type.String()),
    excludeCredentials: Type.Optional(Descriptors),
    authenticatorSelection: Type.Optional(
      Type.Object({
        residentKey: Type.Optional(Type.String()),
        requireResidentKey: Type.Optional(Type.Boolean()),
        userVerification: Type.Optional(Type.String()),
      }),
    ),
    extensions: Type.Optional(Type.Object({ credProps: Type.Optional(Type.Boolean()) })),
    hints: Type.Optional(Type.Array(Type.String())),
  },
  { description: 'PublicKeyCredentialCreationOptionsJSON (WebAuthn L3 §5.1.3)' },
)

export const RequestOptions = Type.Object(
  {
    challenge: Type.String(),
    rpId: Type.Optional(Type.String()),
    timeout: Type.Optional(Type.Integer()),
    userVerification: Type.Optional(Type.String()),
    allowCredentials: Type.Optional(Descriptors),
  },
  { description: 'PublicKeyCredentialRequestOptionsJSON (WebAuthn L3 §5.1.4)' },
)
