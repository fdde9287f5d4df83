export const ROLES = ['user', 'admin'] as const
export type Role = (typeof ROLES)[number]

/** An account as the service works with it. Never its password hash (see UserWithHash). */
export interface User {
  id: string
  /** As the user typed it at registration. */
  login: string
  /** The NFKC case-folded login (users/login-name.ts): unique, and the throttle's account key. */
  loginKey: string
  role: Role
  registeredAt: Date
  passwordChangedAt: Date
  /** As users/email-address.ts stores it (the domain IDNA-encoded), or null for none. */
  email: string | null
  /** The NFKC case-folded address: unique, and how recovery by address finds the account. */
  emailKey: string | null
  /** When a code sent to `email` came back; null until then, and again after every change. */
  emailVerifiedAt: Date | null
  /** An active second factor exists: logins take a second step, and changes need AAL2. */
  mfaEnabled: boolean
  /** When an admin disabled the account (no sign-in, no tokens), or null. */
  disabledAt: Date | null
}

/** The stored account with its hash: only the password check (authn/password.ts) reads it. */
export interface UserWithHash extends User {
  passwordHash: string
}
