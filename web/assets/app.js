// The page: a hash router over four views, the status region, the language switch, and the
// session (restored from the refresh cookie on load).
import { currentUser, onSession, restore } from './api.js'
import { h, viewTitle } from './dom.js'
import { getLocale, initI18n, onLocaleChange, setLocale, t, tr } from './i18n.js'
import { loadPolicy } from './password.js'
import { accountView } from './views/account.js'
import { authView } from './views/auth.js'
import { usersView } from './views/users.js'

/** @typedef {'signin' | 'signup' | 'account' | 'users'} Route */

/**
 * What views get from the page.
 * @typedef {object} Context
 * @property {(message: Node) => void} announce says something in the status region
 * @property {(route: Route) => void} navigate
 */

/** @type {Record<Route, import('./i18n.js').MessageKey>} */
const TITLES = {
  signin: 'signin.title',
  signup: 'signup.title',
  account: 'account.title',
  users: 'users.title',
}

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
function byId(id, type) {
  const element = document.getElementById(id)
  if (!(element instanceof type)) throw new Error(`#${id} is missing from index.html`)
  return element
}

const main = byId('main', HTMLElement)
const view = byId('view', HTMLElement)
const status = byId('status', HTMLElement)
const nav = byId('nav', HTMLElement)
const lang = byId('lang', HTMLSelectElement)
const skip = byId('skip', HTMLAnchorElement)

/** @type {Context} */
const context = {
  announce(message) {
    status.replaceChildren(message)
  },
  navigate(route) {
    if (location.hash !== `#/${route}`) history.pushState(null, '', `#/${route}`)
    render(true)
  },
}

/**
 * @param {string} hash
 * @returns {Route | null}
 */
function routeOf(hash) {
  const name = hash.replace(/^#\/?/, '')
  return Object.hasOwn(TITLES, name) ? /** @type {Route} */ (name) : null
}

/** The route to show: the one asked for, unless it needs a session we lack (or the reverse). */
function resolve() {
  const signedIn = currentUser() !== null
  const asked = routeOf(location.hash) ?? (signedIn ? 'account' : 'signin')
  if (!signedIn && (asked === 'account' || asked === 'users')) return 'signin'
  if (signedIn && (asked === 'signin' || asked === 'signup')) return 'account'
  return asked
}

/** @param {Route} route */
function build(route) {
  const user = currentUser()
  if (!user) return authView(context, route === 'signup' ? 'signup' : 'signin')
  if (route === 'account') return accountView(context, user)
  if (user.role === 'admin') return usersView(context, user)
  return h('div', {}, viewTitle('users.title'), h('p', {}, tr('users.forbidden')))
}

/** @param {Route} route */
function setTitle(route) {
  document.title = `${t(TITLES[route])} – ${t('app.name')}`
}

/**
 * @param {Route} route
 * @param {import('./i18n.js').MessageKey} label
 * @param {Route} current
 */
function link(route, label, current) {
  return h(
    'a',
    { href: `#/${route}`, 'aria-current': route === current ? 'page' : null },
    tr(label),
  )
}

/** @param {Route} current */
function renderNav(current) {
  const user = currentUser()
  /** @type {[Route, import('./i18n.js').MessageKey][]} */
  const links = !user
    ? [
        ['signin', 'nav.signin'],
        ['signup', 'nav.signup'],
      ]
    : [['account', 'nav.account']]
  if (user?.role === 'admin') links.push(['users', 'nav.users'])
  nav.replaceChildren(
    h('ul', {}, ...links.map(([route, label]) => h('li', {}, link(route, label, current)))),
  )
}

/** @type {string | null} */
let shown = null

/** @param {boolean} focus move the focus to the new view's heading (not on first load) */
function render(focus) {
  const route = resolve()
  const key = `${route}:${currentUser()?.id ?? ''}`
  if (location.hash !== `#/${route}`) history.replaceState(null, '', `#/${route}`)
  if (key === shown) return
  shown = key
  view.replaceChildren(build(route))
  renderNav(route)
  setTitle(route)
  if (focus) view.querySelector('h1')?.focus()
}

window.addEventListener('hashchange', () => {
  // Other fragments are not routes (there are none, but be safe).
  if (location.hash !== '' && routeOf(location.hash) === null) return
  status.replaceChildren()
  render(true)
})

skip.addEventListener('click', (event) => {
  event.preventDefault()
  main.focus()
})

onSession((event) => {
  if (event === 'expired') context.announce(tr('status.sessionEnded'))
  context.navigate(resolve())
})

initI18n()
lang.value = getLocale()
lang.addEventListener('change', () => setLocale(lang.value))
onLocaleChange(() => {
  const route = routeOf(location.hash)
  if (route) setTitle(route)
})

void loadPolicy()
await restore()
render(false)
document.body.dataset.ready = 'true'
