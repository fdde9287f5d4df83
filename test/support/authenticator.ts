// A software WebAuthn authenticator and client on node:crypto: what a browser and a passkey
// provider do with the service's options, with knobs to do it wrong. ES256 (ECDSA P-256) keys,
// "none" attestation (WebAuthn L3 §8.7), and a CBOR encoder just big enough for it (RFC 8949).
//
//   const authenticator = softwareAuthenticator()
//   const created = authenticator.createCredential(creationOptions, { origin })  // RegistrationResponseJSON
//   const asserted = authenticator.getAssertion(requestOptions, { origin })     // AuthenticationResponseJSON
//
// It keeps its credentials (private keys never leave it) and their signature counters. Below it,
// helpers that drive the service's passkey routes with it.
import assert from 'node:assert/strict'
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto'
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server'
import type { App } from '../../src/app.ts'
import { bearer } from './requests.ts'

type Cbor = number | string | Uint8Array | Map<number | string, Cbor>

/** CBOR (RFC 8949 §3): unsigned and negative integers, byte and text strings, maps. */
export function cbor(value: Cbor): Buffer {
  const head = (major: number, n: number): Buffer => {
    if (n < 24) return Buffer.from([(major << 5) | n])
    if (n < 0x100) return Buffer.from([(major << 5) | 24, n])
    if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff])
    const out = Buffer.alloc(5)
    out[0] = (major << 5) | 26
    out.writeUInt32BE(n, 1)
    return out
  }
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value)
  if (typeof value === 'string') {
    const text = Buffer.from(value, 'utf8')
    return Buffer.concat([head(3, text.length), text])
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value])
  const parts = [head(5, value.size)]
  for (const [key, item] of value) parts.push(cbor(key), cbor(item))
  return Buffer.concat(parts)
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest()

// Authenticator data flags (WebAuthn L3 §6.1).
const UP = 0x01
const UV = 0x04
const BE = 0x08
const BS = 0x10
const AT = 0x40

/** One credential the authenticator holds. */
export interface StoredCredential {
  /** base64url */
  id: string
  rpId: string
  /** base64url, as the options' user.id gave it */
  userHandle: string
  privateKey: KeyObject
  /** The last count it signed. */
  signCount: number
  /** 'zero': a synced passkey that always says 0; 'increment': one more per assertion. */
  counter: 'zero' | 'increment'
  backupEligible: boolean
  backupState: boolean
}

export interface CreateKnobs {
  /** clientDataJSON.origin: the page's origin (a wrong one to test refusals). */
  origin: string
  /** The RP ID whose hash goes into the authenticator data (default: the options' rp.id). */
  rpId?: string
  /** User verified (default true). */
  uv?: boolean
  /** A synced passkey (default false: device-bound). */
  backupEligible?: boolean
  /** Backed up now (default: as backupEligible). */
  backupState?: boolean
  /** 'zero' (default for backup-eligible) or 'increment' (default for device-bound). */
  counter?: 'zero' | 'increment'
  /** Another challenge than the options' (base64url). */
  challenge?: string
  /** Re-register this credential of ours (same id and key), ignoring excludeCredentials. */
  credentialId?: string
}

export interface GetKnobs {
  /** clientDataJSON.origin. */
  origin: string
  /** The RP ID whose hash goes into the authenticator data (default: the options' rpId). */
  rpId?: string
  /** User verified (default true). */
  uv?: boolean
  /** The count to sign (default: by the credential's counter mode); it is then kept. */
  signCount?: number
  /** Which credential (default: the newest of ours that the options allow for that RP). */
  credentialId?: string
  /** Another challenge than the options' (base64url). */
  challenge?: string
  /** The user handle to send: a string, or null for none (default: the credential's). */
  userHandle?: string | null
}

export interface SoftwareAuthenticator {
  /** navigator.credentials.create(): a new credential (or `knobs.credentialId` again). */
  createCredential(
    options: PublicKeyCredentialCreationOptionsJSON,
    knobs: CreateKnobs,
  ): RegistrationResponseJSON
  /** navigator.credentials.get(): an assertion by one of its credentials. */
  getAssertion(
    options: PublicKeyCredentialRequestOptionsJSON,
    knobs: GetKnobs,
  ): AuthenticationResponseJSON
  /** Its credentials, newest last. */
  credentials(): StoredCredential[]
}

