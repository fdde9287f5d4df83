// "A real client" (issue 15): openid-client runs discovery, then the authorization code flow with
// PKCE, state and nonce, while Debian's Chromium signs in on the real usersvc page — the password
// then an authenticator app's code, or a passkey of Chromium's virtual authenticator. The
// applications' callbacks are on other origins (blank pages of 127.0.0.1 ports): the test reads
// the address the browser landed on and hands it to openid-client, as an app's callback would.
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, type TestContext, test } from 'node:test'
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose'
import * as oidc from 'openid-client'
import type { Page } from 'playwright-core'
import { inTab, useBrowser } from '../support/browser.ts'
import { eventually } from '../support/eventually.ts'
import { authOf } from '../support/factors.ts'
import { dialects } from '../support/harness.ts'
import {
  type Authorization,
  addClient,
  authorization,
  type Provider,
  relyingParty,
  serveProvider,
} from '../support/oidc.ts'
import {
  fillSignIn,
  heading,
  openApp,
  recordRequests,
  signInUi,
  status,
  virtualAuthenticator,
} from '../support/page.ts'
import { PASSWORD, signUp } from '../support/requests.ts'
import { activeTotp, totpCode } from '../support/totp.ts'

const browser = useBrowser()

/**
 * An application's origin: a server of 127.0.0.1 whose every page is blank (only the address the
 * browser lands on matters). Reached without DNS; not interceptable in the browser instead, since
 * Playwright does not route the redirects that lead to a callback.
 */
async function appOrigin(t: TestContext): Promise<string> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    response.end('<!doctype html><title>app</title>')
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** The address the browser landed on, once it is `uri` (a callback, or a post-logout page). */
async function landed(page: Page, uri: string): Promise<URL> {
  await page.waitForURL((url) => url.href.startsWith(`${uri}?`))
  return new URL(page.url())
}

function grant(rp: oidc.Configuration, at: URL, request: Authorization) {
  return oidc.authorizationCodeGrant(rp, at, {
    pkceCodeVerifier: request.verifier,
    expectedState: request.state,
    expectedNonce: request.nonce,
  })
}

/** The ID token checked again apart from openid-client: jose, the JWKS discovery names. */
async function verified(
  provider: Provider,
  rp: oidc.Configuration,
  tokens: { id_token?: string },
  alg: string,
) {
  const response = await provider.fetch(String(rp.serverMetadata().jwks_uri))
  const jwks = (await response.json()) as JSONWebKeySet
  const idToken = String(tokens.id_token)
  const { payload, protectedHeader } = await jwtVerify(idToken, createLocalJWKSet(jwks), {
    issuer: provider.origin,
    audience: rp.clientMetadata().client_id,
    algorithms: [alg],
  })
  assert.equal(protectedHeader.alg, alg)
  return payload
}

/** The user's usersvc sessions that have not ended. */
async function liveSessions(provider: Provider, userId: string): Promise<string[]> {
  const rows = await provider.app.store.db
    .selectFrom('sessions')
    .select('id')
    .where('user_id', '=', userId)
    .where('ended_at', 'is', null)
    .orderBy('id')
    .execute()
  return rows.map((row) => row.id)
}

/** A user with an authenticator app and a verified email; `code()` is the app's next code. */
async function aliceWithTotp(provider: Provider) {
  const alice = await signUp(provider.app, 'alice')
  const { secret } = await activeTotp(provider.app, alice.access_token)
  await provider.app.store.db
    .updateTable('users')
    .set({
      email: 'alice@example.com',
      email_key: 'alice@example.com',
      email_verified_at: provider.clock.now().toISOString(),
    })
    .where('id', '=', alice.user.id)
    .execute()
  // Each code is spent once: the step after the clock's (±1 step is accepted).
  return { alice, code: () => totpCode(secret, provider.clock.now().getTime(), 1) }
}

/** The password, then the authenticator app's code, on the sign-in form shown. */
async function signInWithCode(page: Page, code: () => string) {
  await fillSignIn(page, 'alice', PASSWORD)
  const field = page.getByLabel('Code from your authenticator app', { exact: true })
  await field.fill(code())
  await page.getByRole('button', { name: 'Confirm' }).click()
}

const rejectedAs = (code: string) => (error: unknown) => {
  assert.equal((error as { error?: string }).error, code)
  return true
}

