// The second step of signing in, for an account with a second factor: the code of its
// authenticator app, one of its passkeys, or one of its saved recovery codes in their place.
import { ApiError, completeSignIn, completeSignInWithPasskey } from '../api.js'
import { h } from '../dom.js'
import { field, form, showProblem } from '../forms.js'
import { tr } from '../i18n.js'
import { passkeysSupported } from '../webauthn.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {import('../api.js').SecondStep} SecondStep */
/** @typedef {'totp' | 'passkey' | 'recovery_code'} Mode */

/**
 * @param {Context} context
 * @param {SecondStep} step
 * @param {{ before: () => void, back: (problem?: unknown) => void }} hooks `before` a passkey is
 *   asked for (the login field's autofill stops); `back` to the password, with the reason if any
 */
export function secondStep(context, step, { before, back }) {
  const root = h('div', { class: 'second-step' })
  const has = (/** @type {Mode} */ method) => step.methods.includes(method)
  const passkeys = has('passkey') && passkeysSupported()
  /** @type {Mode} */
  const first = has('totp') ? 'totp' : passkeys ? 'passkey' : 'recovery_code'

  /** @param {import('../api.js').User} user */
  const signedIn = (user) => context.announce(tr('status.signedIn', { login: user.login }))
  /** The token died (too slow, too many wrong codes): the password again. */
  const dead = (/** @type {unknown} */ error) =>
    error instanceof ApiError && error.code === 'invalid_mfa_token'

  /** Signs in with a passkey: the browser asks which one (only the account's own are allowed). */
  const withPasskey = async () => {
    before()
    signedIn(await completeSignInWithPasskey(step))
  }

  /** @param {Mode} mode */
  function show(mode) {
    const code =
      mode === 'totp'
        ? field({
            name: 'code',
            kind: 'otp',
            autocomplete: 'one-time-code',
            inputmode: 'numeric',
            maxlength: 6,
          })
        : mode === 'recovery_code'
          ? field({ name: 'recovery_code', hint: tr('saved.hint') })
          : null
    const passkeyButton =
      passkeys && mode !== 'passkey' ? h('button', { type: 'button' }, tr('mfa.passkey')) : null
    const switches = [passkeyButton]
    if (has('totp') && mode !== 'totp') switches.push(switchTo('totp', 'mfa.totp'))
    if (has('recovery_code') && mode !== 'recovery_code') {
      switches.push(switchTo('recovery_code', 'mfa.recovery'))
    }
    const cancel = h('button', { type: 'button' }, tr('mfa.back'))
    cancel.addEventListener('click', () => back())
    const stepForm = form({
      legend: 'mfa.legend',
      before: [h('p', {}, tr(INTROS[mode]))],
      fields: code ? [code] : [],
      submit: mode === 'passkey' ? 'mfa.passkey' : 'mfa.submit',
      after: [...switches.filter((b) => b !== null), cancel],
    })
    /** @param {() => Promise<void>} run */
    const orBack = (run) => async () => {
      try {
        await run()
      } catch (error) {
        if (dead(error)) back(error)
        else throw error
      }
    }
    if (code) {
      stepForm.onSubmit(
        orBack(async () => {
          const value = code.input.value.trim()
          const proof = mode === 'totp' ? { code: value } : { recovery_code: value }
          signedIn(await completeSignIn(step, proof))
        }),
        { codes: mode === 'totp' ? 'otp' : 'saved', codeField: code.name },
      )
    } else stepForm.onSubmit(orBack(withPasskey), { credentials: 'passkey' })
    passkeyButton?.addEventListener('click', async () => {
      if (stepForm.form.hasAttribute('aria-busy')) return
      code?.setError([])
      stepForm.setError([])
      stepForm.form.setAttribute('aria-busy', 'true')
      try {
        await orBack(withPasskey)()
      } catch (error) {
        showProblem({ fields: {}, setError: stepForm.setError }, error, { credentials: 'passkey' })
      } finally {
        stepForm.form.removeAttribute('aria-busy')
      }
    })
    root.replaceChildren(stepForm.form)
    if (code) code.input.focus()
    else stepForm.form.querySelector('button')?.focus()
  }

  /**
   * @param {Mode} mode
   * @param {import('../i18n.js').MessageKey} label
   */
  function switchTo(mode, label) {
    const button = h('button', { type: 'button' }, tr(label))
    button.addEventListener('click', () => show(mode))
    return button
  }

  return {
    root,
    /** Shows the first form of the step, its field focused. */
    start: () => show(first),
  }
}

/** @type {Record<Mode, import('../i18n.js').MessageKey>} */
const INTROS = {
  totp: 'mfa.introTotp',
  passkey: 'mfa.introPasskey',
  recovery_code: 'mfa.introRecovery',
}
