// Saved recovery codes through the API, and the address notices go to.
import assert from 'node:assert/strict'
import type { App } from '../../src/app.ts'
import { emailKey } from '../../src/users/email-address.ts'
import { bearer, PASSWORD } from './requests.ts'

/** Ten codes as the service writes them. */
export const CODE_PATTERN = /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$/

export function newCodes(app: App, token: string, password = PASSWORD, headers = {}) {
  return app.inject({
    method: 'POST',
    url: '/user/me/recovery-codes',
    headers: { ...bearer(token), ...headers },
    payload: { password },
  })
}

/** A new set; fails the test unless it is a 201. */
export async function codesOf(app: App, token: string): Promise<string[]> {
  const res = await newCodes(app, token)
  assert.equal(res.statusCode, 201, res.body)
  return (res.json() as { codes: string[] }).codes
}

export function codeStatus(app: App, token: string) {
  return app.inject({ method: 'GET', url: '/user/me/recovery-codes', headers: bearer(token) })
}

export function recoverWithCode(
  app: App,
  login: string,
  code: string,
  newPassword: string,
  options: { address?: string; headers?: Record<string, string> } = {},
) {
  return app.inject({
    method: 'POST',
    url: '/recovery/code',
    payload: { login, recovery_code: code, new_password: newPassword },
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.address ? { remoteAddress: options.address } : {}),
  })
}

/**
 * Gives the user an email address, verified or not, straight in the store: these tests are about
 * the notices, and an address set through the API would put its verification mail in the way
 * (support/email.ts verifiedAccount does it the user's way).
 */
export async function setAddress(app: App, userId: string, email: string, verified: boolean) {
  await app.store.db
    .updateTable('users')
    .set({
      email,
      email_key: emailKey(email),
      email_verified_at: verified ? new Date().toISOString() : null,
    })
    .where('id', '=', userId)
    .execute()
}

/** The stored rows of the user's codes. */
export function codeRows(app: App, userId: string) {
  return app.store.db
    .selectFrom('recovery_codes')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('selector')
    .execute()
}
