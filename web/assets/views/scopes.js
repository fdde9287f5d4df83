// What an application may know or do with the account, in plain words: the consent screen asks
// for it, the account page's connected applications say what was allowed.
import { h } from '../dom.js'
import { tr } from '../i18n.js'

/** @typedef {import('../i18n.js').MessageKey} MessageKey */

/** The scopes the provider knows, each with its words (src/oidc: the claims by scope). */
/** @type {Record<string, MessageKey>} */
const KNOWN = {
  openid: 'scope.openid',
  profile: 'scope.profile',
  email: 'scope.email',
  offline_access: 'scope.offline_access',
}

/**
 * The list of what the scopes allow, in the order the provider gives them; a scope without words
 * (one the page does not know yet) by its own name.
 * @param {readonly string[]} scopes
 */
export function scopeList(scopes) {
  const known = scopes.filter((scope) => Object.hasOwn(KNOWN, scope))
  const other = scopes.filter((scope) => !Object.hasOwn(KNOWN, scope))
  return h(
    'ul',
    { class: 'scopes', 'data-field': 'scopes' },
    ...known.map((scope) => h('li', { 'data-scope': scope }, tr(KNOWN[scope] ?? 'scope.other'))),
    ...other.map((scope) =>
      h('li', { 'data-scope': scope }, tr('scope.other', { scope: scope.slice(0, 100) })),
    ),
  )
}
