import { changePassword, deleteAccount, signOut, signOutEverywhere } from '../api.js'
import { h, viewTitle } from '../dom.js'
import { form, messageArea, passwordField, showProblem } from '../forms.js'
import { tr } from '../i18n.js'
import { attachPasswordHelp } from '../password.js'
import { connectedAppsCard } from './connected-apps.js'
import { emailCard } from './email.js'
import { recoveryCodesCard } from './recovery-codes.js'
import { registeredTime, roleText } from './user.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {import('../api.js').User} User */

/**
 * @param {import('../i18n.js').MessageKey} term
 * @param {Node} value
 */
function entry(term, value) {
  return h('div', {}, h('dt', {}, tr(term)), h('dd', {}, value))
}

/** @param {User} user */
function details(user) {
  return h(
    'dl',
    { class: 'details' },
    entry('account.login', h('span', { 'data-field': 'login' }, user.login)),
    entry('account.id', h('code', { 'data-field': 'id' }, user.id)),
    entry('account.role', h('span', { 'data-field': 'role' }, roleText(user))),
    entry('account.registered', registeredTime(user, { 'data-field': 'registered' })),
  )
}

/**
 * @param {string} id
 * @param {import('../i18n.js').MessageKey} title
 * @param {...(Node | null)} content
 */
function part(id, title, ...content) {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': id },
    h('h2', { id }, tr(title)),
    ...content,
  )
}

/** @param {User} user */
function changePasswordForm(user, /** @type {Context} */ context) {
  const current = passwordField({ name: 'current_password', autocomplete: 'current-password' })
  const next = passwordField({ name: 'new_password', autocomplete: 'new-password' })
  const help = attachPasswordHelp(next, () => user.login)
  // For password managers: which account this new password belongs to.
  const username = h('input', {
    type: 'text',
    name: 'username',
    autocomplete: 'username',
    value: user.login,
    hidden: true,
    readonly: true,
  })
  const change = form({
    legend: 'password.legend',
    fields: [current, next],
    submit: 'password.submit',
    before: [username],
  })
  change.onSubmit(
    async () => {
      const step = await changePassword(current.input.value, next.input.value)
      if (step) {
        // Signed out: the sign-in page asks for the second factor now.
        context.announce(tr('status.passwordChangedStep'))
        return
      }
      current.input.value = ''
      next.input.value = ''
      // Cleared in code, which fires no input event: the help would still describe the old one.
      help.update()
      context.announce(tr('status.passwordChanged'))
    },
    { credentials: 'current', credentialsField: 'current_password' },
  )
  return change.form
}

/** @param {Context} context */
function sessionButtons(context) {
  const actions = h('div', { class: 'actions' })
  const error = messageArea()
  const target = { fields: {}, setError: error.setError }
  /**
   * @param {import('../i18n.js').MessageKey} label
   * @param {() => Promise<void>} action
   * @param {import('../i18n.js').MessageKey} done
   */
  const button = (label, action, done) => {
    const element = h('button', { type: 'button' }, tr(label))
    element.addEventListener('click', async () => {
      // One action at a time: a double click must not send twice.
      if (actions.hasAttribute('aria-busy')) return
      target.setError([])
      actions.setAttribute('aria-busy', 'true')
      try {
        await action()
        context.announce(tr(done))
      } catch (problem) {
        showProblem(target, problem)
      } finally {
        actions.removeAttribute('aria-busy')
      }
    })
    return element
  }
  actions.append(
    button('sessions.logout', signOut, 'status.loggedOut'),
    button('sessions.logoutAll', signOutEverywhere, 'status.loggedOutAll'),
  )
  return h('div', {}, h('p', {}, tr('sessions.note')), error.element, actions)
}

/** @param {Context} context */
function deleteForm(context) {
  const password = passwordField({ name: 'password', autocomplete: 'current-password' })
  const remove = form({
    legend: 'delete.legend',
    fields: [password],
    submit: 'delete.submit',
    danger: true,
  })
  remove.onSubmit(
    async () => {
      await deleteAccount(password.input.value)
      context.announce(tr('status.deleted'))
    },
    { credentials: 'confirm', credentialsField: 'password' },
  )
  return remove.form
}

/**
 * Whether signing in takes a second step, and the way to the page that sets it up.
 * @param {User} user
 */
function securitySummary(user) {
  return part(
    'account-security',
    'security.cardTitle',
    h('p', { 'data-field': 'mfa-state' }, tr(user.mfa_enabled ? 'factors.on' : 'factors.off')),
    h('p', {}, h('a', { href: '#/security' }, tr('security.manage'))),
  )
}

/**
 * The signed-in user's account: details, email address, two-step sign-in, password, saved
 * recovery codes, sessions, the applications it signs in to, deletion.
 * @param {Context} context
 * @param {User} user
 */
export function accountView(context, user) {
  return h(
    'div',
    {},
    viewTitle('account.title'),
    part('account-details', 'account.details', details(user)),
    emailCard(context, user),
    securitySummary(user),
    part(
      'account-password',
      'password.title',
      h('p', {}, tr('password.note')),
      changePasswordForm(user, context),
    ),
    recoveryCodesCard(context, user),
    part(
      'account-sessions',
      'sessions.title',
      sessionButtons(context),
      h('p', {}, h('a', { href: '#/security' }, tr('sessions.list'))),
    ),
    connectedAppsCard(context),
    part('account-delete', 'delete.title', h('p', {}, tr('delete.note')), deleteForm(context)),
  )
}
