import { createPrivateKey, X509Certificate as NodeX509, randomUUID, webcrypto } from 'node:crypto'
import { chmod, mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { join } from 'node:path'
// @peculiar/x509 resolves its ASN.1 parsers through tsyringe, which needs this polyfill first.
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { ipv6Groups } from '../ip.ts'

// Node's WebCrypto; the library's type is the DOM's `Crypto`, which this project does not load.
x509.cryptoProvider.set(globalThis.crypto as never)

type CryptoKey = webcrypto.CryptoKey
type CryptoKeyPair = webcrypto.CryptoKeyPair

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
const DAY = 24 * 60 * 60 * 1000
const CA_LIFETIME = 3650 * DAY
const CA_RENEW_BEFORE = 180 * DAY
// Short-lived leaves, renewed automatically long before they expire (as ACME does).
const LEAF_LIFETIME = 90 * DAY
const LEAF_RENEW_BEFORE = 30 * DAY

export const DEFAULT_SANS = ['localhost', '127.0.0.1', '::1']

export interface Issued {
  certPath: string
  keyPath: string
  cert: string
  key: string
  notAfter: Date
  renewed: boolean
}

export interface LocalCa {
  dir: string
  caPath: string
  caPem: string
  /** SHA-256 fingerprint of the CA certificate, colon-separated hex (as browsers show it). */
  fingerprint: string
  renewed: boolean
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** Atomic write; private keys readable by the owner only. */
async function writeSecure(path: string, data: string, mode: number): Promise<void> {
  const temp = `${path}.${randomUUID()}.tmp`
  await writeFile(temp, data, { mode })
  await chmod(temp, mode)
  await rename(temp, path)
}

/** PEM as tools expect it: ending with a newline, so files can be concatenated into bundles. */
function pemText(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`
}

function pemKey(der: ArrayBuffer): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
  return `-----BEGIN PRIVATE KEY-----\n${b64.trimEnd()}\n-----END PRIVATE KEY-----\n`
}

async function importKey(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')
  return webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']) as Promise<CryptoKey>
}

function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16))
  bytes[0] = (bytes[0] ?? 0) & 0x7f // positive
  return Buffer.from(bytes).toString('hex')
}

function sanNames(sans: string[]): x509.JsonGeneralName[] {
  return [...new Set(sans)].map((value) => ({ type: isIP(value) ? 'ip' : 'dns', value }))
}

/** The certificate in `pem`, or undefined when there is none or it does not parse. */
function parsed(pem: string | undefined): NodeX509 | undefined {
  try {
    return pem ? new NodeX509(pem) : undefined
  } catch {
    return undefined
  }
}

function stillGood(cert: NodeX509, now: Date, renewBefore: number): boolean {
  return new Date(cert.validTo).getTime() - now.getTime() > renewBefore
}

function keyMatches(cert: NodeX509, keyPem: string): boolean {
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem))
  } catch {
    return false
  }
}

function coversSans(cert: NodeX509, sans: string[]): boolean {
  const altNames = cert.subjectAltName ?? ''
  const present = new Set(
    altNames.split(', ').map((entry) => entry.replace(/^DNS:|^IP Address:/, '').toLowerCase()),
  )
  // Node prints IPv6 SANs in full form (0:0:0:0:0:0:0:1); compare like with like.
  return sans.every((san) => present.has(ipv6Groups(san)?.join(':') ?? san.toLowerCase()))
}

async function makeCa(now: Date): Promise<{ caPem: string; keyPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=usersvc local CA (${now.toISOString().slice(0, 10)}), O=usersvc development`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + CA_LIFETIME),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  return {
    caPem: pemText(cert.toString('pem')),
    keyPem: pemKey(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
  }
}

// A lock held by a process killed mid-renewal is taken over once it is this old (making a CA
// takes milliseconds).
const LOCK_STALE_MS = 30_000

/**
 * Runs `work` while holding the lock file `path` (created with O_EXCL), so that one process at a
 * time makes or renews the CA: two at once could leave one's key beside the other's certificate.
 */
async function withLock<T>(path: string, work: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      await (await open(path, 'wx', 0o600)).close()
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const since = await stat(path).then(
      (info) => Date.now() - info.mtimeMs,
      () => 0, // released meanwhile: try again at once
    )
    if (since > LOCK_STALE_MS) await unlink(path).catch(() => {})
    else await new Promise((resolve) => setTimeout(resolve, 20))
  }
  try {
    return await work()
  } finally {
    await unlink(path)
  }
}

/** The CA in `caPath`/`keyPath` if it can be used at `now`: present, current, a matching pair. */
async function usableCa(
  caPath: string,
  keyPath: string,
  now: Date,
): Promise<{ caPem: string; keyPem: string } | undefined> {
  const caPem = await readIfExists(caPath)
  const keyPem = await readIfExists(keyPath)
  const ca = parsed(caPem)
  if (!caPem || !keyPem || !ca) return undefined
  if (!stillGood(ca, now, CA_RENEW_BEFORE) || !keyMatches(ca, keyPem)) return undefined
  return { caPem, keyPem }
}

/**
 * The local certificate authority under `dir` (ca.crt, ca.key): created on first use, reused
 * afterwards, re-created only when it is close to expiry. For development and for the hop
 * between nginx and the service; production certificates come from TLS_CERT_FILE.
 */
export async function ensureLocalCa(
  dir: string,
  now = new Date(),
): Promise<LocalCa & { key: CryptoKey }> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const caPath = join(dir, 'ca.crt')
  const caKeyPath = join(dir, 'ca.key')
  let ca = await usableCa(caPath, caKeyPath, now)
  let renewed = false
  if (!ca) {
    // Missing, close to expiry, or a key that is not the certificate's own: made or renewed by
    // one process at a time; one that waited finds the other's CA and uses it.
    ;({ ca, renewed } = await withLock(join(dir, 'ca.lock'), async () => {
      const theirs = await usableCa(caPath, caKeyPath, now)
      if (theirs) return { ca: theirs, renewed: false }
      const made = await makeCa(now)
      await writeSecure(caKeyPath, made.keyPem, 0o600)
      await writeSecure(caPath, made.caPem, 0o644)
      return { ca: made, renewed: true }
    }))
  }
  const { caPem, keyPem } = ca
  const fingerprint = new NodeX509(caPem).fingerprint256
  return { dir, caPath, caPem, fingerprint, renewed, key: await importKey(keyPem) }
}

