// The account's second factors (authenticator apps and passkeys): each with when it was added and
// last used, and its removal, confirmed by the password.
import { listFactors, removeFactor } from '../api.js'
import { h, uid } from '../dom.js'
import { form, messageArea, passwordField, showProblem } from '../forms.js'
import { formatDate, live, t, tr, trAttr } from '../i18n.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {import('../api.js').Factor} Factor */
/** @typedef {import('../api.js').FactorList} FactorList */

/** The names the service gives factors that were not named: their kind's, in English. */
const DEFAULT_NAMES = { totp: 'Authenticator app', passkey: 'Passkey' }

/** @param {Factor} factor */
const named = (factor) => factor.name !== null && factor.name !== DEFAULT_NAMES[factor.type]

/**
 * A factor's name: its own, else its kind's (in the page's language).
 * @param {Factor} factor
 */
export function factorName(factor) {
  return named(factor) ? String(factor.name) : t(`factors.type.${factor.type}`)
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

/**
 * The list, and what it says about the account's sign-in. `changed` runs after a removal,
 * `loaded` with the factors each time the list is (re)loaded.
 * @param {Context} context
 * @param {{ changed: () => void, loaded: (factors: Factor[]) => void }} hooks
 */
export function factorsCard(context, { changed, loaded }) {
  const heading = h('h2', { id: 'security-factors', tabindex: -1 }, tr('factors.title'))
  const state = h('p', { 'data-field': 'mfa-state' }, tr('factors.loading'))
  const list = h('ul', { class: 'items', 'data-field': 'factors' })
  const codes = h('p', { 'data-field': 'codes-left' })
  const error = messageArea()
  const target = { fields: {}, setError: error.setError }

  /**
   * @param {Factor} factor
   * @param {boolean} last the only one: removing it turns two-step sign-in off
   */
  function item(factor, last) {
    const titleId = uid('factor')
    const actions = h('div', {})
    const showButton = () => {
      const remove = h('button', { type: 'button' }, tr('factors.remove'))
      trAttr(remove, 'aria-label', 'factors.removeLabel', { name: factorName(factor) })
      remove.addEventListener('click', confirm)
      actions.replaceChildren(h('div', { class: 'actions' }, remove))
    }
    const confirm = () => {
      const password = passwordField({ name: 'password', autocomplete: 'current-password' })
      const cancel = h('button', { type: 'button' }, tr('factors.cancel'))
      const removal = form({
        legend: 'factors.removeLegend',
        fields: [password],
        submit: 'factors.removeSubmit',
        danger: true,
        before: last ? [h('p', { class: 'warning' }, tr('factors.lastNote'))] : [],
        after: [cancel],
      })
      cancel.addEventListener('click', () => {
        showButton()
        actions.querySelector('button')?.focus()
      })
      removal.onSubmit(
        async () => {
          await removeFactor(factor.id, password.input.value)
          context.announce(tr('status.factorRemoved', { name: factorName(factor) }))
          changed()
          await load()
          heading.focus()
        },
        { credentials: 'confirm', credentialsField: 'password' },
      )
      actions.replaceChildren(removal.form)
      password.input.focus()
    }
    showButton()
    return h(
      'li',
      { 'data-factor': factor.id, 'aria-labelledby': titleId },
      h(
        'h3',
        { id: titleId },
        live(() => factorName(factor)),
        // Its kind, unless its name already is that.
        named(factor) ? h('span', { class: 'badge' }, tr(`factors.type.${factor.type}`)) : null,
      ),
      h(
        'dl',
        { class: 'details' },
        entry('factors.added', time(factor.created_at)),
        entry(
          'factors.lastUsed',
          factor.last_used_at ? time(factor.last_used_at) : tr('factors.never'),
        ),
      ),
      actions,
    )
  }

  /** @param {FactorList} factors */
  function show({ items, recovery_codes_remaining: left }) {
    state.replaceChildren(tr(items.length > 0 ? 'factors.on' : 'factors.off'))
    list.replaceChildren(...items.map((factor) => item(factor, items.length === 1)))
    list.hidden = items.length === 0
    codes.replaceChildren(
      left > 0
        ? tr('factors.codesLeft', { count: left })
        : h(
            'span',
            { class: 'warning' },
            tr('factors.noCodes'),
            ' ',
            h('a', { href: '#/account' }, tr('factors.toCodes')),
          ),
    )
    codes.hidden = items.length === 0 && left === 0
    loaded(items)
  }

  async function load() {
    error.setError([])
    try {
      show(await listFactors())
    } catch (problem) {
      state.replaceChildren(tr('factors.unavailable'))
      showProblem(target, problem)
    }
  }
  void load()

  return {
    element: h(
      'section',
      { class: 'card', 'aria-labelledby': 'security-factors' },
      heading,
      state,
      error.element,
      list,
      codes,
    ),
    load,
  }
}
