import type { KoaContextWithOIDC } from 'oidc-provider'

// The provider's own pages (an error, the logout question, signed out), in the web page's look.
// Server-rendered: they are shown where the page's script has nothing to do.

type Lang = 'en' | 'ru'

const TEXT = {
  en: {
    errorTitle: 'This sign-in cannot go on',
    errorBody:
      'The application that sent you here made a request usersvc cannot accept. Go back to the application and try again; if it happens again, tell its team.',
    code: 'Error',
    logoutTitle: 'Sign out?',
    logoutBody: 'An application asked to sign you out of usersvc.',
    logoutYes: 'Sign out',
    logoutNo: 'Stay signed in',
    signedOutTitle: 'You are signed out',
    signedOutBody: 'You can close this page.',
    account: 'Go to your account',
  },
  ru: {
    errorTitle: 'Вход невозможно продолжить',
    errorBody:
      'Приложение, которое направило вас сюда, сделало запрос, который usersvc не может принять. Вернитесь в приложение и попробуйте ещё раз; если ошибка повторится, сообщите его разработчикам.',
    code: 'Ошибка',
    logoutTitle: 'Выйти?',
    logoutBody: 'Приложение просит завершить ваш сеанс в usersvc.',
    logoutYes: 'Выйти',
    logoutNo: 'Остаться',
    signedOutTitle: 'Вы вышли',
    signedOutBody: 'Эту страницу можно закрыть.',
    account: 'Перейти в учётную запись',
  },
} as const

const html = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  )

/** ui_locales first (OIDC Core §3.1.2.1), then Accept-Language; English otherwise. */
function language(ctx: KoaContextWithOIDC): Lang {
  const asked = `${ctx.oidc?.params?.ui_locales ?? ''} ${ctx.get('accept-language')}`
  const first = /\b(en|ru)\b/i.exec(asked)?.[1]?.toLowerCase()
  return first === 'ru' ? 'ru' : 'en'
}

/** The mark above the heading, for the eye only: what kind of page this is. */
type Mark = 'warn' | 'ok' | 'none'
const MARKS: Record<Mark, string> = {
  warn: '<div class="client-mark warn" aria-hidden="true">!</div>',
  ok: '<div class="client-mark ok" aria-hidden="true">✓</div>',
  none: '',
}

function layout(lang: Lang, title: string, body: string, mark: Mark = 'none'): string {
  return `<!doctype html>
<html lang="${lang}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light dark">
  <title>${html(title)} · usersvc</title>
  <link rel="icon" href="/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/assets/app.css">
</head>
<body data-mode="interaction">
  <header class="site-header"><p class="brand">usersvc</p></header>
  <main id="main">
    <section class="interaction" aria-labelledby="oidc-title">
      ${MARKS[mark]}
      <h1 id="oidc-title">${html(title)}</h1>
      ${body}
    </section>
  </main>
</body>
</html>`
}

export function errorPage(
  ctx: KoaContextWithOIDC,
  out: { error: string; error_description?: string },
  _error: unknown,
): string {
  const lang = language(ctx)
  const t = TEXT[lang]
  const description = out.error_description ? `: ${html(out.error_description)}` : ''
  return layout(
    lang,
    t.errorTitle,
    `<p>${t.errorBody}</p>
      <p class="muted oidc-error" id="oidc-error">${t.code} <code>${html(out.error)}</code>${description}</p>`,
    'warn',
  )
}

export function logoutPage(ctx: KoaContextWithOIDC, form: string): string {
  const lang = language(ctx)
  const t = TEXT[lang]
  return layout(
    lang,
    t.logoutTitle,
    `<p>${t.logoutBody}</p>
      ${form}
      <div class="actions decide">
        <button class="primary" autofocus type="submit" form="op.logoutForm" value="yes" name="logout">${t.logoutYes}</button>
        <button type="submit" form="op.logoutForm">${t.logoutNo}</button>
      </div>`,
  )
}

export function signedOutPage(ctx: KoaContextWithOIDC): string {
  const lang = language(ctx)
  const t = TEXT[lang]
  return layout(
    lang,
    t.signedOutTitle,
    `<p>${t.signedOutBody}</p>
      <p class="switch"><a href="/">${t.account}</a></p>`,
    'ok',
  )
}
