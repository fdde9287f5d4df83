// TOTP codes as an authenticator app computes them (RFC 6238, HMAC-SHA-1, 6 digits, 30 s),
// written here from node:crypto alone so that tests do not check the service against itself.
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import type { App } from '../../src/app.ts'
import { userRepository } from '../../src/users/repository.ts'
import { bearer, PASSWORD } from './requests.ts'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

function base32Bytes(secret: string): Buffer {
  let bits = ''
  for (const char of secret.replace(/=+$/, '').toUpperCase()) {
    const index = ALPHABET.indexOf(char)
    if (index < 0) throw new Error(`not base32: ${char}`)
    bits += index.toString(2).padStart(5, '0')
  }
  const bytes = bits.match(/.{8}/g) ?? []
  return Buffer.from(bytes.map((byte) => Number.parseInt(byte, 2)))
}

/** The HOTP value (RFC 4226 §5.3) of `key` at `counter`, with `digits` digits. */
export function hotp(key: Buffer, counter: number, digits = 6): string {
  const message = Buffer.alloc(8)
  message.writeBigUInt64BE(BigInt(counter))
  const mac = createHmac('sha1', key).update(message).digest()
  const offset = (mac[mac.length - 1] as number) & 0x0f
  const number = mac.readUInt32BE(offset) & 0x7fffffff
  return String(number % 10 ** digits).padStart(digits, '0')
}

/** The 6-digit code of the base32 `secret` at `atMs`, `offsetSteps` steps of 30 s away. */
export function totpCode(secretBase32: string, atMs = Date.now(), offsetSteps = 0): string {
  const step = Math.floor(atMs / 1000 / 30) + offsetSteps
  return hotp(base32Bytes(secretBase32), step)
}

// Requests about factors through app.inject, and an account with an active TOTP factor.

export interface Enrolment {
  id: string
  secret: string
  otpauth_uri: string
}

export function enrolTotp(app: App, token: string, payload: Record<string, unknown> = {}) {
  return app.inject({
    method: 'POST',
    url: '/user/me/factors/totp',
    headers: bearer(token),
    payload: { password: PASSWORD, ...payload },
  })
}

export function confirmTotp(app: App, token: string, id: string, code: unknown, headers = {}) {
  return app.inject({
    method: 'POST',
    url: `/user/me/factors/totp/${id}/confirm`,
    headers: { ...bearer(token), ...headers },
    payload: { code },
  })
}

export function listFactors(app: App, token: string) {
  return app.inject({ method: 'GET', url: '/user/me/factors', headers: bearer(token) })
}

export function removeFactor(app: App, token: string, id: string, password: unknown = PASSWORD) {
  return app.inject({
    method: 'DELETE',
    url: `/user/me/factors/${id}`,
    headers: bearer(token),
    payload: { password },
  })
}

/** An access token of a new AAL2 session (password and TOTP), without the login flow. */
export async function aal2Token(app: App, userId: string): Promise<string> {
  const user = await userRepository(app.store.db).findById(userId)
  assert.ok(user, 'the user exists')
  const pair = await app.sessions.start(
    user,
    { amr: ['pwd', 'otp', 'mfa'], aal: 'aal2' },
    { userAgent: 'test', address: '127.0.0.1' },
  )
  assert.ok(pair, 'the session started')
  return pair.accessToken
}

/**
 * Enrols and confirms an authenticator app for the bearer of `token` (an account without an
 * active factor, or an AAL2 token), at the app clock's time; fails the test otherwise.
 */
export async function activeTotp(
  app: App,
  token: string,
  name?: string,
): Promise<Enrolment & { code: string }> {
  const res = await enrolTotp(app, token, name === undefined ? {} : { name })
  assert.equal(res.statusCode, 201, res.body)
  const enrolment = res.json() as Enrolment
  const code = totpCode(enrolment.secret, app.clock.now().getTime())
  const confirmed = await confirmTotp(app, token, enrolment.id, code)
  assert.equal(confirmed.statusCode, 200, confirmed.body)
  return { ...enrolment, code }
}
