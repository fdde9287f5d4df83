// Every error the API can give has plain words in every language of the pages: checked against
// the service's own catalogue, password policy and login rules (no browser needed).
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { catalogue, FIELD_CODES } from '../../src/errors.ts'
import {
  EVENT_TYPES,
  LOGIN_FAILURE_REASONS,
  PASSWORD_CHANGE_METHODS,
  SESSION_END_REASONS,
} from '../../src/events/catalogue.ts'
import { createPasswordPolicy } from '../../src/passwords/policy.ts'
import { checkLogin } from '../../src/users/login-name.ts'
import { ROOT } from '../support/harness.ts'

type Message = string | Record<string, string>
type Catalogue = Record<string, Message>
interface Problems {
  fieldErrorKey(field: string, code: string): string
  problemKey(
    code: string,
    context?: { credentials?: string; codes?: string; retryAfter?: number },
  ): string
  problemField(code: string, credentialsField: string, codeField?: string): string | undefined
  waitCount(seconds: number): number
}

// The pages' modules are plain browser ES modules: imported by URL, as the browser does.
const load = async <T>(path: string): Promise<T> =>
  (await import(pathToFileURL(join(ROOT, 'web/assets', path)).href)) as T
const en = (await load<{ default: Catalogue }>('messages/en.js')).default
const ru = (await load<{ default: Catalogue }>('messages/ru.js')).default
const problems = await load<Problems>('problems.js')
const LANGUAGES = { en, ru }

// The codes of `errors[]` entries are the service's own union beside its error catalogue
// (FIELD_CODES). What the password policy and the login rules say is asked of them directly, to
// check their own words (and that each code is in the union: see below).
const policy = createPasswordPolicy(15)
const POLICY_CODES = [
  ...new Set(
    [
      policy.check('short', 'password'),
      policy.check('x'.repeat(300), 'password'),
      policy.check('passwordpassword', 'password'),
      policy.check('alice alice alice alice', 'password', 'alice'),
      policy.check('tab\there is a long password', 'password'),
    ]
      .flat()
      .map((e) => e.code),
  ),
]
const LOGIN_CODES = [
  ...new Set(
    ['ab', 'x'.repeat(70), 'a b', '.dot']
      .flatMap((login) => {
        const checked = checkLogin(login)
        return checked.ok ? [] : checked.errors
      })
      .map((e) => e.code),
  ),
]

/** The key has words in every language; returns it. */
function hasWords(key: string, what = key): string {
  for (const [language, messages] of Object.entries(LANGUAGES)) {
    assert.ok(messages[key], `${language}: ${key} (${what})`)
  }
  return key
}

function placeholders(message: Message): string[] {
  const texts = typeof message === 'string' ? [message] : Object.values(message)
  return [
    ...new Set(texts.flatMap((text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? ''))),
  ].sort()
}

test('the languages have the same keys and the same placeholders', () => {
  assert.deepEqual(Object.keys(ru).sort(), Object.keys(en).sort())
  for (const [key, message] of Object.entries(en)) {
    assert.deepEqual(placeholders(ru[key] as Message), placeholders(message), key)
    const forms = (m: Message) => (typeof m === 'string' ? 'text' : 'plural')
    assert.equal(forms(ru[key] as Message), forms(message), `${key}: both plural or both not`)
    if (typeof message !== 'string') {
      // Russian plurals need one, few, many (and other for fractions).
      assert.deepEqual(Object.keys(ru[key] as object).sort(), ['few', 'many', 'one', 'other'], key)
    }
  }
})

