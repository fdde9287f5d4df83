import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { mailRequest, render } from '../../src/mail/render.ts'
import { WORDS } from '../../src/mail/words.ts'
import { LANGUAGES, type MailRequest, type MailTemplate } from '../../src/outbox/mail.ts'
import { codeIn } from '../support/mail.ts'

const PUBLIC_URL = 'https://accounts.example.com'
const CODE = '04711236'
const TEMPLATES = Object.keys(WORDS.en.messages) as MailTemplate[]
const WITH_CODE = new Set<MailTemplate>(['email_verification', 'recovery_code'])

function request(template: MailTemplate, language: 'en' | 'ru'): MailRequest {
  const base = { to: 'alice@example.com', language, login: 'alice' }
  return (
    WITH_CODE.has(template) ? { ...base, template, code: CODE } : { ...base, template }
  ) as MailRequest
}

const ENTITIES: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#39;': "'",
}
const words = (text: string) => text.replace(/\s+/g, ' ').trim()

/** What a reader sees of the HTML: no head, no hidden preview line, no tags. */
function visible(html: string): string {
  return words(
    html
      .replace(/<head>[\s\S]*<\/head>/, '')
      .replace(/<div aria-hidden="true"[^>]*>[\s\S]*?<\/div>/, '')
      .replace(/<[^>]+>/g, ' ')
      .replace(/&(amp|lt|gt|quot|#39);/g, (entity) => ENTITIES[entity] ?? entity),
  )
}

/** The hidden preview line, its invisible padding removed. */
function preview(html: string): string {
  const line = /<div aria-hidden="true"[^>]*>([\s\S]*?)<\/div>/.exec(html)?.[1] ?? ''
  return words(line.replace(/&#\d+;/g, ''))
}

const links = (text: string) => text.match(/https?:\/\/[^\s"<]+/g) ?? []

describe('mail templates', () => {
  test('every template exists in every language, with its own words', () => {
    assert.deepEqual(TEMPLATES.sort(), [
      'email_changed',
      'email_verification',
      'factor_added',
      'factor_removed',
      'factors_reset',
      'password_changed',
      'recovery_code',
      'recovery_code_login',
      'recovery_codes_generated',
    ])
    for (const template of TEMPLATES) {
      const [en, ru] = LANGUAGES.map((language) => render(request(template, language), PUBLIC_URL))
      assert.ok(en && ru)
      assert.notEqual(en.subject, ru.subject, template)
      assert.doesNotMatch(en.text, /[а-яё]/i, `${template} en`)
      assert.match(ru.text, /[а-яё]/i, `${template} ru`)
    }
  })

  for (const language of LANGUAGES) {
    for (const template of TEMPLATES) {
      test(`${template} (${language}): a text and an HTML part saying the same, nothing remote, no code in the subject`, () => {
        const mail = render(request(template, language), PUBLIC_URL)
        assert.equal(mail.to, 'alice@example.com')
        assert.ok(mail.subject.length > 0)
        assert.ok(!mail.subject.includes(CODE), mail.subject)
        assert.match(mail.html, new RegExp(`^<!doctype html>\\n<html lang="${language}"`))
        assert.match(mail.html, /<meta charset="utf-8">/)
        // The same words in both parts, greeting and footer included.
        assert.equal(visible(mail.html), words(mail.text))
        assert.match(mail.text, /alice/)
        // Nothing a mail client would fetch, nothing that reports back.
        assert.doesNotMatch(
          mail.html,
          /<(img|link|script|iframe|object|style)\b|\bsrc=|url\(|@import/i,
        )
        for (const href of mail.html.match(/href="[^"]*"/g) ?? []) {
          assert.ok(href.startsWith(`href="${PUBLIC_URL}/#/`), href)
        }
        // The preview line is the opening words, and never the code.
        assert.equal(preview(mail.html), words(mail.text).slice(0, preview(mail.html).length))
        assert.ok(preview(mail.html).length > 10)
        assert.ok(!preview(mail.html).includes(CODE))

        if (!WITH_CODE.has(template)) {
          assert.ok(!mail.text.includes(PUBLIC_URL) && !mail.html.includes(PUBLIC_URL))
          return
        }
        assert.equal(codeIn({ ...mail, raw: '' }), CODE)
        assert.ok(mail.html.includes(`>${CODE}</p>`))
        // The one link in each part points at the page, with the code only in the fragment.
        const found = [...links(mail.text), ...links(mail.html.replace(/&amp;/g, '&'))]
        assert.equal(new Set(found).size, 1, found.join('\n'))
        const url = new URL(found[0] as string)
        assert.equal(`${url.origin}${url.pathname}`, `${PUBLIC_URL}/`)
        assert.equal(url.search, '')
        assert.ok(url.hash.includes(`code=${CODE}`), url.hash)
        assert.ok(!`${url.origin}${url.pathname}${url.search}`.includes(CODE))
      })
    }
  }

  test('what a login holds is text in the HTML, never markup', () => {
    const mail = render({ ...request('password_changed', 'en'), login: '<b>x</b>&' }, PUBLIC_URL)
    assert.ok(mail.html.includes('Hello &lt;b&gt;x&lt;/b&gt;&amp;,'))
    assert.ok(!mail.html.includes('<b>x</b>'))
  })

  test('a payload that is not a mail request is refused before anything is rendered', () => {
    const good = request('recovery_code', 'ru')
    assert.deepEqual(mailRequest(JSON.parse(JSON.stringify(good))), good)
    for (const bad of [
      null,
      'mail',
      { ...good, template: 'welcome' },
      { ...good, template: 'toString' },
      { ...good, language: 'de' },
      { ...good, to: 'nobody' },
      { ...good, code: undefined },
      { ...good, login: 7 },
    ]) {
      assert.throws(() => mailRequest(bad), /not a mail request/, JSON.stringify(bad))
    }
  })
})
