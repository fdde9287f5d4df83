// Whole requests as symbols: any method, query string, Authorization, content type and body.
import { METHODS } from 'node:http'
import fc from 'fast-check'
import { PASSWORD } from '../requests.ts'
import { jsonContentType, otherContentType } from './bodies.ts'
import { shapedBody, tree, treeText } from './json.ts'
import {
  type Auth,
  type Piece,
  pathPieces,
  pct,
  ROUTES,
  type Route,
  type Sym,
  who,
} from './routes.ts'
import { nastyString, strongPassword, validLogin } from './text.ts'

const limitValue = fc.oneof(
  fc.integer({ min: -5, max: 200 }).map(String),
  fc.constantFrom(
    '',
    '1e1',
    '0x10',
    ' 5',
    '5.0',
    '5.5',
    'abc',
    '%00',
    '-0',
    'NaN',
    'Infinity',
    '1,2',
  ),
  fc.integer({ min: 300, max: 2000 }).map((n) => '9'.repeat(n)),
)

const cursorValue: fc.Arbitrary<Piece> = fc.oneof(
  who.map((w): Piece => ({ ref: 'cursor', who: w })),
  fc.uuid().map((u): Piece => Buffer.from(u).toString('base64url')),
  fc.uint8Array({ maxLength: 60 }).map((b): Piece => Buffer.from(b).toString('base64url')),
  nastyString(30).map((s): Piece => pct(s)),
  fc.constantFrom<Piece>('', '=', '%', '%zz', 'A'.repeat(201), 'A'.repeat(200)),
)

const queryPair: fc.Arbitrary<Piece[]> = fc.oneof(
  limitValue.map((v): Piece[] => [`limit=${v}`]),
  cursorValue.map((v): Piece[] => ['cursor=', v]),
  fc.constantFrom<Piece[]>(
    ['__proto__[x]=1'],
    ['__proto__=1'],
    ['constructor[prototype][x]=1'],
    ['constructor=1'],
    ['prototype=1'],
    ['limit'],
    ['='],
    [''],
    ['%'],
    ['%zz=1'],
    ['limit[]=1'],
    ['limit[0]=1'],
    ['a=%ED%A0%80'],
    ['a=%FF'],
  ),
  fc.tuple(nastyString(10), nastyString(10)).map(([k, v]): Piece[] => [`${pct(k)}=${pct(v)}`]),
)

const queryPieces: fc.Arbitrary<Piece[]> = fc.oneof(
  { arbitrary: fc.constant<Piece[]>([]), weight: 3 },
  {
    arbitrary: fc.array(queryPair, { minLength: 0, maxLength: 4 }).chain((pairs) =>
      fc.constantFrom('?', '??', '?&').map((lead): Piece[] => {
        const out: Piece[] = [lead]
        pairs.forEach((pair, i) => {
          if (i > 0) out.push('&')
          out.push(...pair)
        })
        return out
      }),
    ),
    weight: 3,
  },
)

/** Header text a real HTTP/1.1 parser would pass on: tab, visible ASCII, space, obs-text. */
const headerText = (maxLength: number) =>
  fc.string({
    unit: fc.oneof(
      fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
      fc.constant('\t'),
    ),
    maxLength,
  })

const ACCEPTED_FORMS = ['Bearer %s', 'bearer %s', 'BEARER %s', 'Bearer  %s', 'Bearer %s  ']
const REFUSED_FORMS = [
  'Basic %s',
  'Token %s',
  'Bearer%s',
  '%s',
  'Bearer %s extra',
  'Bearer %s,',
  'Bearer "%s"',
  'Bearer\t%s',
  'Bearer %s=x',
  'Bearer, Bearer %s',
]

export const auth: fc.Arbitrary<Auth | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 2 },
  {
    arbitrary: fc
      .tuple(who, fc.constantFrom(...ACCEPTED_FORMS))
      .map(([w, form]): Auth => ({ who: w, form, accepted: true })),
    weight: 4,
  },
  {
    arbitrary: fc
      .tuple(who, fc.constantFrom(...REFUSED_FORMS))
      .map(([w, form]): Auth => ({ who: w, form, accepted: false })),
    weight: 1,
  },
  {
    arbitrary: headerText(200).map(
      (garbage): Auth => ({ form: 'Bearer %s', accepted: false, garbage }),
    ),
    weight: 1,
  },
  {
    arbitrary: headerText(200).map((garbage): Auth => ({ form: '%s', accepted: false, garbage })),
    weight: 1,
  },
)

const bodyFor = (route: Route): fc.Arbitrary<string | Buffer | undefined> => {
  const reads = route.fields.length > 0
  return fc.oneof(
    { arbitrary: fc.constant(undefined), weight: reads ? 1 : 6 },
    { arbitrary: tree.map(treeText), weight: 2 },
    ...(reads ? [{ arbitrary: shapedBody(route.fields), weight: 3 }] : []),
    {
      arbitrary: fc
        .tuple(validLogin, strongPassword)
        .map(([login, password]) => JSON.stringify({ login, password })),
      weight: reads ? 3 : 1,
    },
    {
      arbitrary: fc
        .constantFrom('alice', 'root', 'ALICE')
        .map((login) => JSON.stringify({ login, password: PASSWORD })),
      weight: reads ? 2 : 1,
    },
    { arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)), weight: 1 },
  )
}

const anyMethod = fc.constantFrom(...METHODS)

export const sym: fc.Arbitrary<Sym> = fc.constantFrom(...ROUTES).chain((route) =>
  fc.record({
    method: fc.oneof(
      { arbitrary: fc.constant(route.method), weight: 6 },
      { arbitrary: fc.constant('HEAD'), weight: 1 },
      { arbitrary: anyMethod, weight: 2 },
    ),
    path: pathPieces(route),
    query: queryPieces,
    auth,
    contentType: fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 1 },
      { arbitrary: jsonContentType, weight: 4 },
      { arbitrary: otherContentType, weight: 1 },
    ),
    body: bodyFor(route),
    requestId: fc.option(headerText(150), { freq: 5, nil: undefined }),
  }),
)
