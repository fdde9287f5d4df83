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
}

/** The stored account with its hash: only the password check (authn/password.ts) reads it. */
export interface UserWithHash extends User {
  passwordHash: string
}
