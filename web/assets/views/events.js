// A list of security events, newest first: each in plain words, with when, from which address
// and which device, and who acted when it was an administrator; "Show more" follows the cursor.
// The Activity view (one's own) and an administrator's view of a user's events both show it.
import { h, uid } from '../dom.js'
import { eventNote, eventPhrase, shortAgent } from '../event-text.js'
import { messageArea, showProblem } from '../forms.js'
import { formatDate, live, t, tr } from '../i18n.js'

/** @typedef {import('../event-text.js').AuditEvent} AuditEvent */
/** @typedef {import('../event-text.js').EventPage} EventPage */

const PAGE_SIZE = 20

/**
 * A part of an event's second line, named for screen readers ("Address: 203.0.113.7"); the
 * eye sees the value alone, parts apart by a dot (app.css).
 * @param {import('../i18n.js').MessageKey} label
 * @param {Node} value
 */
function part(label, value) {
  return h(
    'span',
    { class: 'event-part' },
    h('span', { class: 'visually-hidden' }, tr(label), ' '),
    value,
  )
}

/**
 * @param {AuditEvent} event
 * @param {boolean} admin
 */
function item(event, admin) {
  const phrase = eventPhrase(event, { admin })
  const what = h(
    'p',
    { class: 'event-what' },
    h('span', {}, tr(phrase.key, phrase.params)),
    event.actor?.type === 'admin' ? h('span', { class: 'badge' }, tr('event.byAdmin')) : null,
  )
  const meta = h(
    'p',
    { class: 'event-meta' },
    part(
      'event.when',
      h(
        'time',
        { datetime: event.occurred_at },
        live(() => formatDate(event.occurred_at, 'medium')),
      ),
    ),
  )
  // Spaces between the parts, for those who hear them; the eye sees the dots of app.css.
  if (event.address) meta.append(' ', part('event.address', document.createTextNode(event.address)))
  if (event.user_agent) {
    const { user_agent: agent } = event
    const device = live(
      () =>
        shortAgent(agent, (browser, system) => t('devices.browserOn', { browser, system })) ?? '',
    )
    meta.append(' ', part('event.device', h('span', { title: agent }, device)))
  }
  const note = eventNote(event, { admin })
  return h(
    'li',
    { 'data-event': event.id, 'data-type': event.type, tabindex: -1 },
    what,
    meta,
    note ? h('p', { class: 'event-note' }, tr('event.note', { note })) : null,
  )
}

/**
 * The list and its "Show more" button, loading the first page at once. `admin`: as an
 * administrator sees events (why sign-ins failed, notes on disabling).
 * @param {{ load: (limit: number, cursor: string | undefined) => Promise<EventPage>, admin?: boolean, labelledBy: string }} options
 */
export function eventList({ load, admin = false, labelledBy }) {
  const state = h('p', { class: 'muted' }, tr('events.loading'))
  const list = h('ol', {
    class: 'events',
    'aria-labelledby': labelledBy,
    'aria-busy': 'true',
    hidden: true,
  })
  const error = messageArea()
  const target = { fields: {}, setError: error.setError }
  const moreId = uid('more')
  const more = h('button', { type: 'button', id: moreId }, tr('events.more'))
  const actions = h('div', { class: 'actions more', hidden: true }, more)
  /** @type {string | null} */
  let cursor = null

  /** @param {boolean} first the first page: replaces what is shown */
  async function fetchPage(first) {
    error.setError([])
    list.setAttribute('aria-busy', 'true')
    more.disabled = true
    try {
      const page = await load(PAGE_SIZE, first ? undefined : (cursor ?? undefined))
      const items = page.items.map((event) => item(event, admin))
      if (first) list.replaceChildren(...items)
      else list.append(...items)
      cursor = page.next_cursor
      list.hidden = list.childElementCount === 0
      state.hidden = !list.hidden
      state.replaceChildren(tr('events.empty'))
      actions.hidden = cursor === null
      // The focus goes to the first new event, so the keyboard carries on where reading does.
      if (!first) items[0]?.focus()
    } catch (problem) {
      if (first) state.replaceChildren(tr('events.unavailable'))
      showProblem(target, problem)
    } finally {
      list.removeAttribute('aria-busy')
      more.disabled = false
    }
  }
  more.addEventListener('click', () => {
    if (!more.disabled && cursor !== null) void fetchPage(false)
  })
  void fetchPage(true)

  return {
    element: h('div', { class: 'event-list' }, state, error.element, list, actions),
    reload: () => fetchPage(true),
  }
}
