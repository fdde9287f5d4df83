// A forgotten password: a code by mail (asked for by login or by email address, or from the
// mail's link), or one of the saved recovery codes; then a new password. A link from a mail only
// fills the form: the code is spent by the user's own submit, never by opening the link.
import { completeRecovery, recoverWithSavedCode, requestRecovery } from '../api.js'
import { h, uid, viewTitle } from '../dom.js'
import { field, form, passwordField, showProblem } from '../forms.js'
import { tr } from '../i18n.js'
import { attachPasswordHelp } from '../password.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {import('../api.js').AccountKey} AccountKey */
/** @typedef {import('../i18n.js').MessageKey} MessageKey */

/**
 * A paragraph with a question and a link to another way.
 * @param {MessageKey} question
 * @param {string} href
 * @param {MessageKey} link
 */
function other(question, href, link) {
  return h('p', { class: 'switch' }, tr(question), ' ', h('a', { href }, tr(link)))
}

/**
 * For password managers: which account the new password belongs to.
 * @param {string} name
 */
function username(name) {
  return h('input', {
    type: 'text',
    name: 'username',
    autocomplete: 'username',
    value: name,
    hidden: true,
    readonly: true,
  })
}

/**
 * A new password with the rules and the strength hint.
 * @param {() => string} login the login it must not contain ('' when not known here)
 */
function newPasswordField(login) {
  const next = passwordField({ name: 'new_password', autocomplete: 'new-password' })
  return { field: next, help: attachPasswordHelp(next, login) }
}

/**
 * Where a new password was set: sign in with it (the login filled in when known).
 * @param {Context} context
 * @param {string | undefined} login
 */
function done(context, login) {
  context.navigate('signin', login ? { login } : {})
  context.announce(tr('status.passwordReset'))
}

/**
 * Step one: the account, by login or by email address (a login may hold an @, so the page does
 * not guess which one was typed). The answer is the same whether it exists or not.
 * @param {Context} context
 * @param {URLSearchParams} params `login` or `email`: filled in
 */
export function forgotView(context, params) {
  const byEmail = params.get('email') !== null
  const login = field({
    name: 'login',
    autocomplete: 'username',
    value: params.get('login') ?? undefined,
  })
  const email = field({
    name: 'email',
    autocomplete: 'email',
    inputmode: 'email',
    value: params.get('email') ?? undefined,
  })
  const group = uid('by')
  /**
   * @param {'login' | 'email'} value
   * @param {MessageKey} label
   */
  const radio = (value, label) => {
    const id = `${group}-${value}`
    const input = h('input', {
      type: 'radio',
      id,
      name: group,
      value,
      checked: (value === 'email') === byEmail,
    })
    input.addEventListener('change', () => show(value))
    return h('div', { class: 'check' }, input, h('label', { for: id }, tr(label)))
  }
  /** @param {'login' | 'email'} by */
  const show = (by) => {
    login.root.hidden = by !== 'login'
    email.root.hidden = by !== 'email'
  }
  show(byEmail ? 'email' : 'login')
  const ask = form({
    legend: 'forgot.legend',
    fields: [login, email],
    submit: 'forgot.submit',
    before: [
      h(
        'div',
        { class: 'choice' },
        radio('login', 'forgot.byLogin'),
        radio('email', 'forgot.byEmail'),
      ),
    ],
  })
  ask.onSubmit(async () => {
    /** @type {Record<string, string>} */
    const account = login.root.hidden
      ? { email: email.input.value.trim() }
      : { login: login.input.value }
    await requestRecovery(/** @type {AccountKey} */ (account))
    context.navigate('recover', account)
    context.announce(tr('status.recoverySent'))
  })
  return h(
    'section',
    { 'aria-labelledby': 'view-title' },
    viewTitle('forgot.title'),
    h('p', {}, tr('forgot.intro')),
    ask.form,
    other('forgot.saved', '#/recovery-code', 'forgot.toSaved'),
    h('p', { class: 'switch' }, h('a', { href: '#/signin' }, tr('forgot.toSignin'))),
  )
}

/**
 * Step two: the code from the mail (filled in when the mail's link was opened) and a new
 * password, for the account of step one or of the link.
 * @param {Context} context
 * @param {URLSearchParams} params `login` or `email`; `code` from a mail's link
 */
export function recoverView(context, params) {
  const login = params.get('login')
  const email = params.get('email')
  /** @type {AccountKey} */
  const account = login ? { login } : { email: email ?? '' }
  const code = field({
    name: 'code',
    autocomplete: 'one-time-code',
    inputmode: 'numeric',
    value: params.get('code') ?? undefined,
  })
  const { field: next, help } = newPasswordField(() => login ?? '')
  const resend = h('button', { type: 'button' }, tr('recover.resend'))
  const set = form({
    legend: 'recover.legend',
    fields: [code, next],
    submit: 'recover.submit',
    before: [username(login ?? email ?? '')],
    after: [resend],
  })
  set.onSubmit(
    async () => {
      await completeRecovery(account, code.input.value.trim(), next.input.value)
      next.input.value = ''
      help.update()
      done(context, login ?? undefined)
    },
    { codeField: 'code' },
  )
  resend.addEventListener('click', async () => {
    if (set.form.hasAttribute('aria-busy')) return
    set.setError([])
    set.form.setAttribute('aria-busy', 'true')
    try {
      await requestRecovery(account)
      context.announce(tr('status.recoverySent'))
    } catch (error) {
      showProblem({ fields: {}, setError: set.setError }, error)
    } finally {
      set.form.removeAttribute('aria-busy')
    }
  })
  return h(
    'section',
    { 'aria-labelledby': 'view-title' },
    viewTitle('recover.title'),
    h(
      'p',
      {},
      login ? tr('recover.forLogin', { login }) : tr('recover.forEmail', { email: email ?? '' }),
      ' ',
      tr('recover.intro'),
    ),
    set.form,
    other('recover.other', '#/forgot', 'recover.toForgot'),
    other(
      'forgot.saved',
      `#/recovery-code${login ? `?${new URLSearchParams({ login })}` : ''}`,
      'forgot.toSaved',
    ),
  )
}

/**
 * A saved recovery code instead of mail: login, code, new password.
 * @param {Context} context
 * @param {URLSearchParams} params `login`: filled in
 */
export function savedCodeView(context, params) {
  const login = field({
    name: 'login',
    autocomplete: 'username',
    value: params.get('login') ?? undefined,
  })
  const code = field({ name: 'recovery_code', autocomplete: 'off', hint: tr('saved.hint') })
  const { field: next, help } = newPasswordField(() => login.input.value)
  login.input.addEventListener('input', help.update)
  const set = form({
    legend: 'saved.legend',
    fields: [login, code, next],
    submit: 'saved.submit',
  })
  set.onSubmit(
    async () => {
      const name = login.input.value
      await recoverWithSavedCode(name, code.input.value.trim(), next.input.value)
      done(context, name)
    },
    { codes: 'saved', codeField: 'recovery_code' },
  )
  return h(
    'section',
    { 'aria-labelledby': 'view-title' },
    viewTitle('saved.title'),
    h('p', {}, tr('saved.intro')),
    set.form,
    other('saved.mail', '#/forgot', 'saved.toForgot'),
    h('p', { class: 'switch' }, h('a', { href: '#/signin' }, tr('forgot.toSignin'))),
  )
}
