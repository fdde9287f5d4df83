import { randomBytes } from 'node:crypto'
import type { Sealer } from '../tokens/sealing.ts'

// Standard Webhooks secrets: whsec_ + base64 of 32 random bytes. At rest they are sealed under
// SIGNING_KEY_SECRET like TOTP keys, so a copy of the database cannot forge deliveries.

const SEALED_TYPE = 'webhook-secret'

export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`
}

/** A JWE (compact, with dots) when sealed; a plain secret never has a dot. */
const isSealed = (stored: string) => stored.includes('.')

export function sealSecret(sealer: Sealer, webhookId: string, secret: string): Promise<string> {
  return sealer.seal(webhookId, secret, SEALED_TYPE)
}

export async function openSecret(sealer: Sealer, webhookId: string, stored: string) {
  return isSealed(stored) ? sealer.open(webhookId, stored, SEALED_TYPE) : stored
}
