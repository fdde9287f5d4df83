import type { Language, MailTemplate } from '../outbox/mail.ts'

/** One message in one language. The code and the link, where a message has them, follow `lead`. */
export interface Words {
  subject: string
  lead: string
  /** Says what to do if the reader did not cause this. */
  after: string
}

interface Common {
  greeting: (login: string) => string
  /** Before the link that carries the code. */
  open: string
  footer: string
  messages: { [T in MailTemplate]: Words }
}

const en: Common = {
  greeting: (login) => `Hello ${login},`,
  open: 'Or open this link:',
  footer: 'This message was sent automatically; replies to it are not read.',
  messages: {
    email_verification: {
      subject: 'Confirm your email address',
      lead: 'Enter this code to confirm that this email address is yours:',
      after: 'If you did not ask for this, ignore this message.',
    },
    email_changed: {
      subject: 'Your email address was changed',
      lead: 'The email address of your account was just changed from this one to another.',
      after: 'If it was not you, recover your account and change your password at once.',
    },
    recovery_code: {
      subject: 'Reset your password',
      lead: 'Enter this code to set a new password:',
      after: 'If you did not ask for this, ignore this message: your password stays as it is.',
    },
    password_changed: {
      subject: 'Your password was changed',
      lead: 'The password of your account was just changed, and every session was ended.',
      after: 'If it was not you, recover your account at once.',
    },
    recovery_codes_generated: {
      subject: 'New recovery codes were created',
      lead: 'A new set of saved recovery codes was created for your account; the old ones no longer work.',
      after: 'If it was not you, change your password at once.',
    },
    factor_added: {
      subject: 'A second factor was added',
      lead: 'A new second factor (an authenticator app or a passkey) was added to your account.',
      after: 'If it was not you, change your password and remove that factor at once.',
    },
    factor_removed: {
      subject: 'A second factor was removed',
      lead: 'A second factor (an authenticator app or a passkey) was removed from your account.',
      after: 'If it was not you, change your password at once.',
    },
    factors_reset: {
      subject: 'Your second factors were removed',
      lead: 'At a support request, every second factor of your account was removed: signing in needs only the password now.',
      after: 'If you did not ask for this, change your password and contact support at once.',
    },
    recovery_code_login: {
      subject: 'A recovery code was used to sign in',
      lead: 'Someone signed in to your account with the password and a saved recovery code in place of the second factor.',
      after: 'If it was not you, change your password and create new recovery codes at once.',
    },
  },
}

const ru: Common = {
  greeting: (login) => `Здравствуйте, ${login}!`,
  open: 'Или откройте ссылку:',
  footer: 'Это письмо отправлено автоматически; ответы на него не читаются.',
  messages: {
    email_verification: {
      subject: 'Подтвердите адрес почты',
      lead: 'Введите этот код, чтобы подтвердить, что этот адрес почты ваш:',
      after: 'Если вы этого не просили, просто не обращайте внимания на это письмо.',
    },
    email_changed: {
      subject: 'Адрес почты изменён',
      lead: 'Адрес почты вашей учётной записи только что изменён с этого на другой.',
      after: 'Если это были не вы, восстановите доступ и сразу смените пароль.',
    },
    recovery_code: {
      subject: 'Восстановление пароля',
      lead: 'Введите этот код, чтобы задать новый пароль:',
      after:
        'Если вы этого не просили, просто не обращайте внимания на это письмо: пароль останется прежним.',
    },
    password_changed: {
      subject: 'Ваш пароль изменён',
      lead: 'Пароль вашей учётной записи только что изменён, все сеансы завершены.',
      after: 'Если это были не вы, сразу восстановите доступ.',
    },
    recovery_codes_generated: {
      subject: 'Созданы новые коды восстановления',
      lead: 'Для вашей учётной записи создан новый набор кодов восстановления; старые больше не действуют.',
      after: 'Если это были не вы, сразу смените пароль.',
    },
    factor_added: {
      subject: 'Добавлен второй фактор',
      lead: 'К вашей учётной записи добавлен новый второй фактор (приложение-аутентификатор или ключ доступа).',
      after: 'Если это были не вы, сразу смените пароль и удалите этот фактор.',
    },
    factor_removed: {
      subject: 'Второй фактор удалён',
      lead: 'Из вашей учётной записи удалён второй фактор (приложение-аутентификатор или ключ доступа).',
      after: 'Если это были не вы, сразу смените пароль.',
    },
    factors_reset: {
      subject: 'Вторые факторы удалены',
      lead: 'По обращению в поддержку все вторые факторы вашей учётной записи удалены: для входа теперь нужен только пароль.',
      after: 'Если вы этого не просили, сразу смените пароль и свяжитесь с поддержкой.',
    },
    recovery_code_login: {
      subject: 'Для входа использован код восстановления',
      lead: 'Кто-то вошёл в вашу учётную запись с паролем и сохранённым кодом восстановления вместо второго фактора.',
      after: 'Если это были не вы, сразу смените пароль и создайте новые коды восстановления.',
    },
  },
}

export const WORDS: Record<Language, Common> = { en, ru }
