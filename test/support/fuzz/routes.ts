// The routes of the service, requests as symbols (test users resolved when sent), and paths bent
// every way a client could spell them.
import fc from 'fast-check'
import type { Account, Accounts } from './accounts.ts'
import type { Req } from './send.ts'
import { nastyString } from './text.ts'

export interface Route {
  method: string
  path: string
  fields: string[]
}

export const ROUTES: Route[] = [
  { method: 'GET', path: '/health/live', fields: [] },
  { method: 'GET', path: '/health/ready', fields: [] },
  { method: 'GET', path: '/.well-known/jwks.json', fields: [] },
  { method: 'POST', path: '/user/', fields: ['login', 'password'] },
  { method: 'POST', path: '/session/', fields: ['login', 'password'] },
  { method: 'POST', path: '/session/refresh', fields: ['refresh_token'] },
  { method: 'DELETE', path: '/session/', fields: ['refresh_token'] },
  { method: 'GET', path: '/session/', fields: [] },
  { method: 'DELETE', path: '/session/{id}', fields: [] },
  { method: 'POST', path: '/session/mfa', fields: ['mfa_token', 'code'] },
  { method: 'POST', path: '/session/mfa', fields: ['mfa_token', 'recovery_code'] },
  { method: 'POST', path: '/session/mfa/passkey/options', fields: ['mfa_token'] },
  { method: 'GET', path: '/user/me/factors', fields: [] },
  { method: 'GET', path: '/user/me', fields: [] },
  { method: 'GET', path: '/user/{id}', fields: [] },
  { method: 'GET', path: '/user/', fields: [] },
  { method: 'PUT', path: '/user/me/password', fields: ['current_password', 'new_password'] },
  { method: 'DELETE', path: '/user/{id}', fields: [] },
  { method: 'PUT', path: '/user/me/email', fields: ['email', 'password'] },
  { method: 'POST', path: '/user/me/email/verify', fields: ['code'] },
  { method: 'POST', path: '/user/me/email/verification', fields: [] },
  { method: 'POST', path: '/recovery/', fields: ['login'] },
  { method: 'POST', path: '/recovery/', fields: ['email'] },
  { method: 'POST', path: '/recovery/complete', fields: ['login', 'code', 'new_password'] },
]

// Symbolic requests: test users are named, and resolved when the request is sent.

export type Who = 'alice' | 'root'

/** Text, or a reference to a test user's id, token or cursor (they change when one is re-made). */
export type Piece = string | { ref: 'id' | 'id-upper' | 'cursor'; who: Who }

export interface Auth {
  who?: Who
  /** `%s` is the token. */
  form: string
  accepted: boolean
  /** Replaces the token: garbage. */
  garbage?: string
}

export interface Sym {
  method: string
  path: Piece[]
  query: Piece[]
  auth: Auth | undefined
  contentType: string | undefined
  body: string | Buffer | undefined
  requestId: string | undefined
}

export function resolve(piece: Piece, accounts: Accounts): string {
  if (typeof piece === 'string') return piece
  const account = accounts[piece.who]
  if (piece.ref === 'id') return account.id
  if (piece.ref === 'id-upper') return account.id.toUpperCase()
  return Buffer.from(account.id).toString('base64url')
}

export function toRequest(s: Sym, accounts: Accounts): { req: Req; actor: Account | undefined } {
  const headers: Record<string, string> = {}
  let actor: Account | undefined
  if (s.auth) {
    const token = s.auth.garbage ?? accounts[s.auth.who ?? 'alice'].accessToken
    headers.authorization = s.auth.form.replace('%s', token)
    if (s.auth.accepted && s.auth.garbage === undefined && s.auth.who) actor = accounts[s.auth.who]
  }
  if (s.contentType !== undefined) headers['content-type'] = s.contentType
  if (s.requestId !== undefined) headers['x-request-id'] = s.requestId
  const path = s.path.map((p) => resolve(p, accounts)).join('')
  const query = s.query.map((p) => resolve(p, accounts)).join('')
  return {
    req: {
      method: s.method,
      url: `${path}${query}`,
      headers,
      ...(s.body === undefined ? {} : { payload: s.body }),
    },
    actor,
  }
}

/** Percent-encodes the UTF-8 of any text (lone surrogates become U+FFFD, as a browser would). */
export const pct = (text: string) =>
  [...Buffer.from(text)].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('')

export const who = fc.constantFrom<Who>('alice', 'root')

const idSegment: fc.Arbitrary<Piece> = fc.oneof(
  fc.constantFrom(
    'me',
    'ME',
    'Me',
    'me.',
    '.',
    '..',
    '%',
    '%zz',
    '%00',
    '%FF',
    '%2F',
    '%2e',
    'me%2F',
  ),
  who.map((w): Piece => ({ ref: 'id', who: w })),
  who.map((w): Piece => ({ ref: 'id-upper', who: w })),
  fc.uuid().map((u): Piece => u),
  fc.uuid().map((u): Piece => u.toUpperCase()),
  nastyString(30).map((s): Piece => pct(s)),
  fc.stringMatching(/^[A-Za-z0-9\-._~!$&'()*+,;=:@]{1,40}$/).map((s): Piece => s),
  fc.integer({ min: 8000, max: 9000 }).map((n): Piece => 'a'.repeat(n)),
)

/** The route's path, its `{id}` filled, then bent: case, slashes, dot segments, encodings. */
export const pathPieces = (route: Route): fc.Arbitrary<Piece[]> =>
  fc
    .tuple(
      idSegment,
      fc.oneof(
        { arbitrary: fc.constant('none'), weight: 10 },
        {
          arbitrary: fc.constantFrom(
            'toggle-slash',
            'double-slash',
            'upper',
            'dot',
            'dotdot',
            'prefix',
            'suffix',
            'encode-char',
            'drop-leading-slash',
            'absolute-uri',
          ),
          weight: 6,
        },
      ),
      fc.nat(),
    )
    .map(([id, bend, n]) => {
      const [head, tail] = route.path.split('{id}') as [string, string | undefined]
      let text = head
      const pieces: Piece[] = []
      if (tail !== undefined) {
        pieces.push(head, id)
        text = tail
      }
      const parts = [...pieces, text]
      const joined = () => parts.filter((p) => typeof p === 'string').join('')
      const last = parts.length - 1
      const lastText = parts[last] as string
      switch (bend) {
        case 'toggle-slash':
          parts[last] = lastText.endsWith('/') ? lastText.slice(0, -1) : `${lastText}/`
          break
        case 'double-slash':
          parts[0] = (parts[0] as string).replace('/', '//')
          break
        case 'upper':
          parts[0] = (parts[0] as string).toUpperCase()
          break
        case 'dot':
          parts[0] = `/.${parts[0] as string}`
          break
        case 'dotdot':
          parts[0] = `/x/..${parts[0] as string}`
          break
        case 'prefix':
          parts[0] = `/api${parts[0] as string}`
          break
        case 'suffix':
          parts[last] = `${lastText.replace(/\/$/, '')}/extra`
          break
        case 'encode-char': {
          const first = parts[0] as string
          const i = 1 + (n % Math.max(1, first.length - 1))
          parts[0] = `${first.slice(0, i)}${pct(first[i] ?? '')}${first.slice(i + 1)}`
          break
        }
        case 'drop-leading-slash':
          parts[0] = (parts[0] as string).slice(1)
          break
        case 'absolute-uri':
          parts[0] = `http://evil.example${parts[0] as string}`
          break
      }
      // An empty path would be a test-side error (inject refuses it), not a request.
      return joined() === '' && parts.length === 1 ? ['/'] : parts
    })
