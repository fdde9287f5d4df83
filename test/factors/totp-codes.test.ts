// TOTP itself (factors/totp.ts), without the app: RFC 6238's vectors, the window, base32, the URI.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { generateHOTP } from '@oslojs/otp'
import {
  decodeBase32,
  encodeBase32,
  matchStep,
  newTotpSecret,
  otpauthUri,
  parseTotpCode,
  timeStep,
} from '../../src/factors/totp.ts'
import { createSealer } from '../../src/tokens/sealing.ts'
import { hotp, totpCode } from '../support/totp.ts'

// RFC 6238 Appendix B, SHA-1: the ASCII key "12345678901234567890", 8 digits, T0 = 0, X = 30.
const RFC_KEY = new TextEncoder().encode('12345678901234567890')
const VECTORS: Array<[seconds: number, step: string, code: string]> = [
  [59, '0000000000000001', '94287082'],
  [1111111109, '00000000023523EC', '07081804'],
  [1111111111, '00000000023523ED', '14050471'],
  [1234567890, '000000000273EF07', '89005924'],
  [2000000000, '0000000003F940AA', '69279037'],
  [20000000000, '0000000027BC86AA', '65353130'],
]

describe('TOTP (RFC 6238)', () => {
  test('Appendix B, SHA-1: the time step and the 8-digit code at each listed time', () => {
    for (const [seconds, stepHex, code] of VECTORS) {
      const step = timeStep(seconds * 1000)
      assert.equal(step, Number.parseInt(stepHex, 16), `T at ${seconds}`)
      assert.equal(generateHOTP(RFC_KEY, BigInt(step), 8), code, `code at ${seconds}`)
      // The independent helper of the tests agrees.
      assert.equal(hotp(Buffer.from(RFC_KEY), step, 8), code, `support at ${seconds}`)
    }
  })

  test('Appendix B through matchStep: the 6-digit code (the last six digits) matches its step only', () => {
    for (const [seconds, , code] of VECTORS) {
      const six = code.slice(-6)
      const at = seconds * 1000
      assert.equal(matchStep(RFC_KEY, six, at, 0), timeStep(at), `at ${seconds}`)
      assert.equal(totpCode(encodeBase32(RFC_KEY), at), six, `support at ${seconds}`)
      // 30 s later is the next step: not the same code (none of the vectors repeat).
      assert.equal(matchStep(RFC_KEY, six, at + 60_000, 0), undefined, `a minute after ${seconds}`)
    }
  })

  test('±1 step of drift is accepted, ±2 refused; the step matched is the code’s own', () => {
    const key = newTotpSecret()
    const secret = encodeBase32(key)
    const now = Date.parse('2026-03-01T10:00:15Z')
    const step = timeStep(now)
    for (const offset of [-1, 0, 1]) {
      const code = totpCode(secret, now, offset)
      assert.equal(matchStep(key, code, now), step + offset, `offset ${offset}`)
    }
    for (const offset of [-3, -2, 2, 3]) {
      assert.equal(matchStep(key, totpCode(secret, now, offset), now), undefined, `${offset}`)
    }
    // At the edges of the step: the first and last millisecond of it see the same window.
    const first = step * 30_000
    const last = first + 29_999
    assert.equal(matchStep(key, totpCode(secret, now, 1), first), step + 1)
    assert.equal(matchStep(key, totpCode(secret, now, -1), last), step - 1)
    assert.equal(matchStep(key, totpCode(secret, now, 2), last), undefined)
  })

  test('spaces are ignored; anything that is not 6 digits is refused', () => {
    const key = newTotpSecret()
    const now = Date.parse('2026-03-01T10:00:15Z')
    const code = totpCode(encodeBase32(key), now)
    const spaced = `${code.slice(0, 3)} ${code.slice(3)}`
    assert.equal(matchStep(key, spaced, now), timeStep(now))
    assert.equal(matchStep(key, ` ${code} `, now), timeStep(now))
    for (const bad of [
      '',
      code.slice(0, 5),
      `${code}0`,
      `${code.slice(0, 5)}a`,
      `-${code.slice(1)}`,
      `${code.slice(0, 3)}-${code.slice(3)}`,
      `${code.slice(0, 5)}\u0661`, // ARABIC-INDIC DIGIT ONE: a digit, not an ASCII one
      `\t${code}`,
    ]) {
      assert.equal(parseTotpCode(bad), undefined, JSON.stringify(bad))
      assert.equal(matchStep(key, bad, now), undefined, JSON.stringify(bad))
    }
  })

  test('a new secret has 160 random bits; base32 round-trips, unpadded, in either case', () => {
    const a = newTotpSecret()
    const b = newTotpSecret()
    assert.equal(a.length, 20)
    assert.notDeepEqual(a, b)
    const text = encodeBase32(a)
    assert.match(text, /^[A-Z2-7]{32}$/)
    assert.deepEqual(decodeBase32(text), a)
    assert.deepEqual(decodeBase32(text.toLowerCase()), a)
    // RFC 4648 §10 test vectors (padding removed).
    const vectors: Array<[string, string]> = [
      ['', ''],
      ['f', 'MY'],
      ['fo', 'MZXQ'],
      ['foo', 'MZXW6'],
      ['foob', 'MZXW6YQ'],
      ['fooba', 'MZXW6YTB'],
      ['foobar', 'MZXW6YTBOI'],
    ]
    for (const [plain, encoded] of vectors) {
      const bytes = new TextEncoder().encode(plain)
      assert.equal(encodeBase32(bytes), encoded, plain)
      assert.deepEqual(decodeBase32(encoded), bytes, encoded)
    }
    for (const bad of ['MZXW6YTBO', 'M', 'MZ1', 'MZ=W', 'MZXW6YTBOI==']) {
      assert.equal(decodeBase32(bad), undefined, bad)
    }
  })

  test('the otpauth URI: issuer and login percent-encoded in the label and the issuer parameter', () => {
    assert.equal(
      otpauthUri('usersvc', 'alice', 'JBSWY3DPEHPK3PXP'),
      'otpauth://totp/usersvc:alice?secret=JBSWY3DPEHPK3PXP&issuer=usersvc&algorithm=SHA1&digits=6&period=30',
    )
    assert.equal(
      otpauthUri('Example Co:1', 'bob@example.com', 'JBSWY3DPEHPK3PXP'),
      'otpauth://totp/Example%20Co%3A1:bob%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Example%20Co%3A1&algorithm=SHA1&digits=6&period=30',
    )
    assert.equal(
      otpauthUri('usersvc', 'Ωmega&x=1', 'AB'),
      'otpauth://totp/usersvc:%CE%A9mega%26x%3D1?secret=AB&issuer=usersvc&algorithm=SHA1&digits=6&period=30',
    )
  })
})

describe('sealing other secrets than keys', () => {
  const SECRET = 'a secret of at least thirty-two characters'

  test('a secret sealed with a content type opens only as that type and for that row', async () => {
    const sealer = createSealer([SECRET])
    const sealed = await sealer.seal('row-1', 'JBSWY3DPEHPK3PXP', 'totp+base32')
    assert.equal(sealed.split('.').length, 5)
    assert.ok(!sealed.includes('JBSWY3DPEHPK3PXP'))
    assert.equal(await sealer.open('row-1', sealed, 'totp+base32'), 'JBSWY3DPEHPK3PXP')
    await assert.rejects(sealer.open('row-2', sealed, 'totp+base32'), /does not open/)
    // Not as a signing key (the default type), nor the other way round.
    await assert.rejects(sealer.open('row-1', sealed), /signing key row-1: .* does not open/)
    const key = await sealer.seal('row-1', '{"kty":"OKP"}')
    await assert.rejects(sealer.open('row-1', key, 'totp+base32'), /does not open/)
    // A secret of another type is never taken as plain: it must open.
    await assert.rejects(sealer.open('row-1', 'JBSWY3DPEHPK3PXP', 'totp+base32'), /damaged/)
  })
})
