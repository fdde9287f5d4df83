// Adding a webhook: its URL, an optional description, and which events it gets (all, or the
// types ticked); then its signing secret, shown once, with Copy.
import { addWebhook } from '../admin-api.js'
import { h, uid } from '../dom.js'
import { EVENT_TYPES } from '../event-text.js'
import { field, form, messageArea } from '../forms.js'
import { tr } from '../i18n.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {import('../admin-api.js').NewWebhook} NewWebhook */

/**
 * A radio button or a checkbox with its label after it.
 * @param {'radio' | 'checkbox'} type
 * @param {string} name
 * @param {string} value
 * @param {Node} label
 * @param {boolean} [checked]
 */
function choice(type, name, value, label, checked = false) {
  const id = uid(name)
  const input = h('input', { type, id, name, value, checked })
  return { input, root: h('div', { class: 'check' }, input, h('label', { for: id }, label)) }
}

/** Which event types: every one (the default), or those ticked. */
function typesChoice() {
  const all = choice('radio', 'types-mode', 'all', tr('webhooks.typesAll'), true)
  const some = choice('radio', 'types-mode', 'some', tr('webhooks.typesSome'))
  const boxes = EVENT_TYPES.map((type) =>
    choice(
      'checkbox',
      'types',
      type,
      h('span', {}, tr(`eventType.${type}`), ' ', h('code', {}, type)),
    ),
  )
  const error = messageArea({ class: 'field-error', id: uid('types-error') })
  const grid = h('div', { class: 'type-grid', hidden: true }, ...boxes.map((box) => box.root))
  const update = () => {
    grid.hidden = !some.input.checked
    error.setError([])
  }
  all.input.addEventListener('change', update)
  some.input.addEventListener('change', update)
  const root = h(
    'fieldset',
    { class: 'types', 'aria-describedby': error.element.id },
    h('legend', {}, tr('webhooks.typesLegend')),
    h('div', { class: 'choice' }, all.root, some.root),
    grid,
    error.element,
  )
  return {
    root,
    /** @returns {string[] | null | undefined} null: every type; undefined: none ticked */
    value() {
      if (!some.input.checked) return null
      const ticked = boxes.filter((box) => box.input.checked).map((box) => box.input.value)
      return ticked.length > 0 ? ticked : undefined
    },
    /** Says that none is ticked, and goes there. */
    refuseNone() {
      error.setError([tr('webhooks.typesNone')])
      boxes[0]?.input.focus()
    },
  }
}

/**
 * The secret of a new webhook, shown once.
 * @param {NewWebhook} webhook
 * @param {() => void} hide
 */
function secretPanel(webhook, hide) {
  const id = uid('secret')
  const news = messageArea({ class: 'note', role: 'status' })
  const actions = h('div', { class: 'actions' })
  if (navigator.clipboard?.writeText) {
    const copy = h('button', { type: 'button', class: 'primary' }, tr('webhooks.copy'))
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(webhook.secret)
        news.setError([tr('webhooks.copied')])
      } catch {
        news.setError([tr('webhooks.copyFailed')])
      }
    })
    actions.append(copy)
  }
  const done = h('button', { type: 'button' }, tr('webhooks.hideSecret'))
  done.addEventListener('click', hide)
  actions.append(done)
  return h(
    'section',
    { class: 'new-codes', 'aria-labelledby': id, 'data-field': 'new-secret' },
    h('h3', { id, tabindex: -1 }, tr('webhooks.secretTitle')),
    h('p', { class: 'secret-url url' }, webhook.url),
    h('p', { class: 'warning' }, tr('webhooks.secretOnce')),
    h('code', { class: 'secret', 'data-field': 'secret' }, webhook.secret),
    actions,
    news.element,
  )
}

/**
 * The card that adds a webhook. `added` runs once the service made it.
 * @param {Context} context
 * @param {(webhook: NewWebhook) => Promise<void>} added
 */
export function addWebhookCard(context, added) {
  const heading = h('h2', { id: 'webhooks-add', tabindex: -1 }, tr('webhooks.addTitle'))
  const url = field({
    name: 'url',
    type: 'url',
    autocomplete: 'off',
    hint: tr('webhooks.urlHint'),
    maxlength: 2048,
  })
  const description = field({ name: 'description', optional: true, maxlength: 500 })
  const types = typesChoice()
  const adding = form({
    legend: 'webhooks.addLegend',
    fields: [url, description],
    submit: 'webhooks.add',
  })
  adding.form.querySelector('fieldset')?.append(types.root)
  const secret = h('div', {})

  adding.onSubmit(async () => {
    const chosen = types.value()
    if (chosen === undefined) {
      types.refuseNone()
      return
    }
    const text = description.input.value.trim()
    const webhook = await addWebhook({
      url: url.input.value.trim(),
      ...(chosen ? { types: chosen } : {}),
      ...(text ? { description: text } : {}),
    })
    context.announce(tr('status.webhookAdded', { url: webhook.url }))
    adding.form.reset()
    types.root.querySelector('.type-grid')?.setAttribute('hidden', '')
    secret.replaceChildren(
      secretPanel(webhook, () => {
        secret.replaceChildren()
        heading.focus()
      }),
    )
    secret.querySelector('h3')?.focus()
    await added(webhook)
  })

  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'webhooks-add' },
    heading,
    h('p', {}, tr('webhooks.addIntro')),
    secret,
    adding.form,
  )
}