for (const dialect of dialects()) {
  describe(`a real client through Chromium (${dialect})`, () => {
    test('password then TOTP: a verified EdDSA ID token, user info by scope, refresh rotation and reuse; then single sign-on for another origin, prompt=login asking again, and RP-initiated logout ending the session', async (t) => {
      const provider = await serveProvider(t, dialect)
      const PHOTOS = `${await appOrigin(t)}/callback`
      const PHOTOS_BYE = PHOTOS.replace('/callback', '/bye')
      const MAIL = `${await appOrigin(t)}/callback`
      const { alice, code } = await aliceWithTotp(provider)
      const userId = alice.user.id
      const apiSession = authOf(alice.access_token).sid
      const photos = await addClient(provider, {
        name: 'Photos',
        redirectUris: [PHOTOS],
        postLogoutRedirectUris: [PHOTOS_BYE],
      })
      const mail = await addClient(provider, {
        name: 'Mail',
        redirectUris: [MAIL],
        firstParty: true,
      })
      const rpPhotos = await relyingParty(provider, photos.clientId, photos.clientSecret)
      const rpMail = await relyingParty(provider, mail.clientId, mail.clientSecret)

      await inTab(browser(), provider, async (tab) => {
        const { page } = tab
        // (a) Photos (third-party) asks for everything, offline_access with prompt=consent.
        const request = await authorization(rpPhotos, PHOTOS, {
          scope: 'openid profile email offline_access',
          prompt: 'consent',
        })
        await page.goto(request.url.href)
        await heading(page, 'Sign in to continue to Photos').waitFor()
        await signInWithCode(page, code)
        await heading(page, 'Allow Photos to use your account?').waitFor()
        await page.getByRole('button', { name: 'Allow' }).click()
        const back = await landed(page, PHOTOS)
        assert.equal(back.searchParams.get('state'), request.state)

        const tokens = await grant(rpPhotos, back, request)
        assert.equal(decodeProtectedHeader(String(tokens.id_token)).alg, 'EdDSA')
        const claims = await verified(provider, rpPhotos, tokens, 'EdDSA')
        assert.deepEqual(tokens.claims(), claims, 'openid-client read the same verified token')
        assert.equal(claims.iss, provider.origin)
        assert.equal(claims.sub, userId)
        assert.equal(claims.nonce, request.nonce)
        assert.deepEqual([...(claims.amr as string[])].sort(), ['mfa', 'otp', 'pwd'])
        assert.equal(claims.acr, 'aal2')
        const authTime = Number(claims.auth_time)
        assert.ok(Math.abs(authTime * 1000 - Date.now()) < 60_000, `auth_time ${authTime} is now`)
        assert.deepEqual(await oidc.fetchUserInfo(rpPhotos, tokens.access_token, userId), {
          sub: userId,
          preferred_username: 'alice',
          email: 'alice@example.com',
          email_verified: true,
        })

        // Refresh: a new pair; the spent token again revokes the family (RFC 9700 §4.14.2).
        assert.ok(tokens.refresh_token, 'offline_access with prompt=consent: a refresh token')
        const next = await oidc.refreshTokenGrant(rpPhotos, tokens.refresh_token)
        assert.ok(next.refresh_token)
        assert.notEqual(next.refresh_token, tokens.refresh_token)
        assert.equal((await oidc.tokenIntrospection(rpPhotos, next.access_token)).active, true)
        await assert.rejects(
          oidc.refreshTokenGrant(rpPhotos, tokens.refresh_token),
          rejectedAs('invalid_grant'),
        )
        assert.equal((await oidc.tokenIntrospection(rpPhotos, next.access_token)).active, false)
        await assert.rejects(
          oidc.refreshTokenGrant(rpPhotos, next.refresh_token),
          rejectedAs('invalid_grant'),
        )

        // (c) Mail (first-party, another origin), same browser: straight back with a code, no
        // usersvc page and no sign-in on the way; it asked for openid only, and hears sub only.
        const seen = tab.requests.length
        const sso = await authorization(rpMail, MAIL)
        await page.goto(sso.url.href)
        const ssoBack = await landed(page, MAIL)
        const onTheWay = tab.requests.slice(seen).map((url) => new URL(url).pathname)
        assert.deepEqual(
          onTheWay.filter((path) => /^\/(oauth2\/interaction|session)\b/.test(path)),
          [],
          `no interaction page, no sign-in: ${onTheWay.join(' ')}`,
        )
        const ssoTokens = await grant(rpMail, ssoBack, sso)
        const ssoClaims = await verified(provider, rpMail, ssoTokens, 'EdDSA')
        assert.equal(ssoClaims.sub, userId)
        assert.equal(ssoClaims.auth_time, authTime, 'the same sign-in')
        assert.equal(ssoClaims.acr, 'aal2')
        assert.deepEqual(await oidc.fetchUserInfo(rpMail, ssoTokens.access_token, userId), {
          sub: userId,
        })
        const [browserSession] = (await liveSessions(provider, userId)).filter(
          (id) => id !== apiSession,
        )
        assert.ok(browserSession, 'the browser’s usersvc session')

        // prompt=login: the form again although a session is open, and both steps again.
        const fresh = await authorization(rpMail, MAIL, { prompt: 'login' })
        await page.goto(fresh.url.href)
        await heading(page, 'Sign in to continue to Mail').waitFor()
        await page.getByText('Mail asks you to sign in again, to be sure it is you.').waitFor()
        assert.equal(await page.getByLabel('Password', { exact: true }).isVisible(), true)
        // The first sign-in spent the next step: the app's code half a minute later.
        provider.clock.advance(30)
        await signInWithCode(page, code)
        const freshTokens = await grant(rpMail, await landed(page, MAIL), fresh)
        const freshClaims = await verified(provider, rpMail, freshTokens, 'EdDSA')
        assert.ok(Number(freshClaims.auth_time) > authTime, 'auth_time is the new sign-in')
        assert.equal(freshClaims.acr, 'aal2')

        // (d) RP-initiated logout from Photos: asked on the page, then back with its state.
        const end = oidc.buildEndSessionUrl(rpPhotos, {
          id_token_hint: String(tokens.id_token),
          post_logout_redirect_uri: PHOTOS_BYE,
          state: 'bye-state',
        })
        await page.goto(end.href)
        await heading(page, 'Sign out?').waitFor()
        await page.getByRole('button', { name: 'Sign out', exact: true }).click()
        const bye = await landed(page, PHOTOS_BYE)
        assert.equal(bye.searchParams.get('state'), 'bye-state')

        // Signed out of usersvc: the page's cookie no longer signs in, and single sign-on is over.
        await openApp(tab, '#/account')
        await heading(page, 'Sign in').waitFor()
        const silent = await authorization(rpMail, MAIL, { prompt: 'none' })
        await page.goto(silent.url.href)
        const refused = await landed(page, MAIL)
        assert.equal(refused.searchParams.get('error'), 'login_required')
        assert.equal(refused.searchParams.get('code'), null)
        // No usersvc session of this browser is left: the first sign-in's neither (the one the
        // prompt=login sign-in replaced in the cookie), only the API's own.
        assert.deepEqual(
          await liveSessions(provider, userId),
          [apiSession],
          `the browser's first session ${browserSession} ended too`,
        )
      })
    })

    test('a passkey (virtual authenticator) for an RS256 client: openid-client verifies the RS256 ID token, amr says a key, acr aal2', async (t) => {
      const provider = await serveProvider(t, dialect)
      const NOTES = `${await appOrigin(t)}/callback`
      const bob = await signUp(provider.app, 'bob')
      const notes = await addClient(provider, {
        name: 'Notes',
        redirectUris: [NOTES],
        idTokenAlg: 'RS256',
        firstParty: true,
      })
      const rp = await relyingParty(provider, notes.clientId, notes.clientSecret, {
        id_token_signed_response_alg: 'RS256',
      })

      await inTab(browser(), provider, async (tab) => {
        const { page } = tab
        const authenticator = await virtualAuthenticator(page)
        const requests = recordRequests(tab)
        // A passkey added on the security page, then signed out.
        await signInUi(tab, 'bob')
        await page.getByRole('link', { name: 'Security', exact: true }).click()
        const card = page.getByRole('region', { name: 'Passkeys', exact: true })
        await card.getByRole('button', { name: 'Add a passkey' }).click()
        await status(page, 'The passkey was added.')
        assert.equal((await authenticator.credentials()).length, 1)
        await authenticator.presence(false)
        await page.getByRole('link', { name: 'Your account', exact: true }).click()
        await page.getByRole('button', { name: 'Log out', exact: true }).click()
        await heading(page, 'Sign in').waitFor()

        const request = await authorization(rp, NOTES, { scope: 'openid profile' })
        const asked = requests.count('POST', '/session/passkey/options')
        await page.goto(request.url.href)
        await heading(page, 'Sign in to continue to Notes').waitFor()
        // The autofill's request waits (no touch yet); the button's takes its place.
        await eventually(() => requests.count('POST', '/session/passkey/options'), {
          what: 'the autofill asking for options',
          until: (n) => n === asked + 1,
        })
        await authenticator.presence(true)
        await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
        const back = await landed(page, NOTES)
        assert.equal(requests.count('POST', '/session/passkey'), 1)
        assert.equal(
          requests.count('POST', '/session/'),
          1,
          'the password only on the account page',
        )

        const tokens = await grant(rp, back, request)
        assert.equal(decodeProtectedHeader(String(tokens.id_token)).alg, 'RS256')
        const claims = await verified(provider, rp, tokens, 'RS256')
        assert.deepEqual(tokens.claims(), claims)
        assert.equal(claims.nonce, request.nonce)
        const amr = claims.amr as string[]
        assert.ok(amr.includes('hwk') || amr.includes('swk'), `a key: ${amr}`)
        assert.ok(amr.includes('mfa'), `a multi-factor key: ${amr}`)
        assert.ok(!amr.includes('pwd'), `no password: ${amr}`)
        assert.equal(claims.acr, 'aal2')
        assert.equal(typeof claims.auth_time, 'number')
        assert.equal(claims.sub, bob.user.id)
        assert.deepEqual(await oidc.fetchUserInfo(rp, tokens.access_token, bob.user.id), {
          sub: bob.user.id,
          preferred_username: 'bob',
        })
      })
    })
  })
}