test('every problem code of the catalogue has its own words in every language', () => {
  for (const code of Object.keys(catalogue)) {
    const key = problems.problemKey(code, { retryAfter: 3 })
    assert.equal(key, `problem.${code}`, `${code} has a message of its own`)
    hasWords(key)
  }
  // Context: which password was wrong, and a throttle without Retry-After.
  assert.equal(
    problems.problemKey('invalid_credentials', { credentials: 'current' }),
    'problem.invalid_credentials.current',
  )
  assert.equal(
    problems.problemKey('invalid_credentials', { credentials: 'confirm' }),
    'problem.invalid_credentials.confirm',
  )
  assert.equal(problems.problemKey('rate_limited'), 'problem.rate_limited.later')
  // An hour's wait (5 codes an hour) is said in minutes.
  assert.equal(
    problems.problemKey('rate_limited', { retryAfter: 3412 }),
    'problem.rate_limited.minutes',
  )
  assert.equal(problems.waitCount(3412), 57)
  assert.equal(problems.waitCount(119), 119)
  // A saved recovery code is not "expired": it has words of its own.
  assert.equal(
    problems.problemKey('invalid_code', { codes: 'saved' }),
    'problem.invalid_code.saved',
  )
  // An authenticator app's code, and a passkey the service did not accept.
  assert.equal(problems.problemKey('invalid_code', { codes: 'otp' }), 'problem.invalid_code.otp')
  assert.equal(
    problems.problemKey('invalid_credentials', { credentials: 'passkey' }),
    'problem.invalid_credentials.passkey',
  )
  assert.equal(problems.problemKey('no_such_code'), 'problem.unknown')
  assert.equal(problems.problemKey('network'), 'problem.network')
  // What the browser refuses about passkeys (webauthn.js) has its own words too.
  for (const code of [
    'passkey_cancelled',
    'passkey_exists',
    'passkey_unsupported',
    'passkey_failed',
    'passkey_aborted',
  ]) {
    assert.equal(problems.problemKey(code), hasWords(`problem.${code}`), code)
  }
  for (const key of [
    'problem.invalid_code.otp',
    'problem.invalid_credentials.passkey',
    'problem.invalid_credentials.current',
    'problem.invalid_credentials.confirm',
    'problem.rate_limited.later',
    'problem.rate_limited.minutes',
    'problem.invalid_code.saved',
    'problem.unknown',
    'problem.network',
  ]) {
    hasWords(key)
  }
})

test('problems about one field go next to that field', () => {
  assert.equal(problems.problemField('login_taken', 'password'), 'login')
  assert.equal(problems.problemField('email_taken', 'password'), 'email')
  assert.equal(problems.problemField('invalid_credentials', 'current_password'), 'current_password')
  assert.equal(problems.problemField('invalid_code', 'password'), 'code')
  assert.equal(problems.problemField('invalid_code', 'password', 'recovery_code'), 'recovery_code')
  for (const code of ['rate_limited', 'overloaded', 'unavailable', 'internal', 'forbidden']) {
    assert.equal(problems.problemField(code, 'password'), undefined, code)
  }
})

