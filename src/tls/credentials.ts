import { createPrivateKey, X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { TlsConfig } from '../config/index.ts'
import { DEFAULT_SANS, ensureLeaf, ensureLocalCa } from './local-ca.ts'

export interface TlsCredentials {
  key: string
  /** The leaf, followed by any intermediates. */
  cert: string
  notAfter: Date
  /** Set when the certificate comes from the local CA (development, or the nginx hop). */
  local?: { caPath: string; fingerprint: string }
}

/**
 * The service's key and certificate: the configured files, or else a certificate from the local
 * CA (made on first use, reused, renewed when close to expiry). Checked before use, so a key that
 * does not match its certificate stops start-up with a clear message.
 */
export async function loadTlsCredentials(
  tls: TlsConfig,
  now = new Date(),
): Promise<TlsCredentials> {
  if (tls.certFile && tls.keyFile) {
    const [cert, key, chain] = await Promise.all([
      readFile(tls.certFile, 'utf8'),
      readFile(tls.keyFile, 'utf8'),
      tls.caFile ? readFile(tls.caFile, 'utf8') : Promise.resolve(''),
    ])
    const leaf = new X509Certificate(cert)
    if (!leaf.checkPrivateKey(createPrivateKey(key))) {
      throw new Error(
        `TLS_KEY_FILE (${tls.keyFile}) is not the key of TLS_CERT_FILE (${tls.certFile})`,
      )
    }
    const fullChain = chain ? `${cert.trimEnd()}\n${chain.trimEnd()}\n` : cert
    return { key, cert: fullChain, notAfter: new Date(leaf.validTo) }
  }
  const ca = await ensureLocalCa(tls.dir, now)
  const leaf = await ensureLeaf(ca, 'server', [...DEFAULT_SANS, ...tls.sans], now)
  return {
    key: leaf.key,
    cert: leaf.cert,
    notAfter: leaf.notAfter,
    local: { caPath: ca.caPath, fingerprint: ca.fingerprint },
  }
}
