// An access token whose iat lies in the future (beyond the clock skew instances may have) was not
// issued when it claims: jose does not check iat by itself, the service does.
import { test } from 'node:test'
import { decodeJwt, type JWTPayload, SignJWT } from 'jose'
import { makeApp } from '../support/harness.ts'
import { signUp } from '../support/requests.ts'
import { activeSigningKey, assertTokenAccepted, assertTokenRejected } from '../support/tokens.ts'

test('a token issued 10 minutes in the future is refused; 30 seconds ahead is within the skew', async (t) => {
  const { app, clock } = await makeApp(t)
  const session = await signUp(app, 'time-traveller')
  const real = await activeSigningKey(app)
  const template = decodeJwt(session.access_token)
  clock.freeze()
  const now = Math.floor(clock.now().getTime() / 1000)
  const signed = (iat: number) =>
    new SignJWT({ ...template, iat, exp: iat + 900 } as JWTPayload)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: real.kid })
      .sign(real.key)

  // Control: the forged token, stamped now, is accepted; so are the skew's own bounds.
  await assertTokenAccepted(app, await signed(now), session.user.id, 'iat now')
  await assertTokenAccepted(app, await signed(now + 30), session.user.id, 'iat now + 30 s')
  await assertTokenAccepted(app, await signed(now + 60), session.user.id, 'iat now + 60 s')
  await assertTokenRejected(app, await signed(now + 61), 'iat now + 61 s')
  await assertTokenRejected(app, await signed(now + 600), 'iat now + 10 min')
})