test('every field error code has words: password and login rules their own, every code at least generic ones', () => {
  assert.deepEqual([...POLICY_CODES].sort(), [
    'common_password',
    'contains_login',
    'invalid_characters',
    'too_long',
    'too_short',
  ])
  assert.deepEqual([...LOGIN_CODES].sort(), ['invalid_format', 'too_long', 'too_short'])
  for (const field of ['password', 'new_password']) {
    for (const code of [...POLICY_CODES, 'required']) {
      const key = problems.fieldErrorKey(field, code)
      assert.equal(key, `error.password.${code}`, `${field} ${code}`)
      hasWords(key, `${field} ${code}`)
    }
  }
  for (const code of [...LOGIN_CODES, 'required']) {
    const key = problems.fieldErrorKey('login', code)
    assert.equal(key, `error.login.${code}`)
    hasWords(key, `login ${code}`)
  }
  // Every code the service can put in `errors`, on any field: at least generic words.
  for (const code of [...POLICY_CODES, ...LOGIN_CODES]) assert.ok(FIELD_CODES.includes(code), code)
  for (const code of FIELD_CODES) {
    for (const field of ['current_password', 'limit', 'email', 'code', 'recovery_code']) {
      const key = problems.fieldErrorKey(field, code)
      assert.notEqual(key, 'error.other', `${field} ${code}`)
      hasWords(key, `${field} ${code}`)
    }
  }
  // The fields of email, recovery and second factors: the likely refusals have words of their
  // own (`otp`: the code of an authenticator app, sent as `code`).
  for (const [field, codes] of Object.entries({
    otp: ['required', 'invalid_format', 'too_short', 'too_long'],
    email: ['required', 'too_long', 'invalid_format', 'invalid_characters'],
    code: ['required', 'invalid_format', 'too_short', 'too_long'],
    recovery_code: ['required', 'invalid_format', 'too_short', 'too_long'],
  })) {
    for (const code of codes) {
      const key = problems.fieldErrorKey(field, code)
      assert.equal(key, `error.${field}.${code}`)
      hasWords(key, `${field} ${code}`)
    }
  }
  const cursor = problems.fieldErrorKey('cursor', 'invalid_format')
  assert.equal(cursor, 'error.cursor.invalid_format')
  hasWords(cursor)
  const other = problems.fieldErrorKey('anything', 'a_new_code')
  assert.equal(other, 'error.other')
  hasWords(other)
})

interface EventText {
  EVENT_TYPES: readonly string[]
  eventPhrase(
    event: { type: string; data: Record<string, unknown> },
    options?: { admin?: boolean },
  ): { key: string; params: Record<string, string> }
}
const eventText = await load<EventText>('event-text.js')

test('every event the service records has words of its own in every language: each type, method and reason', () => {
  const phrase = (type: string, data: Record<string, unknown> = {}, admin = false) =>
    eventText.eventPhrase({ type, data }, { admin }).key
  assert.deepEqual(eventText.EVENT_TYPES, EVENT_TYPES, 'the page knows the service’s types')
  for (const type of EVENT_TYPES) {
    assert.notEqual(phrase(type), 'event.unknown', type)
    hasWords(phrase(type), type)
    hasWords(`eventType.${type}`, `${type} (webhooks)`)
  }
  const distinct = (keys: string[], what: string) => {
    assert.equal(new Set(keys).size, keys.length, `${what}: each its own words`)
    for (const key of keys) hasWords(key, what)
  }
  distinct(
    PASSWORD_CHANGE_METHODS.map((method) => phrase('user.password_changed', { method })),
    'password changes',
  )
  distinct(
    SESSION_END_REASONS.map((reason) => phrase('session.ended', { reason })),
    'session ends',
  )
  // Users are not told why a sign-in failed; admins are.
  for (const reason of LOGIN_FAILURE_REASONS) {
    assert.equal(phrase('login.failed', { reason }), 'event.login.failed', reason)
  }
  distinct(
    LOGIN_FAILURE_REASONS.map((reason) => phrase('login.failed', { reason }, true)),
    'failed sign-ins, for admins',
  )
  distinct(
    [
      phrase('session.created', { amr: ['pwd'], aal: 'aal1' }),
      phrase('session.created', { amr: ['pwd', 'otp', 'mfa'], aal: 'aal2' }),
      phrase('session.created', { amr: ['swk', 'mfa'], aal: 'aal2' }),
    ],
    'sign-ins: with a password, a second factor, a passkey',
  )
  for (const what of ['added', 'removed']) {
    for (const factor_type of ['totp', 'passkey']) {
      const plain = phrase(`factor.${what}`, { factor_type, name: null })
      const named = phrase(`factor.${what}`, { factor_type, name: 'Work laptop' })
      distinct([plain, named], `factor.${what} ${factor_type}`)
    }
  }
  distinct(
    [phrase('user.registered', {}), phrase('user.registered', { imported: true })],
    'registered here, moved in by an import',
  )
  assert.equal(phrase('something.new'), 'event.unknown')
  hasWords('event.unknown')
})
