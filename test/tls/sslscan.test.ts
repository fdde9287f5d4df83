// An outside view of the TLS policy: sslscan tries every protocol and suite it knows against the
// app serving HTTPS in-process, as an auditor would.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { loadTlsCredentials } from '../../src/tls/credentials.ts'
import { CURVES, TLS12_CIPHERS, TLS13_CIPHERS } from '../../src/tls/policy.ts'
import { makeApp, tempDir } from '../support/harness.ts'

const run = promisify(execFile)

/** sslscan's output, or a failure that says how to install it (this test never skips). */
async function sslscan(args: string[]): Promise<string> {
  try {
    // Asynchronous on purpose: the server under test runs on this event loop.
    const { stdout } = await run('sslscan', args, { encoding: 'utf8', timeout: 120_000 })
    return stdout
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      assert.fail('sslscan is not installed: apt-get install sslscan (this test does not skip)')
    }
    throw error
  }
}

interface Scan {
  protocols: Map<string, string>
  /** [Accepted|Preferred, protocol, cipher] for every suite the server took. */
  ciphers: Array<[string, string, string]>
  groups: Array<[string, string]>
}

function parse(output: string): Scan {
  const protocols = new Map<string, string>()
  for (const match of output.matchAll(/^(SSLv2|SSLv3|TLSv1\.[0-3])\s+(enabled|disabled)\s*$/gm)) {
    protocols.set(match[1] as string, match[2] as string)
  }
  const ciphers: Array<[string, string, string]> = []
  for (const match of output.matchAll(/^(Accepted|Preferred)\s+(\S+)\s+\d+ bits\s+(\S+)/gm)) {
    ciphers.push([match[1] as string, match[2] as string, match[3] as string])
  }
  const groups: Array<[string, string]> = []
  const section = /Server Key Exchange Group\(s\):\n([\s\S]*?)\n\s*\n/.exec(output)?.[1] ?? ''
  for (const match of section.matchAll(/^(TLSv1\.[23])\s+\d+ bits\s+(\S+)/gm)) {
    groups.push([match[1] as string, match[2] as string])
  }
  return { protocols, ciphers, groups }
}

test('sslscan: TLS 1.2 and 1.3 only, forward-secret AEAD suites of the policy only', async (t) => {
  const creds = await loadTlsCredentials({ enabled: true, dir: await tempDir(t), sans: [] })
  const { app } = await makeApp(t, { tls: creds })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo

  const version = await sslscan(['--version'])
  assert.match(version, /\d+\.\d+/)
  const output = await sslscan(['--no-colour', `127.0.0.1:${port}`])
  const scan = parse(output)
  const show = `sslscan output:\n${output}`

  await t.test('protocols: SSLv2, SSLv3, TLS 1.0, 1.1 disabled; TLS 1.2, 1.3 enabled', () => {
    assert.deepEqual(
      Object.fromEntries(scan.protocols),
      {
        SSLv2: 'disabled',
        SSLv3: 'disabled',
        'TLSv1.0': 'disabled',
        'TLSv1.1': 'disabled',
        'TLSv1.2': 'enabled',
        'TLSv1.3': 'enabled',
      },
      show,
    )
  })

  await t.test('every accepted suite is one of TLS13_CIPHERS and TLS12_CIPHERS', () => {
    assert.ok(scan.ciphers.length > 0, `no accepted suites parsed\n${show}`)
    const allowed = new Set([...TLS13_CIPHERS, ...TLS12_CIPHERS])
    const outside = scan.ciphers.filter(([, , cipher]) => !allowed.has(cipher))
    assert.deepEqual(outside, [], show)
    for (const [, protocol, cipher] of scan.ciphers) {
      assert.ok(['TLSv1.2', 'TLSv1.3'].includes(protocol), `${cipher} over ${protocol}`)
      if (protocol === 'TLSv1.3') assert.ok(TLS13_CIPHERS.includes(cipher), cipher)
      if (protocol === 'TLSv1.2') assert.ok(TLS12_CIPHERS.includes(cipher), cipher)
    }
  })

  await t.test('no accepted suite without ephemeral key exchange (ECDHE, or TLS 1.3)', () => {
    for (const [, protocol, cipher] of scan.ciphers) {
      assert.ok(
        protocol === 'TLSv1.3' ? cipher.startsWith('TLS_') : cipher.startsWith('ECDHE-'),
        `${cipher} (${protocol}) has no forward secrecy\n${show}`,
      )
      assert.doesNotMatch(cipher, /-SHA$|CBC|RC4|3DES|NULL|EXP|MD5/, cipher)
    }
  })

  await t.test('all three TLS 1.3 suites and all three ECDSA TLS 1.2 suites are accepted', () => {
    const names = new Set(scan.ciphers.map(([, , cipher]) => cipher))
    for (const cipher of [
      ...TLS13_CIPHERS,
      ...TLS12_CIPHERS.filter((c) => c.startsWith('ECDHE-ECDSA-')),
    ]) {
      assert.ok(names.has(cipher), `${cipher} not accepted\n${show}`)
    }
  })

  await t.test('key exchange groups are the policy’s curves', () => {
    assert.ok(scan.groups.length > 0, `no groups parsed\n${show}`)
    const names: Record<string, string> = {
      x25519: 'X25519',
      secp256r1: 'prime256v1',
      secp384r1: 'secp384r1',
    }
    for (const [protocol, group] of scan.groups) {
      assert.ok(CURVES.includes(names[group] ?? group), `${protocol} ${group}\n${show}`)
    }
  })

  await t.test('no known weaknesses: fallback SCSV, no renegotiation, no heartbleed', () => {
    assert.match(output, /Server supports TLS Fallback SCSV/, show)
    assert.match(output, /Session renegotiation not supported/, show)
    assert.doesNotMatch(output, /(?<!not )vulnerable to heartbleed/, show)
  })
})
