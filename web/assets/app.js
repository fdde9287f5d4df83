// The page: a hash router over its views (`#/route?name=value`: links in mail carry their code
// in this fragment, which no server receives), the status region, the language switch, and the
// session (restored from the refresh cookie on load). Served at /oauth2/interaction/:uid too, as
// the OpenID provider's sign-in for another application: no routes there, only that sign-in.
import { currentUser, onSession, restore, signOut } from './api.js'
import { h, viewTitle } from './dom.js'
import { onStepUp } from './forms.js'
import { getLocale, initI18n, onLocaleChange, setLocale, t, tr } from './i18n.js'
import { loadPolicy } from './password.js'
import { accountView } from './views/account.js'
import { activityView } from './views/activity.js'
import { authView } from './views/auth.js'
import { runInteraction } from './views/interaction.js'
import { forgotView, recoverView, savedCodeView } from './views/recovery.js'
import { securityView } from './views/security.js'
import { userEventsView } from './views/user-events.js'
import { usersView } from './views/users.js'
import { verifyEmailView } from './views/verify-email.js'
import { webhooksView } from './views/webhooks.js'

/**
 * @typedef {'signin' | 'signup' | 'forgot' | 'recover' | 'recovery-code' | 'verify-email'
 *   | 'account' | 'security' | 'activity' | 'users' | 'user-events' | 'webhooks'} Route
 */

/**
 * What views get from the page.
 * @typedef {object} Context
 * @property {(message: Node) => void} announce says something in the status region
 * @property {(route: Route, params?: Record<string, string>) => void} navigate
 * @property {(cleanup: () => void) => void} onLeave runs `cleanup` when the view is replaced
 */

/** @type {Record<Route, import('./i18n.js').MessageKey>} */
const TITLES = {
  signin: 'signin.title',
  signup: 'signup.title',
  forgot: 'forgot.title',
  recover: 'recover.title',
  'recovery-code': 'saved.title',
  'verify-email': 'verify.title',
  account: 'account.title',
  security: 'security.title',
  activity: 'activity.title',
  users: 'users.title',
  'user-events': 'userEvents.title',
  webhooks: 'webhooks.title',
}

/** Routes for a signed-in user only, and of those, for administrators only. */
const SIGNED_IN = new Set(['account', 'security', 'activity', 'users', 'user-events', 'webhooks'])
/** @type {Record<string, import('./i18n.js').MessageKey>} what others are told there */
const ADMIN_ONLY = {
  users: 'users.forbidden',
  'user-events': 'users.forbidden',
  webhooks: 'webhooks.forbidden',
}

/** Where signing in leads back to, when a view sent the user to sign in again (`?next=`). */
const RETURNS = new Set(['account', 'security', 'activity'])

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

/**
 * The provider's interaction this page is, if it is one: an application sent the browser here to
 * sign in (the uid is the provider's, in the path).
 * @returns {string | null}
 */
function interactionUid() {
  const match = /^\/oauth2\/interaction\/([^/]+)$/.exec(location.pathname)
  if (!match?.[1]) return null
  try {
    return decodeURIComponent(match[1])
  } catch {
    return match[1]
  }
}
const interaction = interactionUid()

const main = byId('main', HTMLElement)
const view = byId('view', HTMLElement)
const status = byId('status', HTMLElement)
const nav = byId('nav', HTMLElement)
const lang = byId('lang', HTMLSelectElement)
const skip = byId('skip', HTMLAnchorElement)

/** @type {Array<() => void>} */
let leaving = []

/** @type {Context} */
const context = {
  onLeave(cleanup) {
    leaving.push(cleanup)
  },
  announce(message) {
    status.replaceChildren(message)
  },
  navigate(route, params) {
    // The interaction has no routes: another view is the page's own, at its own address.
    if (interaction !== null) {
      location.assign(`/#/${route}${params ? `?${new URLSearchParams(params)}` : ''}`)
      return
    }
    const query = new URLSearchParams(params).toString()
    const hash = `#/${route}${query ? `?${query}` : ''}`
    // Staying on the route without new parameters keeps the ones it has (a code from a link).
    if (params !== undefined || parse(location.hash).route !== route) {
      if (location.hash !== hash) history.pushState(null, '', hash)
    }
    render(true)
  },
}

/**
 * @param {string} hash
 * @returns {{ route: Route | null, params: URLSearchParams }}
 */
