import en from './messages/en.js'
import ru from './messages/ru.js'

/** @typedef {keyof typeof en} MessageKey */
/** @typedef {import('./messages/en.js').Message} Message */
/** @typedef {'en' | 'ru'} Locale */
/** @typedef {Record<string, string | number>} Params */

/** @type {Record<Locale, Record<MessageKey, Message>>} */
const catalogues = { en, ru }
const STORAGE_KEY = 'usersvc.lang'

/**
 * @param {unknown} value
 * @returns {value is Locale}
 */
function isLocale(value) {
  return typeof value === 'string' && Object.hasOwn(catalogues, value)
}

/** The saved choice, else the first browser language we have, else English. */
function detect() {
  /** @type {string | null} */
  let saved = null
  try {
    saved = localStorage.getItem(STORAGE_KEY)
  } catch {
    // Storage may be disabled: the browser language still decides.
  }
  if (isLocale(saved)) return saved
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.toLowerCase().split('-')[0]
    if (isLocale(base)) return base
  }
  return 'en'
}

/** @type {Locale} */
let locale = detect()

export function getLocale() {
  return locale
}

/**
 * The message `key` in the current language, with `{name}` replaced from `params`; a plural
 * message picks its form by `params.count`.
 *
 * @param {MessageKey} key
 * @param {Params} [params]
 */
export function t(key, params = {}) {
  const message = catalogues[locale][key]
  let template
  if (typeof message === 'string') template = message
  else {
    const form = new Intl.PluralRules(locale).select(Number(params.count ?? 0))
    template = message[form] ?? message.other
  }
  return template.replace(
    /\{(\w+)\}/g,
    (/** @type {string} */ whole, /** @type {string} */ name) =>
      name in params ? String(params[name]) : whole,
  )
}

/**
 * @param {string} iso
 * @param {'long' | 'medium'} [dateStyle] medium where room is short (a table)
 */
export function formatDate(iso, dateStyle = 'long') {
  return new Intl.DateTimeFormat(locale, { dateStyle, timeStyle: 'short' }).format(new Date(iso))
}

// Nodes whose text follows the language. Weak references: a node that left the page and was
// collected takes its updater with it.
/** @type {WeakMap<Node, Array<() => void>>} */
const updaters = new WeakMap()
/** @type {Set<WeakRef<Node>>} */
const tracked = new Set()
/** @type {Set<() => void>} */
const listeners = new Set()

/**
 * @param {Node} node
 * @param {() => void} update
 */
function track(node, update) {
  const list = updaters.get(node)
  if (list) list.push(update)
  else {
    updaters.set(node, [update])
    tracked.add(new WeakRef(node))
  }
}

/**
 * A text node computed by `compute`, recomputed when the language changes.
 * @param {() => string} compute
 */
export function live(compute) {
  const node = document.createTextNode(compute())
  track(node, () => {
    node.data = compute()
  })
  return node
}

/**
 * A text node with the message `key`, in whatever language is chosen.
 * @param {MessageKey} key
 * @param {Params} [params]
 */
export function tr(key, params) {
  return live(() => t(key, params))
}

/**
 * Sets an attribute (aria-label, title…) to a message that follows the language.
 * @param {Element} element
 * @param {string} name
 * @param {MessageKey} key
 * @param {Params} [params]
 */
export function trAttr(element, name, key, params) {
  const update = () => element.setAttribute(name, t(key, params))
  update()
  track(element, update)
}

/** Translates the static page (elements with data-i18n="key"). */
function translateStatic() {
  document.documentElement.lang = locale
  for (const element of document.querySelectorAll('[data-i18n]')) {
    const key = /** @type {MessageKey} */ (element.getAttribute('data-i18n'))
    if (key in en) element.textContent = t(key)
  }
  for (const element of document.querySelectorAll('[data-i18n-label]')) {
    const key = /** @type {MessageKey} */ (element.getAttribute('data-i18n-label'))
    if (key in en) element.setAttribute('aria-label', t(key))
  }
}

/** @param {() => void} listener called after every change of language */
export function onLocaleChange(listener) {
  listeners.add(listener)
}

/** @param {string} next */
export function setLocale(next) {
  if (!isLocale(next)) return
  locale = next
  try {
    localStorage.setItem(STORAGE_KEY, next)
  } catch {
    // Not remembered, but still switched.
  }
  translateStatic()
  for (const ref of tracked) {
    const node = ref.deref()
    if (!node) tracked.delete(ref)
    else for (const update of updaters.get(node) ?? []) update()
  }
  for (const listener of listeners) listener()
}

export function initI18n() {
  translateStatic()
}
