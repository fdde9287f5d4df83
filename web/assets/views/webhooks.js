// Webhooks (administrators): the endpoints that get the security events, each with its latest
// deliveries; adding one (its secret shown once), pausing and resuming, deleting (asked first).

import { deleteWebhook, listWebhooks, setWebhookEnabled } from '../admin-api.js'
import { ApiError } from '../api.js'
import { focusIn, h, uid, viewTitle } from '../dom.js'
import { EVENT_TYPES } from '../event-text.js'
import { messageArea, showProblem } from '../forms.js'
import { formatDate, live, t, tr } from '../i18n.js'
import { deliveriesPanel } from './deliveries.js'
import { addWebhookCard } from './webhook-form.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {import('../admin-api.js').Webhook} Webhook */
/** @typedef {import('../i18n.js').MessageKey} MessageKey */

/**
 * @param {MessageKey} term
 * @param {Node} value
 * @param {string} [name] its data-field
 */
function entry(term, value, name) {
  return h('div', {}, h('dt', {}, tr(term)), h('dd', { 'data-field': name }, value))
}

/**
 * Which events it gets, in words: all of them, or the list.
 * @param {Webhook} webhook
 */
function typesText(webhook) {
  const { types } = webhook
  if (!Array.isArray(types)) return tr('webhooks.typesAllShort')
  const known = /** @type {readonly string[]} */ (EVENT_TYPES)
  return live(() =>
    types
      .map((type) =>
        known.includes(type) ? t(/** @type {MessageKey} */ (`eventType.${type}`)) : type,
      )
      .join(', '),
  )
}

/** @param {Context} context */
export function webhooksView(context) {
  const heading = h('h2', { id: 'webhooks-list', tabindex: -1 }, tr('webhooks.listTitle'))
  const state = h('p', { class: 'muted' }, tr('webhooks.loading'))
  const list = h('ul', {
    class: 'items webhooks',
    'aria-labelledby': 'webhooks-list',
    hidden: true,
  })
  const error = messageArea()
  const target = { fields: {}, setError: error.setError }

  /** @param {Webhook} webhook */
  function item(webhook) {
    const titleId = uid('webhook')
    const actions = h('div', {})
    const refused = async (/** @type {unknown} */ problem) => {
      // Deleted meanwhile (in another tab): the list as it is now, then the error.
      if (problem instanceof ApiError && problem.code === 'not_found') await load()
      showProblem(target, problem)
    }
    /** @param {'toggle' | 'delete'} [focus] */
    const showButtons = (focus) => {
      const toggle = h(
        'button',
        { type: 'button', 'data-action': 'toggle' },
        tr(webhook.enabled ? 'webhooks.disable' : 'webhooks.enable'),
      )
      toggle.setAttribute('aria-describedby', titleId)
      toggle.addEventListener('click', async () => {
        if (toggle.disabled) return
        toggle.disabled = true
        target.setError([])
        try {
          const updated = await setWebhookEnabled(webhook.id, !webhook.enabled)
          const key = updated.enabled ? 'status.webhookEnabled' : 'status.webhookDisabled'
          context.announce(tr(key, { url: updated.url }))
          const fresh = item({ ...webhook, ...updated })
          element.replaceWith(fresh)
          focusIn(fresh, '[data-action="toggle"]')
        } catch (problem) {
          toggle.disabled = false
          await refused(problem)
        }
      })
      const remove = h(
        'button',
        { type: 'button', class: 'danger', 'data-action': 'delete', 'aria-describedby': titleId },
        tr('webhooks.delete'),
      )
      remove.addEventListener('click', confirm)
      actions.replaceChildren(h('div', { class: 'actions' }, toggle, remove))
      if (focus) focusIn(actions, `[data-action="${focus}"]`)
    }
    const confirm = () => {
      const yes = h('button', { type: 'button', class: 'danger' }, tr('webhooks.deleteYes'))
      const no = h('button', { type: 'button' }, tr('webhooks.cancel'))
      no.addEventListener('click', () => showButtons('delete'))
      yes.addEventListener('click', async () => {
        if (yes.disabled) return
        yes.disabled = true
        target.setError([])
        try {
          await deleteWebhook(webhook.id)
          context.announce(tr('status.webhookDeleted', { url: webhook.url }))
          await load()
          heading.focus()
        } catch (problem) {
          yes.disabled = false
          await refused(problem)
        }
      })
      actions.replaceChildren(
        h(
          'div',
          { class: 'question' },
          h('p', { class: 'warning' }, tr('webhooks.deleteConfirm', { url: webhook.url })),
          h('div', { class: 'actions' }, yes, no),
        ),
      )
      yes.focus()
    }
    showButtons()

    const badge = webhook.enabled
      ? h('span', { class: 'badge ok' }, tr('webhooks.enabled'))
      : h('span', { class: 'badge warn' }, tr('webhooks.disabled'))
    const created = webhook.created_at
    const element = h(
      'li',
      { 'data-webhook': webhook.id, 'aria-labelledby': titleId },
      h('h3', {}, h('span', { id: titleId, class: 'url' }, webhook.url), badge),
      h(
        'dl',
        { class: 'details' },
        webhook.description
          ? entry('webhooks.description', document.createTextNode(webhook.description))
          : null,
        entry('webhooks.types', typesText(webhook), 'types'),
        created
          ? entry(
              'webhooks.created',
              live(() => formatDate(created)),
            )
          : null,
        webhook.disabled_reason
          ? entry('webhooks.disabledReason', document.createTextNode(webhook.disabled_reason))
          : null,
      ),
      actions,
      deliveriesPanel(context, webhook),
    )
    return element
  }

  async function load() {
    error.setError([])
    list.setAttribute('aria-busy', 'true')
    try {
      const webhooks = await listWebhooks()
      list.replaceChildren(...webhooks.map(item))
      list.hidden = webhooks.length === 0
      state.hidden = webhooks.length > 0
      state.replaceChildren(tr('webhooks.empty'))
    } catch (problem) {
      state.replaceChildren(tr('webhooks.unavailable'))
      showProblem(target, problem)
    } finally {
      list.removeAttribute('aria-busy')
    }
  }
  void load()

  return h(
    'div',
    {},
    viewTitle('webhooks.title'),
    h('p', {}, tr('webhooks.intro')),
    addWebhookCard(context, () => load()),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'webhooks-list' },
      heading,
      state,
      error.element,
      list,
    ),
  )
}
