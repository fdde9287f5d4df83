// A minimal app that signs its users in with usersvc ("Sign in with usersvc"): the authorization
// code flow with PKCE through openid-client, a certified OpenID relying party. No framework.
//
//   ISSUER=https://localhost:8443 CLIENT_ID=… CLIENT_SECRET=… APP_URL=http://127.0.0.1:3000 \
//     NODE_EXTRA_CA_CERTS=data/tls/ca.crt node examples/oidc-app.ts
//
// It runs as written in test/e2e/oidc-app.test.ts, on two origins at once (single sign-on).
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import * as oidc from 'openid-client'

const {
  ISSUER = '',
  CLIENT_ID = '',
  CLIENT_SECRET = '',
  APP_URL = 'http://127.0.0.1:3000',
} = process.env
const callback = new URL('/callback', APP_URL).href
const config = await oidc.discovery(new URL(ISSUER), CLIENT_ID, CLIENT_SECRET, undefined, {
  // openid-client 6 checks an ID token's signature only when asked to.
  execute: [oidc.enableNonRepudiationChecks],
})

// Sessions in memory, keyed by an HttpOnly cookie: enough for an example.
const sessions = new Map<
  string,
  { verifier?: string; state?: string; nonce?: string; user?: string }
>()

createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', APP_URL)
  const sid = /(?:^|; )sid=([\w-]+)/.exec(req.headers.cookie ?? '')?.[1] ?? ''
  const session = sessions.get(sid) ?? {}
  try {
    if (url.pathname === '/login') {
      const verifier = oidc.randomPKCECodeVerifier()
      const state = oidc.randomState()
      const nonce = oidc.randomNonce()
      const id = randomBytes(16).toString('base64url')
      sessions.set(id, { verifier, state, nonce })
      const to = oidc.buildAuthorizationUrl(config, {
        redirect_uri: callback,
        scope: 'openid profile email',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      })
      res.writeHead(302, { location: to.href, 'set-cookie': `sid=${id}; HttpOnly; Path=/` })
      return res.end()
    }
    if (url.pathname === '/callback') {
      const tokens = await oidc.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: session.verifier,
        expectedState: session.state,
        expectedNonce: session.nonce,
      })
      const claims = tokens.claims()
      const info = await oidc.fetchUserInfo(config, tokens.access_token, String(claims?.sub))
      sessions.set(sid, { user: String(info.preferred_username) })
      res.writeHead(302, { location: '/' })
      return res.end()
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(
      session.user
        ? `<h1>Hello, ${session.user.replace(/[^\w.@-]/g, '')}</h1>`
        : '<h1>Welcome</h1><a href="/login">Sign in with usersvc</a>',
    )
  } catch (error) {
    res.writeHead(400, { 'content-type': 'text/plain' })
    res.end(`Sign-in failed: ${(error as Error).message}`)
  }
}).listen(Number(new URL(APP_URL).port), '127.0.0.1')
