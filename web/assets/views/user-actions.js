// What an administrator does to another account, from its row in the user list (see its events,
// disable or enable it, delete it) or from its own page (disable or enable it, sign it out
// everywhere). Disabling and deleting are asked first; disabling takes an optional note for the
// trail. The admin's own account has none of these
// here (the service refuses them): it is managed on the account page.

import { disableUser, enableUser, endUserSessions } from '../admin-api.js'
import { ApiError, deleteUser } from '../api.js'
import { focusIn, h } from '../dom.js'
import { field, form, showProblem } from '../forms.js'
import { tr, trAttr } from '../i18n.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {import('../api.js').User} User */
/** @typedef {import('../i18n.js').MessageKey} MessageKey */

/**
 * @typedef {object} ControlOptions
 * @property {boolean} own the admin's own account
 * @property {boolean} [list] in the user list: a link to its page (with its events), and Delete;
 *   else "Sign out everywhere"
 * @property {{ fields: Record<string, never>, setError: (messages: Node[]) => void }} target where
 *   errors are said
 * @property {(user: User) => void} changed the account as it now is (disabled or enabled): the
 *   caller shows it anew, the focus on its new toggle button (focusToggle)
 * @property {(user: User) => Promise<void>} [removed] after a deletion
 * @property {(user: User) => Promise<void>} [gone] the account was deleted meanwhile
 * @property {() => void} [signedOut] after "Sign out everywhere"
 * @property {(question: Node | null) => void} place shows a question (disable? delete?) where
 *   it has room, or (null) takes it away
 */

/**
 * @param {MessageKey} text
 * @param {MessageKey} label the accessible name, which names the account
 * @param {User} user
 * @param {string} [className]
 */
function button(text, label, user, className) {
  const element = h('button', { type: 'button', class: className }, tr(text))
  trAttr(element, 'aria-label', label, { login: user.login })
  element.dataset.action = text.replace(/^users\./, '')
  return element
}

/**
 * The controls for `user`, in a container that also holds the questions they ask.
 * @param {Context} context
 * @param {User} user
 * @param {ControlOptions} options
 */
export function userControls(context, user, options) {
  const { target } = options
  const root = h('div', { class: 'user-controls' })

  /** A refusal: an account deleted meanwhile is said, and the caller shows the list anew. */
  const refused = async (/** @type {unknown} */ problem) => {
    if (problem instanceof ApiError && problem.code === 'not_found') await options.gone?.(user)
    showProblem(target, problem)
  }

  const eventsLink = () => {
    const href = `#/user-events?id=${encodeURIComponent(user.id)}`
    const link = h('a', { href }, tr('users.events'))
    trAttr(link, 'aria-label', 'users.eventsLabel', { login: user.login })
    return link
  }

  /** @param {string} [focus] the data-action of the button to give the focus to */
  const showButtons = (focus) => {
    options.place(null)
    /** @type {HTMLElement[]} */
    const controls = options.list ? [eventsLink()] : []
    if (options.own) {
      // The service refuses these on one's own account: one's own account goes with DELETE
      // /user/me and the password, on the account page.
      if (options.list) controls.push(h('a', { href: '#/account' }, tr('users.ownAccount')))
      root.replaceChildren(h('div', { class: 'actions' }, ...controls))
      return
    }
    const toggle = user.disabled_at
      ? button('users.enable', 'users.enableLabel', user)
      : button('users.disable', 'users.disableLabel', user)
    toggle.addEventListener('click', () => {
      if (user.disabled_at) void enable(toggle)
      else askDisable()
    })
    controls.push(toggle)
    // In the list, room is short: signing out everywhere is on the account's own page.
    if (!options.list) {
      const signOut = button('users.signOut', 'users.signOutLabel', user)
      signOut.addEventListener('click', () => void endSessions(signOut))
      controls.push(signOut)
    }
    if (options.list) {
      const remove = button('users.delete', 'users.deleteLabel', user, 'danger')
      remove.addEventListener('click', askDelete)
      controls.push(remove)
    }
    root.replaceChildren(h('div', { class: 'actions' }, ...controls))
    if (focus) focusIn(root, `[data-action="${focus}"]`)
  }

  /** @param {HTMLButtonElement} toggle */
  const enable = async (toggle) => {
    target.setError([])
    toggle.disabled = true
    try {
      const updated = await enableUser(user.id)
      context.announce(tr('status.userEnabled', { login: user.login }))
      options.changed(updated)
    } catch (problem) {
      toggle.disabled = false
      await refused(problem)
    }
  }

  /** @param {HTMLButtonElement} signOut */
  const endSessions = async (signOut) => {
    target.setError([])
    signOut.disabled = true
    try {
      await endUserSessions(user.id)
      context.announce(tr('status.userSignedOut', { login: user.login }))
      options.signedOut?.()
    } catch (problem) {
      await refused(problem)
    } finally {
      signOut.disabled = false
    }
  }

  const askDisable = () => {
    const reason = field({ name: 'reason', optional: true, maxlength: 500 })
    const cancel = h('button', { type: 'button' }, tr('users.confirmNo'))
    const question = form({
      legend: 'users.disableLegend',
      fields: [reason],
      submit: 'users.disableYes',
      danger: true,
      before: [h('p', {}, tr('users.disableConfirm', { login: user.login }))],
      after: [cancel],
    })
    const yes = question.form.querySelector('button[type="submit"]')
    if (yes) trAttr(yes, 'aria-label', 'users.disableYesLabel', { login: user.login })
    cancel.addEventListener('click', () => showButtons('disable'))
    question.onSubmit(async () => {
      target.setError([])
      try {
        const updated = await disableUser(user.id, reason.input.value.trim() || undefined)
        context.announce(tr('status.userDisabled', { login: user.login }))
        options.changed(updated)
      } catch (problem) {
        // A field's problem (the note too long) stays by the field; the rest is said above.
        if (problem instanceof ApiError && problem.code === 'not_found') await refused(problem)
        else throw problem
      }
    })
    options.place(h('div', { class: 'question' }, question.form))
    reason.input.focus()
  }

  const askDelete = () => {
    // The question above names the user; the button's name does too, for screen readers.
    const yes = button('users.confirmYes', 'users.confirmYesLabel', user, 'danger')
    const no = h('button', { type: 'button' }, tr('users.confirmNo'))
    no.addEventListener('click', () => showButtons('delete'))
    yes.addEventListener('click', async () => {
      target.setError([])
      yes.disabled = true
      try {
        await deleteUser(user.id)
        context.announce(tr('status.userDeleted', { login: user.login }))
        await options.removed?.(user)
      } catch (problem) {
        yes.disabled = false
        await refused(problem)
      }
    })
    options.place(
      h(
        'div',
        { class: 'question' },
        h('p', { class: 'warning' }, tr('users.confirm', { login: user.login })),
        h('div', { class: 'actions' }, yes, no),
      ),
    )
    yes.focus()
  }

  showButtons()
  return root
}

/**
 * Gives the focus to the button that disables or enables the account, within `container`.
 * @param {ParentNode} container
 */
export function focusToggle(container) {
  focusIn(container, '[data-action="disable"], [data-action="enable"]')
}

/**
 * The account's state beside its login: "Disabled", or nothing.
 * @param {User} user
 */
export function disabledBadge(user) {
  if (!user.disabled_at) return null
  return h('span', { class: 'badge warn', 'data-field': 'disabled' }, tr('users.disabled'))
}
