import {
  ApiError,
  finishPasskeySignIn,
  passkeySignInOptions,
  signIn,
  signInWithPasskey,
  signUp,
  takePendingStep,
} from '../api.js'
import { h, viewTitle } from '../dom.js'
import { field, form, messageArea, passwordField, showProblem } from '../forms.js'
import { tr } from '../i18n.js'
import { attachPasswordHelp } from '../password.js'
import { autofillSupported, passkeysSupported, usePasskey } from '../webauthn.js'
import { secondStep } from './second-step.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {import('../api.js').SecondStep} SecondStep */
/** @typedef {import('../api.js').User} User */
/** @typedef {'signin' | 'signup'} AuthKind */

/** A refusal the user needs no word about: a passkey request this page stopped itself. */
const stopped = (/** @type {unknown} */ error) =>
  error instanceof ApiError && error.code === 'passkey_aborted'

/**
 * The passkeys of this site offered in the login field's autofill (WebAuthn's conditional
 * mediation), from `start` until one is chosen or `stop`. Requests that fail before the user
 * chose a passkey fail silently: the user asked for nothing.
 * @param {(user: User) => void} signedIn
 * @param {(error: unknown) => void} refused a chosen passkey was not accepted
 */
function passkeyAutofill(signedIn, refused) {
  /** @type {AbortController | null} */
  let controller = null
  const stop = () => {
    controller?.abort()
    controller = null
  }
  const start = async () => {
    if (controller) return
    const mine = new AbortController()
    controller = mine
    const { signal } = mine
    /** @type {AuthenticationResponseJSON} */
    let credential
    try {
      if (!(await autofillSupported())) return
      const options = await passkeySignInOptions()
      if (signal.aborted) return
      credential = await usePasskey(options, { conditional: true, signal })
    } catch {
      if (controller === mine) controller = null
      return
    }
    if (controller === mine) controller = null
    try {
      signedIn(await finishPasskeySignIn(credential))
    } catch (error) {
      // Not offered again by itself: the button is there for another try.
      refused(error)
    }
  }
  return { start: () => void start(), stop }
}

/**
 * The sign-in form: login and password, then the second step for an account that has one. Also
 * where a link that needs a session (confirming an email address) asks for one. `passkeys`: a
 * "sign in with a passkey" button, and passkeys offered in the login field's autofill.
 * @param {Context} context
 * @param {{ login?: string, passkeys?: boolean }} [options] `login`: filled in
 */
export function signInForm(context, { login, passkeys = false } = {}) {
  const withPasskeys = passkeys && passkeysSupported()
  const root = h('div', {})
  const loginField = field({
    name: 'login',
    autocomplete: withPasskeys ? 'username webauthn' : 'username',
    value: login,
  })
  const password = passwordField({ name: 'password', autocomplete: 'current-password' })
  const auth = form({
    legend: 'signin.legend',
    fields: [loginField, password],
    submit: 'signin.submit',
  })
  /** @param {User} user */
  const signedIn = (user) => context.announce(tr('status.signedIn', { login: user.login }))
  const passkeyError = messageArea()
  const passkeyTarget = { fields: {}, setError: passkeyError.setError }
  const autofill = passkeyAutofill(signedIn, (error) =>
    showProblem(passkeyTarget, error, { credentials: 'passkey' }),
  )
  /** @type {Node[]} */
  const passwordStep = [auth.form]

  if (withPasskeys) {
    const button = h('button', { type: 'button' }, tr('signin.passkey'))
    const area = h(
      'div',
      { class: 'passkey-signin' },
      h('p', { class: 'or' }, tr('signin.or')),
      passkeyError.element,
      h('div', { class: 'actions' }, button),
    )
    button.addEventListener('click', async () => {
      if (area.hasAttribute('aria-busy')) return
      // One WebAuthn request at a time: the autofill's gives way to the dialog's.
      autofill.stop()
      passkeyError.setError([])
      area.setAttribute('aria-busy', 'true')
      try {
        signedIn(await signInWithPasskey())
      } catch (error) {
        if (!stopped(error)) showProblem(passkeyTarget, error, { credentials: 'passkey' })
        // A dialog closed without a passkey: the autofill offers them again.
        if (error instanceof ApiError && error.code === 'passkey_cancelled') autofill.start()
      } finally {
        area.removeAttribute('aria-busy')
      }
    })
    passwordStep.push(area)
    context.onLeave(autofill.stop)
  }

  /** Back from the second step: the password again (the token may have died meanwhile). */
  const toPassword = (/** @type {unknown} */ problem) => {
    root.replaceChildren(...passwordStep)
    if (withPasskeys) autofill.start()
    if (problem) showProblem({ fields: auth.fields, setError: auth.setError }, problem)
    password.input.focus()
  }
  /** @param {SecondStep} step */
  const toSecondStep = (step) => {
    autofill.stop()
    password.input.value = ''
    loginField.input.value = step.login
    const second = secondStep(context, step, { before: autofill.stop, back: toPassword })
    root.replaceChildren(second.root)
    second.start()
  }

  auth.onSubmit(async () => {
    const result = await signIn(loginField.input.value, password.input.value)
    if (result.user) {
      signedIn(result.user)
      return
    }
    context.announce(tr('status.secondStep'))
    toSecondStep(result.step)
  })
  root.replaceChildren(...passwordStep)
  if (withPasskeys) autofill.start()
  // A password change of an account with a second factor signs in again here.
  const pending = takePendingStep()
  if (pending) queueMicrotask(() => toSecondStep(pending))
  return root
}

/**
 * Creating an account: the login rules, an optional email address, and the password rules
 * before anything is sent. It signs in at once.
 * @param {Context} context
 */
export function signUpForm(context) {
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
 * Sign in, or create an account. Signing in leads to password recovery, and offers passkeys;
 * creating an account shows the login rules, and the password rules before anything is sent.
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
    signInForm(context, { login: params?.get('login') ?? undefined, passkeys: true }),
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