function parse(hash) {
  const text = hash.replace(/^#\/?/, '')
  const at = text.indexOf('?')
  const name = at < 0 ? text : text.slice(0, at)
  const params = new URLSearchParams(at < 0 ? '' : text.slice(at + 1))
  return { route: Object.hasOwn(TITLES, name) ? /** @type {Route} */ (name) : null, params }
}

/**
 * The route to show: the one asked for, unless it needs a session we lack (or the reverse).
 * Recovery works with or without a session; confirming an address asks to sign in first, on its
 * own route (which keeps the code of its link).
 * @param {Route | null} asked
 * @param {URLSearchParams} [params] the asked route's
 * @returns {Route}
 */
function resolve(asked, params = new URLSearchParams()) {
  const signedIn = currentUser() !== null
  const route = asked ?? (signedIn ? 'account' : 'signin')
  // A new password is for an account: without one named, ask for it first.
  if (route === 'recover' && !params.get('login') && !params.get('email')) return 'forgot'
  if (!signedIn && SIGNED_IN.has(route)) return 'signin'
  if (signedIn && (route === 'signin' || route === 'signup')) {
    const next = params.get('next') ?? ''
    return RETURNS.has(next) ? /** @type {Route} */ (next) : 'account'
  }
  return route
}

/**
 * @param {Route} route
 * @param {URLSearchParams} params
 */
function build(route, params) {
  const user = currentUser()
  if (route === 'forgot') return forgotView(context, params)
  if (route === 'recover') return recoverView(context, params)
  if (route === 'recovery-code') return savedCodeView(context, params)
  if (route === 'verify-email') return verifyEmailView(context, user, params)
  if (!user) return authView(context, route === 'signup' ? 'signup' : 'signin', params)
  if (route === 'account') return accountView(context, user)
  if (route === 'security') return securityView(context)
  if (route === 'activity') return activityView()
  const refusal = ADMIN_ONLY[route]
  if (user.role !== 'admin' && refusal) {
    return h('div', {}, viewTitle(TITLES[route]), h('p', {}, tr(refusal)))
  }
  if (route === 'user-events') return userEventsView(context, user, params)
  if (route === 'webhooks') return webhooksView(context)
  return usersView(context, user)
}

/**
 * Whether the view shown took the link's code into its form, so that the code can leave the
 * address bar (and the history): the form holds it now.
 * @param {Route} route
 */
function takesCode(route) {
  return route === 'recover' || (route === 'verify-email' && currentUser() !== null)
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
  // A user's events are a part of the user list.
  const within = route === 'users' && current === 'user-events'
  return h(
    'a',
    { href: `#/${route}`, 'aria-current': route === current ? 'page' : within ? 'true' : null },
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
    : [
        ['account', 'nav.account'],
        ['security', 'nav.security'],
        ['activity', 'nav.activity'],
      ]
  if (user?.role === 'admin') links.push(['users', 'nav.users'], ['webhooks', 'nav.webhooks'])
  nav.replaceChildren(
    h('ul', {}, ...links.map(([route, label]) => h('li', {}, link(route, label, current)))),
  )
}

/** @type {string | null} */
let shown = null

/** @param {boolean} focus move the focus to the new view's heading (not on first load) */
function render(focus) {
  const asked = parse(location.hash)
  const route = resolve(asked.route, asked.params)
  // The parameters are for the route they came with.
  const params = route === asked.route ? asked.params : new URLSearchParams()
  const query = () => (params.size > 0 ? `?${params}` : '')
  if (location.hash !== `#/${route}${query()}`) {
    history.replaceState(null, '', `#/${route}${query()}`)
  }
  const key = `${route}${query()}:${currentUser()?.id ?? ''}`
  if (key === shown) return
  for (const cleanup of leaving) cleanup()
  leaving = []
  view.replaceChildren(build(route, params))
  if (params.has('code') && takesCode(route)) {
    params.delete('code')
    history.replaceState(null, '', `#/${route}${query()}`)
  }
  shown = `${route}${query()}:${currentUser()?.id ?? ''}`
  renderNav(route)
  setTitle(route)
  if (focus) view.querySelector('h1')?.focus()
}

/** @type {import('./i18n.js').MessageKey} */
let interactionTitle = 'signin.title'

/**
 * A view of the interaction: replaces the one shown (whose cleanups run), under its title.
 * @param {Node} next
 * @param {import('./i18n.js').MessageKey} title
 */
function showInteraction(next, title) {
  const first = shown === null
  for (const cleanup of leaving) cleanup()
  leaving = []
  view.replaceChildren(next)
  shown = 'interaction'
  interactionTitle = title
  document.title = `${t(title)} – ${t('app.name')}`
  if (!first) view.querySelector('h1')?.focus()
}

window.addEventListener('hashchange', () => {
  if (interaction !== null) return
  // Other fragments are not routes (there are none, but be safe).
  if (location.hash !== '' && parse(location.hash).route === null) return
  status.replaceChildren()
  render(true)
})

skip.addEventListener('click', (event) => {
  event.preventDefault()
  main.focus()
})

onSession((event) => {
  // The interaction follows the session itself (views/interaction.js).
  if (interaction !== null) return
  if (event === 'expired') context.announce(tr('status.sessionEnded'))
  const { route, params } = parse(location.hash)
  context.navigate(resolve(route, params))
})

// A change that needs a session signed in with the second factor: sign out of this one, sign in
// again (the login filled in), and come back here.
onStepUp(async () => {
  const login = currentUser()?.login
  const { route } = parse(location.hash)
  await signOut().catch(() => {})
  context.navigate('signin', {
    ...(login ? { login } : {}),
    next: route && RETURNS.has(route) ? route : 'account',
  })
  context.announce(tr('status.stepUp'))
})

initI18n()
lang.value = getLocale()
lang.addEventListener('change', () => setLocale(lang.value))
onLocaleChange(() => {
  if (interaction !== null) {
    document.title = `${t(interactionTitle)} – ${t('app.name')}`
    return
  }
  const { route } = parse(location.hash)
  if (route) setTitle(route)
})

void loadPolicy()
await restore()
if (interaction !== null) {
  // Nothing to navigate to: this page is the application's sign-in until it sends the browser back.
  nav.hidden = true
  document.body.dataset.mode = 'interaction'
  runInteraction(interaction, { context, show: showInteraction })
} else render(false)
document.body.dataset.ready = 'true'
