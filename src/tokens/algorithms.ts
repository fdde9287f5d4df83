// The algorithms signing keys are made for, and a new key of each as the store keeps it.
import {
  calculateJwkThumbprint,
  exportJWK,
  type GenerateKeyPairOptions,
  generateKeyPair,
} from 'jose'
import type { Sealer } from './sealing.ts'

/** Access tokens, and ID tokens by default. */
export const ALG = 'EdDSA'
/** ID tokens for clients that register it: OIDC Core §15.1 requires it of every provider. */
export const RS256 = 'RS256'
/** In the order a rotation gives them generations. */
export const ALGS = [ALG, RS256] as const
export type Alg = (typeof ALGS)[number]

const KEY_OPTIONS: Record<Alg, GenerateKeyPairOptions> = {
  EdDSA: { crv: 'Ed25519', extractable: true },
  RS256: { modulusLength: 2048, extractable: true },
}

/** A stored key's algorithm. */
export function algOf(row: { kid: string; alg: string }): Alg {
  if ((ALGS as readonly string[]).includes(row.alg)) return row.alg as Alg
  throw new Error(`signing key ${row.kid} has an unknown algorithm: ${row.alg}`)
}

/** What the JWKS publishes of a key: the public half only (crv and x for EdDSA, n and e for RSA). */
export interface PublicJwk {
  kty: string
  crv?: string
  x?: string
  n?: string
  e?: string
  kid: string
  alg: string
  use: string
}

/** A new key's row: its kid is the public JWK's thumbprint, its private half sealed. */
export async function newKeyRow(alg: Alg, generation: number, now: Date, sealer: Sealer) {
  const { publicKey, privateKey } = await generateKeyPair(alg, KEY_OPTIONS[alg])
  const publicJwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(publicJwk)
  const publicRecord = { ...publicJwk, kid, alg, use: 'sig' }
  return {
    kid,
    generation,
    alg,
    public_jwk: JSON.stringify(publicRecord),
    private_jwk: await sealer.seal(kid, JSON.stringify(await exportJWK(privateKey))),
    created_at: now.toISOString(),
    retired_at: null,
  }
}

export type KeyRow = Awaited<ReturnType<typeof newKeyRow>>
