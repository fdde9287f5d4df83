// An administrator's view of one account: its state, what can be done to it, and its events
// (with the reasons users are not told: why a sign-in failed, the note on disabling).
import { getUser, userEvents } from '../admin-api.js'
import { h, viewTitle } from '../dom.js'
import { messageArea, showProblem } from '../forms.js'
import { formatDate, live, tr } from '../i18n.js'
import { eventList } from './events.js'
import { registeredTime, roleText } from './user.js'
import { focusToggle, userControls } from './user-actions.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {import('../api.js').User} User */

/**
 * @param {import('../i18n.js').MessageKey} term
 * @param {Node} value
 * @param {string} [name] its data-field
 */
function entry(term, value, name) {
  return h('div', {}, h('dt', {}, tr(term)), h('dd', { 'data-field': name }, value))
}

/** @param {User} user */
function state(user) {
  const since = user.disabled_at
  if (!since) return h('span', { class: 'badge ok' }, tr('userEvents.active'))
  return h(
    'span',
    {},
    h('span', { class: 'badge warn' }, tr('users.disabled')),
    ' ',
    live(() => formatDate(since)),
  )
}

/**
 * @param {Context} context
 * @param {User} me
 * @param {URLSearchParams} params `id`: the account's
 */
export function userEventsView(context, me, params) {
  const id = params.get('id') ?? ''
  const error = messageArea()
  const target = { fields: {}, setError: error.setError }
  const details = h('section', { class: 'card', 'aria-labelledby': 'user-details', hidden: true })
  const list = eventList({
    load: (limit, cursor) => userEvents(id, limit, cursor),
    admin: true,
    labelledBy: 'user-events',
  })
  const events = h(
    'section',
    { class: 'card', 'aria-labelledby': 'user-events' },
    h('h2', { id: 'user-events' }, tr('userEvents.listTitle')),
    list.element,
  )

  /** @param {User} user */
  function show(user) {
    const question = h('div', {})
    const controls = userControls(context, user, {
      own: user.id === me.id,
      target,
      changed(updated) {
        show(updated)
        focusToggle(details)
        void list.reload()
      },
      // Signed out everywhere: the sessions' ends are events too.
      signedOut: () => void list.reload(),
      gone: async () => {
        details.hidden = true
      },
      place: (node) => question.replaceChildren(...(node ? [node] : [])),
    })
    details.replaceChildren(
      h('h2', { id: 'user-details' }, user.login),
      h(
        'dl',
        { class: 'details' },
        entry('account.id', h('code', {}, user.id)),
        entry('account.role', roleText(user)),
        entry('account.registered', registeredTime(user)),
        entry('userEvents.state', state(user), 'state'),
      ),
      controls,
      question,
    )
    details.hidden = false
  }

  getUser(id)
    .then(show)
    .catch((problem) => showProblem(target, problem))

  return h(
    'div',
    {},
    viewTitle('userEvents.title'),
    h('p', {}, h('a', { href: '#/users' }, tr('userEvents.back'))),
    error.element,
    details,
    events,
  )
}
