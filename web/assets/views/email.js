// The account's email address: confirming it with the mailed code (on the account page, or from
// the mail's link), a new code, a change, its removal.
import { changeEmail, resendVerification, verifyEmail } from '../api.js'
import { h } from '../dom.js'
import { field, form, passwordField, showProblem } from '../forms.js'
import { tr } from '../i18n.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {import('../api.js').User} User */

/**
 * The code form: the code (filled in from a mail's link, never sent by itself), the submit, and
 * "send a new code".
 * @param {Context} context
 * @param {string} email where the codes go
 * @param {(user: User) => void} verified
 * @param {string} [code]
 */
export function verifyForm(context, email, verified, code) {
  const codeField = field({
    name: 'code',
    autocomplete: 'one-time-code',
    inputmode: 'numeric',
    value: code,
  })
  const resend = h('button', { type: 'button' }, tr('email.resend'))
  const confirm = form({
    legend: 'email.verifyLegend',
    fields: [codeField],
    submit: 'email.verifySubmit',
    after: [resend],
  })
  confirm.onSubmit(async () => {
    verified(await verifyEmail(codeField.input.value.trim()))
  })
  resend.addEventListener('click', async () => {
    if (confirm.form.hasAttribute('aria-busy')) return
    confirm.setError([])
    codeField.setError([])
    confirm.form.setAttribute('aria-busy', 'true')
    try {
      await resendVerification()
      codeField.input.value = ''
      context.announce(tr('status.codeSent', { email }))
    } catch (error) {
      showProblem({ fields: {}, setError: confirm.setError }, error)
    } finally {
      confirm.form.removeAttribute('aria-busy')
    }
  })
  return { form: confirm.form, input: codeField.input }
}

/**
 * A new address (or the first one), confirmed by the password.
 * @param {Context} context
 * @param {boolean} has whether the account has one now
 * @param {(user: User) => void} changed
 */
function changeForm(context, has, changed) {
  const email = field({ name: 'email', autocomplete: 'email', inputmode: 'email' })
  const password = passwordField({ name: 'password', autocomplete: 'current-password' })
  const change = form({
    legend: has ? 'email.changeLegend' : 'email.addLegend',
    fields: [email, password],
    submit: has ? 'email.changeSubmit' : 'email.addSubmit',
  })
  change.onSubmit(
    async () => {
      const user = await changeEmail(email.input.value.trim(), password.input.value)
      changed(user)
      context.announce(tr('status.emailChanged', { email: user.email ?? '' }))
    },
    { credentials: 'confirm', credentialsField: 'password' },
  )
  return change.form
}

/**
 * Removing the address, confirmed by the password.
 * @param {Context} context
 * @param {(user: User) => void} changed
 */
function removeForm(context, changed) {
  const password = passwordField({ name: 'password', autocomplete: 'current-password' })
  const remove = form({
    legend: 'email.removeLegend',
    fields: [password],
    submit: 'email.removeSubmit',
    danger: true,
  })
  remove.onSubmit(
    async () => {
      changed(await changeEmail(null, password.input.value))
      context.announce(tr('status.emailRemoved'))
    },
    { credentials: 'confirm', credentialsField: 'password' },
  )
  return remove.form
}

/**
 * The account page's part about the address. After each change it shows the account as the
 * service answered it, and the focus goes to its heading (the form used may be gone).
 * @param {Context} context
 * @param {User} user
 */
export function emailCard(context, user) {
  const heading = h('h2', { id: 'account-email', tabindex: -1 }, tr('email.title'))
  const body = h('div', {})
  /** @param {User} next */
  const changed = (next) => {
    show(next)
    heading.focus()
  }
  /** @param {User} current */
  const show = (current) => {
    const email = current.email ?? null
    if (email === null) {
      body.replaceChildren(h('p', {}, tr('email.none')), changeForm(context, false, changed))
      return
    }
    const verified = current.email_verified === true
    /** @type {Node[]} */
    const parts = [
      h(
        'dl',
        { class: 'details' },
        h(
          'div',
          {},
          h('dt', {}, tr('email.address')),
          h('dd', {}, h('span', { 'data-field': 'email' }, email)),
        ),
        h(
          'div',
          {},
          h('dt', {}, tr('email.state')),
          h(
            'dd',
            {},
            h(
              'span',
              { 'data-field': 'email-state', class: verified ? 'badge ok' : 'badge warn' },
              tr(verified ? 'email.verified' : 'email.unverified'),
            ),
          ),
        ),
      ),
    ]
    if (!verified) {
      parts.push(
        h('p', {}, tr('email.verifyNote')),
        verifyForm(context, email, (next) => {
          changed(next)
          context.announce(tr('status.emailVerified', { email }))
        }).form,
      )
    }
    parts.push(
      h(
        'details',
        { class: 'manage' },
        h('summary', {}, tr('email.manage')),
        h('p', {}, tr('email.changeNote')),
        changeForm(context, true, changed),
        removeForm(context, changed),
      ),
    )
    body.replaceChildren(...parts)
  }
  show(user)
  return h('section', { class: 'card', 'aria-labelledby': 'account-email' }, heading, body)
}