function clientData(type: string, challenge: string, origin: string): Buffer {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), 'utf8')
}

function authData(rpId: string, flags: number, signCount: number, attested?: Buffer): Buffer {
  const count = Buffer.alloc(4)
  count.writeUInt32BE(signCount)
  return Buffer.concat([sha256(rpId), Buffer.from([flags]), count, attested ?? Buffer.alloc(0)])
}

/** The public key as COSE_Key (RFC 9053 §7.1.1): EC2, ES256, P-256. */
function coseKey(privateKey: KeyObject): Buffer {
  const jwk = privateKey.export({ format: 'jwk' })
  return cbor(
    new Map<number, Cbor>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x as string, 'base64url')],
      [-3, Buffer.from(jwk.y as string, 'base64url')],
    ]),
  )
}

function flagsOf(uv: boolean, credential: StoredCredential): number {
  return (
    UP | (uv ? UV : 0) | (credential.backupEligible ? BE : 0) | (credential.backupState ? BS : 0)
  )
}

/** A new authenticator with no credentials. */
export function softwareAuthenticator(): SoftwareAuthenticator {
  const held: StoredCredential[] = []

  return {
    createCredential(options, knobs) {
      const rpId = options.rp.id ?? new URL(knobs.origin).hostname
      let credential = held.find((c) => c.id === knobs.credentialId)
      if (knobs.credentialId && !credential) throw new Error(`no credential ${knobs.credentialId}`)
      if (!credential) {
        // WebAuthn L3 §6.3.2 step 3: an excluded credential on this authenticator: refuse.
        const excluded = (options.excludeCredentials ?? []).some((d) =>
          held.some((c) => c.id === d.id),
        )
        if (excluded)
          throw new Error('InvalidStateError: a credential of this authenticator is excluded')
        const backupEligible = knobs.backupEligible ?? false
        credential = {
          id: b64url(randomBytes(16)),
          rpId,
          userHandle: options.user.id,
          privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
          signCount: 0,
          counter: knobs.counter ?? (backupEligible ? 'zero' : 'increment'),
          backupEligible,
          backupState: knobs.backupState ?? backupEligible,
        }
        held.push(credential)
      }
      const id = Buffer.from(credential.id, 'base64url')
      const idLength = Buffer.alloc(2)
      idLength.writeUInt16BE(id.length)
      // Attested credential data (§6.5.2): AAGUID (zeros for "none"), id length, id, key.
      const attested = Buffer.concat([
        Buffer.alloc(16),
        idLength,
        id,
        coseKey(credential.privateKey),
      ])
      const data = authData(
        knobs.rpId ?? rpId,
        flagsOf(knobs.uv ?? true, credential) | AT,
        credential.signCount,
        attested,
      )
      const attestationObject = cbor(
        new Map<string, Cbor>([
          ['fmt', 'none'],
          ['attStmt', new Map()],
          ['authData', data],
        ]),
      )
      const client = clientData(
        'webauthn.create',
        knobs.challenge ?? options.challenge,
        knobs.origin,
      )
      const spki = createPublicKey(credential.privateKey).export({ format: 'der', type: 'spki' })
      return {
        id: credential.id,
        rawId: credential.id,
        type: 'public-key',
        response: {
          clientDataJSON: b64url(client),
          attestationObject: b64url(attestationObject),
          authenticatorData: b64url(data),
          transports: ['internal', 'hybrid'],
          publicKey: b64url(spki),
          publicKeyAlgorithm: -7,
        },
        authenticatorAttachment: 'platform',
        clientExtensionResults: { credProps: { rk: true } },
      }
    },

    getAssertion(options, knobs) {
      const rpId = options.rpId ?? new URL(knobs.origin).hostname
      const allowed = options.allowCredentials?.map((d) => d.id)
      const credential = knobs.credentialId
        ? held.find((c) => c.id === knobs.credentialId)
        : held.findLast((c) => c.rpId === rpId && (!allowed?.length || allowed.includes(c.id)))
      if (!credential) throw new Error('NotAllowedError: no credential of this authenticator fits')
      const next = knobs.signCount ?? (credential.counter === 'zero' ? 0 : credential.signCount + 1)
      credential.signCount = next
      const data = authData(knobs.rpId ?? rpId, flagsOf(knobs.uv ?? true, credential), next)
      const client = clientData('webauthn.get', knobs.challenge ?? options.challenge, knobs.origin)
      // §6.3.3 step 11: the signature over authenticatorData ‖ SHA-256(clientDataJSON), ES256 in DER.
      const signature = sign('sha256', Buffer.concat([data, sha256(client)]), credential.privateKey)
      const userHandle = knobs.userHandle === undefined ? credential.userHandle : knobs.userHandle
      return {
        id: credential.id,
        rawId: credential.id,
        type: 'public-key',
        response: {
          clientDataJSON: b64url(client),
          authenticatorData: b64url(data),
          signature: b64url(signature),
          ...(userHandle === null ? {} : { userHandle }),
        },
        authenticatorAttachment: 'platform',
        clientExtensionResults: {},
      }
    },

    credentials: () => [...held],
  }
}

