// What a domain service asks to be mailed: which message, to whom, in which language, with which
// values. mail/ renders and sends it; domain folders never import mail/ (they record this).

export const MAIL_CHANNEL = 'mail'

export const LANGUAGES = ['en', 'ru'] as const
export type Language = (typeof LANGUAGES)[number]

export type MailRequest =
  /** A code that proves the address (registration, a change, a resend). */
  | { template: 'email_verification'; to: string; language: Language; login: string; code: string }
  /** To the old, verified address when the address changes. */
  | { template: 'email_changed'; to: string; language: Language; login: string }
  /** A code to set a new password with (NIST SP 800-63B §4.2.1.2). */
  | { template: 'recovery_code'; to: string; language: Language; login: string; code: string }
  /** After any password change that did not come from the holder's own session (§4.2.3). */
  | { template: 'password_changed'; to: string; language: Language; login: string }
  /** A new set of saved recovery codes replaced the old one. */
  | { template: 'recovery_codes_generated'; to: string; language: Language; login: string }
  /** A second factor was added, or removed (by the holder or, all at once, by an admin). */
  | { template: 'factor_added'; to: string; language: Language; login: string }
  | { template: 'factor_removed'; to: string; language: Language; login: string }
  | { template: 'factors_reset'; to: string; language: Language; login: string }
  /** A login used a saved recovery code in place of the second factor (§4.1.2.1). */
  | { template: 'recovery_code_login'; to: string; language: Language; login: string }

export type MailTemplate = MailRequest['template']

/** The first of our languages the client prefers (Accept-Language, RFC 9110 §12.5.4); else English. */
export function languageOf(acceptLanguage: string | undefined): Language {
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().toLowerCase().split(';')
      const q = Number(/q=([\d.]+)/.exec(params.join(';'))?.[1] ?? 1)
      return { primary: tag.split('-')[0] ?? '', q: Number.isFinite(q) ? q : 0, index }
    })
    .filter((entry) => entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index)
  for (const { primary } of ranked) {
    const found = LANGUAGES.find((language) => language === primary)
    if (found) return found
  }
  return 'en'
}
