export const FACTOR_TYPES = ['totp', 'passkey'] as const
export type FactorType = (typeof FACTOR_TYPES)[number]

/** A second factor as the service works with it; its secret parts stay in the repository rows. */
export interface Factor {
  id: string
  userId: string
  type: FactorType
  name: string
  createdAt: Date
  /** Null while pending: a TOTP secret whose first code has not come back yet. */
  confirmedAt: Date | null
  lastUsedAt: Date | null
}

/** A TOTP factor with what verifying a code needs. */
export interface TotpFactor extends Factor {
  type: 'totp'
  /** As stored: sealed under SIGNING_KEY_SECRET when that is set. */
  secret: string
  /** The last time step a code was accepted for, or null. */
  lastStep: number | null
}

/** A passkey with what verifying an assertion needs (WebAuthn L3 §6.1, credential record). */
export interface PasskeyFactor extends Factor {
  type: 'passkey'
  /** base64url */
  credentialId: string
  /** COSE public key, base64url */
  publicKey: string
  signCount: number
  transports: string[]
  backupEligible: boolean
  backupState: boolean
}
