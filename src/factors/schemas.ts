import Type, { type Static } from 'typebox'
import { Password } from '../passwords/schemas.ts'
import { Uuid } from '../schemas.ts'
import { RECOVERY_CODE_COUNT } from './recovery-codes.ts'
import { FACTOR_TYPES, type Factor } from './types.ts'

export const NewRecoveryCodesBody = Type.Object(
  { password: Password },
  { additionalProperties: false, description: 'The current password, as confirmation' },
)

const CreatedAt = Type.String({ format: 'date-time' })

export const NewRecoveryCodes = Type.Object(
  {
    codes: Type.Array(
      Type.String({ pattern: '^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$' }),
      {
        minItems: RECOVERY_CODE_COUNT,
        maxItems: RECOVERY_CODE_COUNT,
        description:
          'Shown this once: each works once, in any case, with or without the dashes. Any earlier set no longer works.',
      },
    ),
    created_at: CreatedAt,
  },
  {
    examples: [
      {
        codes: [
          '7KQ2-M4XD-9RVA-0TNE-HB3W',
          'P1CZ-8F6G-W2YN-KD4S-3MRQ',
          '0VHT-J9BX-5QEA-N7KC-YG2D',
          'RS4M-2WZF-H8TP-6CNV-XA1K',
          'D3YB-KQ7E-M0WG-J5RZ-4TFH',
          'G9NA-6XCS-1PVD-RM3Y-8KBW',
          'T2FJ-Q5MH-Z7KX-B0NE-C4VS',
          'W8RK-3DGY-A6TQ-V1HZ-N9PM',
          'M5XC-0BJW-K2SF-E7GD-Q3TY',
          'A4VE-9NRH-D8MB-Y6QX-J1CZ',
        ],
        created_at: '2026-11-21T23:51:28.123Z',
      },
    ],
  },
)

export const RecoveryCodesStatus = Type.Object(
  {
    remaining: Type.Integer({ minimum: 0, description: 'Codes of the current set not yet used' }),
    created_at: Type.Union([CreatedAt, Type.Null()], {
      description: 'When the current set was made; null when there is none',
    }),
  },
  { examples: [{ remaining: 9, created_at: '2026-11-21T23:51:28.123Z' }] },
)

// Second factors: the list, removal, TOTP enrolment.

const EXAMPLE_FACTOR = {
  id: '0196f4c2-7b1e-7c3a-9d2e-1f6a5b4c3d2f',
  type: 'totp',
  name: 'Authenticator app',
  created_at: '2026-11-21T23:51:28.123Z',
  last_used_at: '2026-11-22T08:02:11.456Z',
}

export const FactorSchema = Type.Object(
  {
    id: Uuid,
    type: Type.Enum([...FACTOR_TYPES]),
    name: Type.String(),
    created_at: CreatedAt,
    last_used_at: Type.Union([CreatedAt, Type.Null()], {
      description: 'When it last proved a sign-in (or was confirmed); null when never',
    }),
  },
  { examples: [EXAMPLE_FACTOR] },
)

export function factorBody(factor: Factor): Static<typeof FactorSchema> {
  return {
    id: factor.id,
    type: factor.type,
    name: factor.name,
    created_at: factor.createdAt.toISOString(),
    last_used_at: factor.lastUsedAt?.toISOString() ?? null,
  }
}

export const FactorList = Type.Object(
  {
    items: Type.Array(FactorSchema, { description: 'Active factors, oldest first' }),
    recovery_codes_remaining: Type.Integer({
      minimum: 0,
      description: 'Saved recovery codes not yet used',
    }),
  },
  { examples: [{ items: [EXAMPLE_FACTOR], recovery_codes_remaining: 9 }] },
)

export const FactorIdParams = Type.Object({
  id: Type.String({ description: 'A factor id (UUID)' }),
})

export const RemoveFactorBody = Type.Object(
  { password: Password },
  { additionalProperties: false, description: 'The current password, as confirmation' },
)

// The real rules (1 to 64 characters once trimmed, no control characters) are factorName's.
const FactorName = Type.String({
  maxLength: 1024,
  description: '1 to 64 characters once trimmed, no control characters',
})

export const TotpEnrolBody = Type.Object(
  { password: Password, name: Type.Optional(FactorName) },
  {
    additionalProperties: false,
    description: 'The current password, as confirmation; a name (default "Authenticator app")',
    examples: [{ password: 'correct horse battery staple', name: 'Phone' }],
  },
)

export const TotpEnrolment = Type.Object(
  {
    id: Uuid,
    secret: Type.String({
      pattern: '^[A-Z2-7]+$',
      description: 'Shown this once: the key in base32 (RFC 4648, no padding), 160 bits',
    }),
    otpauth_uri: Type.String({
      description: 'The same key as an otpauth:// URI, for a QR code; pending until confirmed',
    }),
  },
  {
    examples: [
      {
        id: '0196f4c2-7b1e-7c3a-9d2e-1f6a5b4c3d2f',
        secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
        otpauth_uri:
          'otpauth://totp/usersvc:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=usersvc&algorithm=SHA1&digits=6&period=30',
      },
    ],
  },
)

export const TotpConfirmBody = Type.Object(
  {
    // Room for spaces as typed; anything but 6 digits is 400 invalid_code.
    code: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'The 6 digits the app shows now',
    }),
  },
  { additionalProperties: false, examples: [{ code: '492039' }] },
)