// Through the API, as a browser page would.

/** The first origin the service accepts passkeys from (WEBAUTHN_ORIGINS or its default). */
export const originOf = (app: App): string => app.config.webauthn.origins[0] as string

export function passkeyOptions(app: App, token: string) {
  return app.inject({
    method: 'POST',
    url: '/user/me/factors/passkey/options',
    headers: bearer(token),
    payload: {},
  })
}

export function addPasskey(app: App, token: string, payload: unknown, headers = {}) {
  return app.inject({
    method: 'POST',
    url: '/user/me/factors/passkey',
    headers: { ...bearer(token), ...headers },
    payload: payload as Record<string, unknown>,
  })
}

/** Options, then the credential made from them, registered; fails the test unless both succeed. */
export async function enrolPasskey(
  app: App,
  token: string,
  authenticator: SoftwareAuthenticator,
  knobs: Partial<CreateKnobs> & { name?: string } = {},
): Promise<{ id: string; credentialId: string }> {
  const options = await passkeyOptions(app, token)
  assert.equal(options.statusCode, 200, options.body)
  const { name, ...rest } = knobs
  const credential = authenticator.createCredential(options.json(), {
    origin: originOf(app),
    ...rest,
  })
  const res = await addPasskey(app, token, { credential, ...(name ? { name } : {}) })
  assert.equal(res.statusCode, 201, res.body)
  return { id: res.json().id, credentialId: credential.id }
}

export function passkeyLoginOptions(app: App) {
  return app.inject({ method: 'POST', url: '/session/passkey/options', payload: {} })
}

export function passkeyLogin(app: App, credential: unknown, query = '') {
  return app.inject({
    method: 'POST',
    url: `/session/passkey${query}`,
    payload: { credential } as Record<string, unknown>,
  })
}

/** Passwordless options, then an assertion made from them (`knobs` as getAssertion's). */
export async function passwordlessAssertion(
  app: App,
  authenticator: SoftwareAuthenticator,
  knobs: Partial<GetKnobs> = {},
): Promise<AuthenticationResponseJSON> {
  const options = await passkeyLoginOptions(app)
  assert.equal(options.statusCode, 200, options.body)
  return authenticator.getAssertion(options.json(), { origin: originOf(app), ...knobs })
}

/** An access token of a new AAL2 session of `user` (as a second step would start one). */
export async function aal2Token(
  app: App,
  user: Parameters<App['sessions']['start']>[0],
): Promise<string> {
  const pair = await app.sessions.start(
    user,
    { amr: ['pwd', 'otp', 'mfa'], aal: 'aal2' },
    { userAgent: 'test', address: '127.0.0.1' },
  )
  assert.ok(pair, 'the session started')
  return pair.accessToken
}
