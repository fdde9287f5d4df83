import { tr } from './i18n.js'

/**
 * Builds an element: attributes (true → present, false/null/undefined → absent) and children.
 * Text goes in as text nodes, never as HTML.
 *
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number | boolean | null | undefined>} [attributes]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue
    element.setAttribute(name, value === true ? '' : String(value))
  }
  for (const child of children) if (child) element.append(child)
  return element
}

/**
 * A view's heading: what the view's section is labelled by, and where the focus goes when the
 * view is shown.
 * @param {import('./i18n.js').MessageKey} key
 */
export function viewTitle(key) {
  return h('h1', { id: 'view-title', tabindex: -1 }, tr(key))
}

let counter = 0

/** @param {string} prefix a unique id for a new element */
export function uid(prefix) {
  counter += 1
  return `${prefix}-${counter}`
}

/**
 * Gives the focus to the first element in `container` that matches `selector`, if any.
 * @param {ParentNode} container
 * @param {string} selector
 */
export function focusIn(container, selector) {
  const element = container.querySelector(selector)
  if (element instanceof HTMLElement) element.focus()
}
