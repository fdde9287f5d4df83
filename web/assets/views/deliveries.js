// A webhook's latest deliveries: which event, delivered, failed or waiting, how many tries and
// what the endpoint last answered; a failed one can be retried at once.
import { listDeliveries, retryDelivery } from '../admin-api.js'
import { h, uid } from '../dom.js'
import { EVENT_TYPES } from '../event-text.js'
import { messageArea, showProblem } from '../forms.js'
import { formatDate, live, t, tr, trAttr } from '../i18n.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {import('../admin-api.js').Webhook} Webhook */
/** @typedef {import('../admin-api.js').Delivery} Delivery */
/** @typedef {import('../admin-api.js').DeliveryStatus} DeliveryStatus */
/** @typedef {import('../i18n.js').MessageKey} MessageKey */

const STATUSES = /** @type {const} */ (['failed', 'pending', 'delivered'])
const BADGES = { delivered: 'badge ok', failed: 'badge warn', pending: 'badge' }

/**
 * A type's words, or the type itself when this page does not know it.
 * @param {string} type
 */
function typeLabel(type) {
  const known = /** @type {readonly string[]} */ (EVENT_TYPES).includes(type)
  return known ? tr(/** @type {MessageKey} */ (`eventType.${type}`)) : document.createTextNode(type)
}

/**
 * @param {MessageKey} key
 * @param {string} iso
 */
const when = (key, iso) =>
  h(
    'span',
    { class: 'event-part' },
    live(() => t(key, { time: formatDate(iso, 'medium') })),
  )

/** @param {Delivery} delivery */
function details(delivery) {
  /** @type {Node[]} */
  const parts = [
    h(
      'span',
      { class: 'event-part' },
      tr('deliveries.attempts', { count: delivery.attempts ?? 0 }),
    ),
  ]
  if (delivery.last_status_code) {
    parts.push(
      h(
        'span',
        { class: 'event-part' },
        tr('deliveries.http', { code: delivery.last_status_code }),
      ),
    )
  }
  if (delivery.status === 'delivered' && delivery.delivered_at) {
    parts.push(when('deliveries.deliveredAt', delivery.delivered_at))
  } else if (delivery.last_attempt_at) {
    parts.push(when('deliveries.lastTry', delivery.last_attempt_at))
  }
  if (delivery.status === 'pending') {
    parts.push(
      delivery.next_attempt_at
        ? when('deliveries.nextTry', delivery.next_attempt_at)
        : h('span', { class: 'event-part' }, tr('deliveries.soon')),
    )
  }
  return parts
}

/**
 * @param {Context} context
 * @param {Webhook} webhook
 */
export function deliveriesPanel(context, webhook) {
  const headingId = uid('deliveries')
  const filterId = uid('deliveries-filter')
  const filter = h(
    'select',
    { id: filterId },
    h('option', { value: '' }, tr('deliveries.all')),
    ...STATUSES.map((status) => h('option', { value: status }, tr(`deliveries.status.${status}`))),
  )
  const state = h('p', { class: 'muted' }, tr('deliveries.loading'))
  const list = h('ol', { class: 'deliveries', 'aria-labelledby': headingId, hidden: true })
  const error = messageArea()
  const target = { fields: {}, setError: error.setError }

  /** @param {Delivery} delivery */
  function item(delivery) {
    const status = STATUSES.includes(delivery.status) ? delivery.status : 'pending'
    const what = h(
      'p',
      { class: 'event-what' },
      h('span', { class: BADGES[status] }, tr(`deliveries.status.${status}`)),
      h('span', {}, typeLabel(delivery.event_type)),
      h('code', {}, delivery.event_type),
    )
    const row = h(
      'li',
      { 'data-delivery': delivery.id, 'data-status': status },
      what,
      h(
        'p',
        { class: 'event-meta' },
        ...details(delivery).flatMap((node, i) => (i > 0 ? [' ', node] : [node])),
      ),
    )
    if (delivery.last_error) row.append(h('p', { class: 'event-note' }, delivery.last_error))
    if (status === 'failed') {
      const retry = h('button', { type: 'button' }, tr('deliveries.retry'))
      trAttr(retry, 'aria-label', 'deliveries.retryLabel', { type: delivery.event_type })
      retry.addEventListener('click', async () => {
        if (retry.disabled) return
        retry.disabled = true
        target.setError([])
        try {
          await retryDelivery(webhook.id, delivery.id)
          context.announce(tr('status.deliveryRetried', { type: delivery.event_type }))
          await load()
          list.querySelector('li')?.focus()
        } catch (problem) {
          retry.disabled = false
          showProblem(target, problem)
        }
      })
      row.append(h('div', { class: 'actions' }, retry))
    }
    row.tabIndex = -1
    return row
  }

  async function load() {
    error.setError([])
    list.setAttribute('aria-busy', 'true')
    try {
      const status = /** @type {DeliveryStatus | ''} */ (filter.value)
      const { items } = await listDeliveries(webhook.id, status)
      list.replaceChildren(...items.map(item))
      list.hidden = items.length === 0
      state.hidden = items.length > 0
      state.replaceChildren(tr(status ? 'deliveries.noneWith' : 'deliveries.none'))
    } catch (problem) {
      state.replaceChildren(tr('deliveries.unavailable'))
      showProblem(target, problem)
    } finally {
      list.removeAttribute('aria-busy')
    }
  }
  filter.addEventListener('change', () => void load())
  void load()

  return h(
    'section',
    { class: 'deliveries-panel', 'aria-labelledby': headingId },
    h(
      'div',
      { class: 'panel-head' },
      h('h4', { id: headingId }, tr('deliveries.title')),
      h(
        'div',
        { class: 'field inline' },
        h('label', { for: filterId }, tr('deliveries.filter')),
        filter,
      ),
    ),
    state,
    error.element,
    list,
  )
}
