import { signIn, signUp } from '../api.js'
import { h, viewTitle } from '../dom.js'
import { field, form, passwordField } from '../forms.js'
import { tr } from '../i18n.js'
import { attachPasswordHelp } from '../password.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {'signin' | 'signup'} AuthKind */

/** What differs between the two, besides the `${kind}.…` messages. */
const KINDS = /** @type {const} */ ({
  signin: {
    send: signIn,
    done: 'status.signedIn',
    question: 'signin.noAccount',
    other: 'signup',
    link: 'signin.toSignup',
  },
  signup: {
    send: signUp,
    done: 'status.signedUp',
    question: 'signup.haveAccount',
    other: 'signin',
    link: 'signup.toSignin',
  },
})

/**
 * Sign in, or create an account, with login and password. Creating one shows the login rules,
 * and the password rules before anything is sent.
 * @param {Context} context
 * @param {AuthKind} kind
 */
export function authView(context, kind) {
  const { send, done, question, other, link } = KINDS[kind]
  const signup = kind === 'signup'
  const login = field({
    name: 'login',
    autocomplete: 'username',
    hint: signup ? tr('signup.loginHint') : undefined,
  })
  const password = passwordField({
    name: 'password',
    autocomplete: signup ? 'new-password' : 'current-password',
  })
  if (signup) {
    const help = attachPasswordHelp(password, () => login.input.value)
    login.input.addEventListener('input', help.update)
  }
  const auth = form({
    legend: `${kind}.legend`,
    fields: [login, password],
    submit: `${kind}.submit`,
  })
  auth.onSubmit(async () => {
    const user = await send(login.input.value, password.input.value)
    context.announce(tr(done, { login: user.login }))
  })
  return h(
    'section',
    { 'aria-labelledby': 'view-title' },
    viewTitle(`${kind}.title`),
    auth.form,
    h('p', { class: 'switch' }, tr(question), ' ', h('a', { href: `#/${other}` }, tr(link))),
  )
}
