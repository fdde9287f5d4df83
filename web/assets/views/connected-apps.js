// The applications the user allowed to sign them in with this account (OpenID Connect consents):
// each with what it may see and since when, and a way to take that back (its tokens end, and it
// must ask again next time).
import { ApiError, listConsents, withdrawConsent } from '../api.js'
import { h, uid } from '../dom.js'
import { messageArea, showProblem } from '../forms.js'
import { formatDate, live, tr, trAttr } from '../i18n.js'
import { scopeList } from './scopes.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {import('../api.js').Consent} Consent */

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

/** @param {Context} context */
export function connectedAppsCard(context) {
  const heading = h('h2', { id: 'account-apps', tabindex: -1 }, tr('apps.title'))
  const state = h('p', { 'data-field': 'apps-state' }, tr('apps.loading'))
  const list = h('ul', { class: 'items', 'data-field': 'apps', 'aria-busy': 'true' })
  const error = messageArea()
  const target = { fields: {}, setError: error.setError }

  /** @param {Consent} consent */
  function item(consent) {
    const titleId = uid('app')
    const name = consent.client_name
    const actions = h('div', {})
    const showButton = () => {
      const remove = h('button', { type: 'button' }, tr('apps.remove'))
      trAttr(remove, 'aria-label', 'apps.removeLabel', { name })
      remove.addEventListener('click', confirm)
      actions.replaceChildren(h('div', { class: 'actions' }, remove))
    }
    const confirm = () => {
      const yes = h('button', { type: 'button', class: 'danger' }, tr('apps.confirmYes'))
      trAttr(yes, 'aria-label', 'apps.confirmYesLabel', { name })
      const no = h('button', { type: 'button' }, tr('apps.confirmNo'))
      const buttons = h('div', { class: 'actions' }, yes, no)
      const questionError = messageArea()
      no.addEventListener('click', () => {
        showButton()
        actions.querySelector('button')?.focus()
      })
      yes.addEventListener('click', async () => {
        if (buttons.hasAttribute('aria-busy')) return
        buttons.setAttribute('aria-busy', 'true')
        questionError.setError([])
        try {
          await withdrawConsent(consent.client_id)
          context.announce(tr('status.appRemoved', { name }))
        } catch (problem) {
          // Already gone (another tab, or the application was removed): the list says so.
          if (!(problem instanceof ApiError && problem.code === 'not_found')) {
            buttons.removeAttribute('aria-busy')
            showProblem({ fields: {}, setError: questionError.setError }, problem)
            return
          }
          context.announce(tr('status.appGone', { name }))
        }
        await load()
        heading.focus()
      })
      actions.replaceChildren(
        h(
          'div',
          { class: 'question', role: 'group', 'aria-labelledby': titleId },
          h('p', { class: 'warning' }, tr('apps.confirm', { name })),
          questionError.element,
          buttons,
        ),
      )
      no.focus()
    }
    showButton()
    const changed = consent.updated_at !== consent.granted_at
    return h(
      'li',
      { 'data-client': consent.client_id, 'aria-labelledby': titleId },
      h('h3', { id: titleId }, name),
      h(
        'dl',
        { class: 'details app-details' },
        entry('apps.access', scopeList(consent.scopes)),
        entry('apps.granted', time(consent.granted_at)),
        changed ? entry('apps.updated', time(consent.updated_at)) : null,
      ),
      actions,
    )
  }

  async function load() {
    error.setError([])
    list.setAttribute('aria-busy', 'true')
    try {
      const { consents } = await listConsents()
      // In the service's order: the most recently allowed first.
      list.replaceChildren(...consents.map(item))
      list.hidden = consents.length === 0
      state.replaceChildren(
        consents.length === 0 ? tr('apps.empty') : tr('apps.count', { count: consents.length }),
      )
    } catch (problem) {
      state.replaceChildren(tr('apps.unavailable'))
      showProblem(target, problem)
    } finally {
      list.removeAttribute('aria-busy')
    }
  }
  void load()

  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'account-apps' },
    heading,
    h('p', {}, tr('apps.intro')),
    state,
    error.element,
    list,
  )
}
