// Where the account is signed in: one entry per session, this device's first, each with a way to
// sign it out (another device's ends at once: its access tokens stop working too).
import { endSession, listSessions, signOut } from '../api.js'
import { describeDevice } from '../device.js'
import { h, uid } from '../dom.js'
import { messageArea, showProblem } from '../forms.js'
import { formatDate, live, t, tr } from '../i18n.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {import('../api.js').Session} Session */

/**
 * The device of a session in words of the chosen language.
 * @param {Session} session
 */
export function deviceText(session) {
  const { browser, system, raw } = describeDevice(session.user_agent)
  if (browser && system) return t('devices.browserOn', { browser, system })
  return browser ?? system ?? raw ?? t('devices.unknown')
}

/**
 * @param {import('../i18n.js').MessageKey} term
 * @param {Node} value
 */
function entry(term, value) {
  return h('div', {}, h('dt', {}, tr(term)), h('dd', {}, value))
}

/** @param {string} iso */
const time = (iso) =>
  h(
    'time',
    { datetime: iso },
    live(() => formatDate(iso)),
  )

/** Most recently used first; this device before all. */
const order = (/** @type {Session} */ a, /** @type {Session} */ b) =>
  Number(b.current) - Number(a.current) ||
  (b.last_used_at ?? b.created_at).localeCompare(a.last_used_at ?? a.created_at)

/**
 * @param {Context} context
 * @param {(current: Session | null) => void} loaded tells what this session is (its aal)
 */
export function devicesCard(context, loaded) {
  const heading = h('h2', { id: 'security-devices', tabindex: -1 }, tr('devices.title'))
  const list = h('ul', { class: 'items', 'data-field': 'sessions', 'aria-busy': 'true' })
  const state = h('p', {}, tr('devices.loading'))
  const error = messageArea()
  const target = { fields: {}, setError: error.setError }

  /** @param {Session} session */
  function item(session) {
    const titleId = uid('session')
    const end = h('button', { type: 'button', 'aria-describedby': titleId }, tr('devices.end'))
    end.addEventListener('click', async () => {
      if (end.disabled) return
      end.disabled = true
      target.setError([])
      try {
        if (session.current) {
          await signOut()
          context.announce(tr('status.loggedOut'))
          return
        }
        await endSession(session.id)
        context.announce(tr('status.deviceSignedOut', { device: deviceText(session) }))
        await load()
        heading.focus()
      } catch (problem) {
        end.disabled = false
        showProblem(target, problem)
      }
    })
    return h(
      'li',
      { 'data-session': session.id, 'aria-labelledby': titleId },
      h(
        'h3',
        { id: titleId },
        live(() => deviceText(session)),
        session.current ? ' ' : null,
        session.current ? h('span', { class: 'badge ok' }, tr('devices.current')) : null,
      ),
      h(
        'dl',
        { class: 'details' },
        entry('devices.address', document.createTextNode(session.address ?? '–')),
        entry('devices.started', time(session.created_at)),
        entry('devices.lastActive', time(session.last_used_at ?? session.created_at)),
        entry('devices.strength', tr(`devices.aal.${session.aal}`)),
      ),
      h('div', { class: 'actions' }, end),
    )
  }

  async function load() {
    error.setError([])
    list.setAttribute('aria-busy', 'true')
    try {
      const { items } = await listSessions()
      list.replaceChildren(...[...items].sort(order).map(item))
      state.replaceChildren(tr('devices.count', { count: items.length }))
      loaded(items.find((session) => session.current) ?? null)
    } catch (problem) {
      state.replaceChildren(tr('devices.unavailable'))
      showProblem(target, problem)
    } finally {
      list.removeAttribute('aria-busy')
    }
  }
  void load()

  return {
    element: h(
      'section',
      { class: 'card', 'aria-labelledby': 'security-devices' },
      heading,
      state,
      error.element,
      list,
    ),
    load,
  }
}