/**
 * A leaf certificate `<name>.crt`/`<name>.key` signed by the local CA for `sans`; re-issued when
 * missing, within 30 days of expiry, not signed by the current CA, or not covering every SAN.
 */
export async function ensureLeaf(
  ca: LocalCa & { key: CryptoKey },
  name: string,
  sans: string[],
  now = new Date(),
): Promise<Issued> {
  const certPath = join(ca.dir, `${name}.crt`)
  const keyPath = join(ca.dir, `${name}.key`)
  const existing = await readIfExists(certPath)
  const existingKey = await readIfExists(keyPath)
  const current = parsed(existing)
  if (
    existing &&
    existingKey &&
    current &&
    stillGood(current, now, LEAF_RENEW_BEFORE) &&
    keyMatches(current, existingKey) &&
    coversSans(current, sans) &&
    current.verify(new NodeX509(ca.caPem).publicKey)
  ) {
    const notAfter = new Date(current.validTo)
    return { certPath, keyPath, cert: existing, key: existingKey, notAfter, renewed: false }
  }
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair
  const issuer = new x509.X509Certificate(ca.caPem)
  const notAfter = new Date(now.getTime() + LEAF_LIFETIME)
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${sans[0] ?? 'localhost'}`,
    issuer: issuer.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter,
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.1' /* serverAuth */]),
      new x509.SubjectAlternativeNameExtension(sanNames(sans)),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer),
    ],
  })
  const certPem = pemText(cert.toString('pem'))
  const keyPem = pemKey(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))
  await writeSecure(keyPath, keyPem, 0o600)
  await writeSecure(certPath, certPem, 0o644)
  // The certificate keeps whole seconds; report what it says.
  const validTo = new Date(new NodeX509(certPem).validTo)
  return { certPath, keyPath, cert: certPem, key: keyPem, notAfter: validTo, renewed: true }
}
