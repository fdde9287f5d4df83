import { LANGUAGES, type MailRequest } from '../outbox/mail.ts'
import type { Mail } from './transport.ts'
import { WORDS } from './words.ts'

// No code ever goes in a subject (previews show subjects), and the HTML begins with a hidden
// preview line of the same opening words, so a preview stops before the code. Links carry codes
// in the URL fragment (a link scanner's GET spends nothing: only the page's POST does). The
// text and HTML parts say the same words; the HTML has inline styles only: no remote images,
// fonts or style sheets, no tracking.

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  )

/** The page's link for a code: the code in the fragment, which no server ever receives. */
export function linkFor(request: MailRequest, publicUrl: string): string | undefined {
  if (request.template === 'email_verification') {
    return `${publicUrl}/#/verify-email?code=${encodeURIComponent(request.code)}`
  }
  if (request.template === 'recovery_code') {
    const query = `login=${encodeURIComponent(request.login)}&code=${encodeURIComponent(request.code)}`
    return `${publicUrl}/#/recover?${query}`
  }
  return undefined
}

/** A payload from the outbox, checked: one that is not a mail request can never be sent. */
export function mailRequest(payload: unknown): MailRequest {
  const r = (payload ?? {}) as Record<string, unknown>
  const known =
    typeof r.to === 'string' &&
    r.to.includes('@') &&
    typeof r.login === 'string' &&
    LANGUAGES.includes(r.language as never) &&
    typeof r.template === 'string' &&
    Object.hasOwn(WORDS.en.messages, r.template) &&
    (typeof r.code === 'string' ||
      (r.template !== 'email_verification' && r.template !== 'recovery_code'))
  if (!known) throw new TypeError('not a mail request')
  return r as unknown as MailRequest
}

const FONT = "-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
const P = 'margin:0 0 16px'
// Invisible padding after the preview line: clients fill the preview with it, not with the code.
const PREVIEW_PADDING = '&#8199;&#847;'.repeat(90)

interface Body {
  greeting: string
  lead: string
  code?: string
  open?: string
  link?: string
  after: string
  footer: string
}

function html(language: string, subject: string, body: Body): string {
  const e = escapeHtml
  const paragraphs = [
    `<p style="${P}">${e(body.greeting)}</p>`,
    `<p style="${P}">${e(body.lead)}</p>`,
    body.code
      ? `<p style="${P};font-family:ui-monospace,Menlo,Consolas,monospace;font-size:28px;font-weight:bold;letter-spacing:4px">${e(body.code)}</p>`
      : '',
    body.link && body.open
      ? `<p style="${P}">${e(body.open)}<br><a href="${e(body.link)}" style="color:#1d4ed8;word-break:break-all">${e(body.link)}</a></p>`
      : '',
    `<p style="${P}">${e(body.after)}</p>`,
    `<p style="margin:24px 0 0;font-size:13px;color:#52525b">${e(body.footer)}</p>`,
  ]
  return [
    '<!doctype html>',
    `<html lang="${language}" dir="ltr"><head><meta charset="utf-8">`,
    '<meta name="viewport" content="width=device-width,initial-scale=1">',
    '<meta name="color-scheme" content="light">',
    `<title>${e(subject)}</title></head>`,
    '<body style="margin:0;padding:0;background:#f4f4f5">',
    `<div aria-hidden="true" style="display:none;max-height:0;overflow:hidden">${e(body.greeting)} ${e(body.lead)}${PREVIEW_PADDING}</div>`,
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f4f5"><tr><td align="center" style="padding:24px 12px">',
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:560px;background:#ffffff;border:1px solid #e4e4e7;border-radius:8px">',
    `<tr><td style="padding:32px;font-family:${FONT};font-size:16px;line-height:1.5;color:#18181b">`,
    ...paragraphs.filter(Boolean),
    '</td></tr></table></td></tr></table></body></html>',
    '',
  ].join('\n')
}

/** The mail for a request: subject, a text part and an HTML part, in the request's language. */
export function render(request: MailRequest, publicUrl: string): Mail {
  const words = WORDS[request.language]
  const message = words.messages[request.template]
  const link = linkFor(request, publicUrl)
  const body: Body = {
    greeting: words.greeting(request.login),
    lead: message.lead,
    ...('code' in request ? { code: request.code } : {}),
    ...(link ? { open: words.open, link } : {}),
    after: message.after,
    footer: words.footer,
  }
  const text = [
    body.greeting,
    body.lead,
    ...(body.code ? [`    ${body.code}`] : []),
    ...(body.link ? [`${body.open}\n${body.link}`] : []),
    body.after,
    body.footer,
  ].join('\n\n')
  return {
    to: request.to,
    subject: message.subject,
    text: `${text}\n`,
    html: html(request.language, message.subject, body),
  }
}
