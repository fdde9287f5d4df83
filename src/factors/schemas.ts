import Type from 'typebox'
import { Password } from '../passwords/schemas.ts'
import { RECOVERY_CODE_COUNT } from './recovery-codes.ts'

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
