// What an attacker of Bearer tokens can know or make, for the property-based token tests.
import { type CryptoKey, decodeJwt, exportJWK, generateKeyPair, type JWK } from 'jose'
import type { App } from '../../../src/app.ts'
import type { TestClock } from '../harness.ts'
import { jwks, PASSWORD } from '../requests.ts'
import { sessionToken } from '../tokens.ts'
import { Accounts } from './accounts.ts'

export const b64u = (data: string | Uint8Array) => Buffer.from(data).toString('base64url')
export const json = (value: unknown) => b64u(JSON.stringify(value))

/** A compact JWS made by hand: jose would refuse to sign the odd headers tried here. */
export async function signEd25519(
  header: unknown,
  payload: unknown,
  key: CryptoKey,
): Promise<string> {
  const input = `${json(header)}.${json(payload)}`
  const signature = await crypto.subtle.sign('Ed25519', key, Buffer.from(input))
  return `${input}.${b64u(new Uint8Array(signature))}`
}

/** What an attacker can know or make: the public key set, a real token, a key of its own. */
export interface Kit {
  accounts: Accounts
  kid: string
  publicJwk: JWK
  attacker: { key: CryptoKey; jwk: JWK }
  /** Tokens that were valid once: expired, of a deleted user, from before a password change. */
  stale: string[]
}

export async function makeKit(app: App, clock: TestClock): Promise<Kit> {
  const accounts = await new Accounts(app).init()
  const published = (await jwks(app)).keys[0] as JWK
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' })
  const stale: string[] = []
  // Expired: issued 16 minutes ago (the lifetime is 15), in a live session.
  const sid = decodeJwt(accounts.alice.accessToken).sid as string
  const past = new Date(clock.now().getTime() - 16 * 60 * 1000)
  const alice = { id: accounts.alice.id, role: accounts.alice.role }
  stale.push(await app.accessTokens.issue(alice, { sid, amr: ['pwd'], aal: 'aal1' }, past))
  // Its user is gone.
  const ghost = await app.users.register('ghost1', PASSWORD, 'user')
  stale.push(await sessionToken(app, ghost))
  await app.credentials.deleteSelf(ghost, PASSWORD, '127.0.0.1')
  // Issued before a password change.
  const bob = await app.users.register('bob1', PASSWORD, 'user')
  stale.push(await sessionToken(app, bob))
  clock.advance(2)
  await app.credentials.changePassword(
    bob,
    PASSWORD,
    'an entirely different passphrase',
    '127.0.0.1',
  )
  return {
    accounts,
    kid: published.kid as string,
    publicJwk: published,
    attacker: { key: privateKey as CryptoKey, jwk: await exportJWK(publicKey) },
    stale,
  }
}
