import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { v7 as uuidv7 } from 'uuid'
import { type AccessClaims, issuedAtMs } from '../../src/tokens/access.ts'

const claims = (iat: number, jti: string): AccessClaims => ({
  sub: randomUUID(),
  role: 'user',
  iat,
  exp: iat + 900,
  jti,
  sid: randomUUID(),
  amr: ['pwd'],
  aal: 'aal1',
})

test('issuedAtMs: the UUIDv7 jti gives the milliseconds; anything else the end of the iat second', () => {
  const at = Date.parse('2031-05-06T07:08:09.345Z')
  const iat = Math.floor(at / 1000)
  assert.equal(issuedAtMs(claims(iat, uuidv7({ msecs: at }))), at)
  // A jti without a time (an older token), or one that disagrees with iat, is not trusted: such
  // a token counts as issued at the end of its second, as before jti carried the time.
  assert.equal(issuedAtMs(claims(iat, randomUUID())), iat * 1000 + 999)
  assert.equal(issuedAtMs(claims(iat, uuidv7({ msecs: at + 1000 }))), iat * 1000 + 999)
  assert.equal(issuedAtMs(claims(iat, uuidv7({ msecs: at - 1000 }))), iat * 1000 + 999)
  assert.equal(issuedAtMs(claims(iat, 'not a uuid at all, but long')), iat * 1000 + 999)
})
