import type { Language, MailRequest } from '../outbox/mail.ts'
import type { Mail } from './transport.ts'

// The words of each message, in each language. No code ever goes in a subject (previews show
// subjects), links carry codes in the URL fragment (a link scanner's GET spends nothing: only the
// page's POST does), and there are no remote images or tracking.

interface Parts {
  subject: string
  /** Paragraphs, in order; `code` and `link` are put between them where a message has them. */
  lead: string
  after?: string
}

type Words = { [T in MailRequest['template']]: (login: string) => Parts }

const en: Words = {
  email_verification: (login) => ({
    subject: 'Confirm your email address',
    lead: `Hello ${login}, enter this code to confirm that this address is yours:`,
    after: 'If you did not ask for this, ignore this message.',
  }),
  email_changed: (login) => ({
    subject: 'Your email address was changed',
    lead: `Hello ${login}, the email address of your account was just changed from this one.`,
    after: 'If it was not you, recover your account and change your password at once.',
  }),
  recovery_code: (login) => ({
    subject: 'Reset your password',
    lead: `Hello ${login}, enter this code to set a new password:`,
    after: 'If you did not ask for this, ignore this message: your password stays as it is.',
  }),
  password_changed: (login) => ({
    subject: 'Your password was changed',
    lead: `Hello ${login}, the password of your account was just changed, and every session ended.`,
    after: 'If it was not you, recover your account at once.',
  }),
  recovery_codes_generated: (login) => ({
    subject: 'New recovery codes were created',
    lead: `Hello ${login}, a new set of saved recovery codes was created; the old ones no longer work.`,
    after: 'If it was not you, change your password at once.',
  }),
}

const ru: Words = {
  email_verification: (login) => ({
    subject: 'Подтвердите адрес почты',
    lead: `Здравствуйте, ${login}! Введите этот код, чтобы подтвердить, что адрес ваш:`,
    after: 'Если вы этого не просили, просто не отвечайте на это письмо.',
  }),
  email_changed: (login) => ({
    subject: 'Адрес почты изменён',
    lead: `Здравствуйте, ${login}! Адрес почты вашей учётной записи только что изменён с этого на другой.`,
    after: 'Если это были не вы, восстановите доступ и сразу смените пароль.',
  }),
  recovery_code: (login) => ({
    subject: 'Восстановление пароля',
    lead: `Здравствуйте, ${login}! Введите этот код, чтобы задать новый пароль:`,
    after: 'Если вы этого не просили, просто не отвечайте: ваш пароль не изменится.',
  }),
  password_changed: (login) => ({
    subject: 'Ваш пароль изменён',
    lead: `Здравствуйте, ${login}! Пароль вашей учётной записи только что изменён, все сеансы завершены.`,
    after: 'Если это были не вы, сразу восстановите доступ.',
  }),
  recovery_codes_generated: (login) => ({
    subject: 'Созданы новые коды восстановления',
    lead: `Здравствуйте, ${login}! Создан новый набор кодов восстановления; старые больше не действуют.`,
    after: 'Если это были не вы, сразу смените пароль.',
  }),
}

const WORDS: Record<Language, Words> = { en, ru }
const OPEN: Record<Language, string> = { en: 'Or open this link:', ru: 'Или откройте ссылку:' }

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  )

/** The page's link for a code: the code in the fragment, which no server ever receives. */
function linkFor(request: MailRequest, publicUrl: string): string | undefined {
  if (request.template === 'email_verification') {
    return `${publicUrl}/#/verify-email?code=${encodeURIComponent(request.code)}`
  }
  if (request.template === 'recovery_code') {
    const query = `login=${encodeURIComponent(request.login)}&code=${encodeURIComponent(request.code)}`
    return `${publicUrl}/#/recover?${query}`
  }
  return undefined
}

/** The mail for a request: subject, a text part and an HTML part. */
export function render(request: MailRequest, publicUrl: string): Mail {
  const parts = WORDS[request.language][request.template](request.login)
  const code = 'code' in request ? request.code : undefined
  const link = linkFor(request, publicUrl)
  const text = [
    parts.lead,
    ...(code ? [`    ${code}`] : []),
    ...(link ? [`${OPEN[request.language]} ${link}`] : []),
    ...(parts.after ? [parts.after] : []),
  ].join('\n\n')
  const html = [
    `<!doctype html><html lang="${request.language}"><body style="font-family:sans-serif">`,
    `<p>${escapeHtml(parts.lead)}</p>`,
    code
      ? `<p style="font-size:1.5em;letter-spacing:.2em"><strong>${escapeHtml(code)}</strong></p>`
      : '',
    link ? `<p><a href="${escapeHtml(link)}">${escapeHtml(OPEN[request.language])}</a></p>` : '',
    parts.after ? `<p>${escapeHtml(parts.after)}</p>` : '',
    '</body></html>',
  ].join('')
  return { to: request.to, subject: parts.subject, text: `${text}\n`, html }
}
