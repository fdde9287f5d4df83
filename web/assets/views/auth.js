import { signIn, signUp } from '../api.js'
import { h, viewTitle } from '../dom.js'
import { field, form, passwordField } from '../forms.js'
import { tr } from '../i18n.js'
import { attachPasswordHelp } from '../password.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {'signin' | 'signup'} AuthKind */

/**
 * The sign-in form: login and password. Also where a link that needs a session (confirming an
 * email address) asks for one.
 * @param {Context} context
 * @param {string} [login] filled in (after a new password was set for it)
 */
export function signInForm(context, login) {
  const loginField = field({ name: 'login', autocomplete: 'username', value: login })
  const password = passwordField({ name: 'password', autocomplete: 'current-password' })
  const auth = form({
    legend: 'signin.legend',
    fields: [loginField, password],
    submit: 'signin.submit',
  })
  auth.onSubmit(async () => {
    const user = await signIn(loginField.input.value, password.input.value)
    context.announce(tr('status.signedIn', { login: user.login }))
  })
  return auth.form
}

/**
 * Creating an account: the login rules, an optional email address, and the password rules
 * before anything is sent.
 * @param {Context} context
 */
function signUpForm(context) {
  const login = field({ name: 'login', autocomplete: 'username', hint: tr('signup.loginHint') })
  // Optional unless the service says otherwise (EMAIL_REQUIRED: a 422 `required` on it).
  const email = field({
    name: 'email',
    autocomplete: 'email',
    inputmode: 'email',
    optional: true,
    hint: tr('signup.emailHint'),
  })
  const password = passwordField({ name: 'password', autocomplete: 'new-password' })
  const help = attachPasswordHelp(password, () => login.input.value)
  login.input.addEventListener('input', help.update)
  const auth = form({
    legend: 'signup.legend',
    fields: [login, email, password],
    submit: 'signup.submit',
  })
  auth.onSubmit(async () => {
    const address = email.input.value.trim()
    const user = await signUp(login.input.value, password.input.value, address || undefined)
    context.announce(
      address
        ? tr('status.signedUpEmail', { login: user.login, email: address })
        : tr('status.signedUp', { login: user.login }),
    )
  })
  return auth.form
}

/**
 * Sign in, or create an account. Signing in leads to password recovery; creating an account
 * shows the login rules, and the password rules before anything is sent.
 * @param {Context} context
 * @param {AuthKind} kind
 * @param {URLSearchParams} [params] `login`: filled in
 */
export function authView(context, kind, params) {
  if (kind === 'signup') {
    return h(
      'section',
      { 'aria-labelledby': 'view-title' },
      viewTitle('signup.title'),
      signUpForm(context),
      h(
        'p',
        { class: 'switch' },
        tr('signup.haveAccount'),
        ' ',
        h('a', { href: '#/signin' }, tr('signup.toSignin')),
      ),
    )
  }
  return h(
    'section',
    { 'aria-labelledby': 'view-title' },
    viewTitle('signin.title'),
    signInForm(context, params?.get('login') ?? undefined),
    h('p', { class: 'switch' }, h('a', { href: '#/forgot' }, tr('signin.forgot'))),
    h(
      'p',
      { class: 'switch' },
      tr('signin.noAccount'),
      ' ',
      h('a', { href: '#/signup' }, tr('signin.toSignup')),
    ),
  )
}
