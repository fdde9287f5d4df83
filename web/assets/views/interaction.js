// The sign-in page as the OpenID provider's interaction (/oauth2/interaction/:uid): another
// application sent the user here to sign in with usersvc. The page asks what the application
// wants (a sign-in, or the user's consent), signs in as it always does (password and second step,
// or a passkey; nothing when a session is open and the application did not ask for a fresh
// sign-in), hands the session's access token to the provider, and follows its redirect back.
import {
  ApiError,
  currentUser,
  interactionAbort,
  interactionConsent,
  interactionDetails,
  interactionLogin,
  onSession,
  signOut,
} from '../api.js'
import { h } from '../dom.js'
import { messageArea, showProblem } from '../forms.js'
import { tr } from '../i18n.js'
import { signInForm, signUpForm } from './auth.js'
import { scopeList } from './scopes.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {import('../api.js').InteractionDetails} InteractionDetails */
/** @typedef {import('../i18n.js').MessageKey} MessageKey */

/**
 * What the page gives the interaction: the views' context, and a way to show a view (under the
 * document title `title`; the focus goes to its heading unless it is the first one shown).
 * @typedef {{ context: Context, show: (view: Node, title: MessageKey) => void }} Shell
 */

/** @typedef {'loading' | 'signin' | 'signup' | 'working' | 'consent' | 'leaving' | 'over'} State */

/** @param {unknown} error @param {string} code */
const is = (error, code) => error instanceof ApiError && error.code === code

/**
 * The view's heading: a message with the application's name in it.
 * @param {MessageKey} key
 * @param {Record<string, string>} [params]
 */
function title(key, params) {
  return h('h1', { id: 'view-title', tabindex: -1 }, tr(key, params))
}

/**
 * The application's initial in a circle: for the eye only (its name is in the heading).
 * @param {string} name
 */
function clientMark(name) {
  const initial = [...name.trim()][0]?.toLocaleUpperCase() ?? '?'
  return h('div', { class: 'client-mark', 'aria-hidden': 'true' }, initial)
}

/**
 * Runs the interaction `uid` in the page's view.
 * @param {string} uid
 * @param {Shell} shell
 */
export function runInteraction(uid, { context, show }) {
  /** @type {InteractionDetails | null} */
  let details = null
  /** @type {State} */
  let state = 'loading'
  const client = () => ({ client: details?.client.name ?? '' })

  /**
   * @param {State} next
   * @param {Node} view
   * @param {MessageKey} documentTitle
   */
  const enter = (next, view, documentTitle) => {
    state = next
    show(view, documentTitle)
  }

  /** The provider's answer: the browser goes where it says (the application, or the next step). */
  const follow = (/** @type {{ redirect: string }} */ result) => {
    state = 'leaving'
    location.assign(result.redirect)
  }

  /** The request is gone (expired, finished in another tab, or never was). */
  function expired() {
    enter(
      'over',
      h(
        'section',
        { 'aria-labelledby': 'view-title', class: 'interaction', 'data-view': 'expired' },
        h('div', { class: 'client-mark warn', 'aria-hidden': 'true' }, '!'),
        title('interaction.expiredTitle'),
        h('p', {}, tr('interaction.expiredBody')),
        h('p', { class: 'switch' }, h('a', { href: '/' }, tr('interaction.toAccount'))),
      ),
      'interaction.expiredDoc',
    )
  }

  /**
   * Something else went wrong (no network, the service unavailable): said, with a way to try again.
   * @param {unknown} error
   * @param {() => void} retry
   */
  function failed(error, retry) {
    const message = messageArea()
    const again = h('button', { type: 'button', class: 'primary' }, tr('interaction.retry'))
    again.addEventListener('click', retry)
    enter(
      'over',
      h(
        'section',
        { 'aria-labelledby': 'view-title', class: 'interaction', 'data-view': 'failed' },
        details ? title('interaction.signinTitle', client()) : title('signin.title'),
        message.element,
        h('div', { class: 'actions' }, again),
      ),
      'signin.title',
    )
    showProblem({ fields: {}, setError: message.setError }, error)
  }

  /** A refusal that ends the request, or that the page does not expect: said as it is. */
  const refused = (/** @type {unknown} */ error, /** @type {() => void} */ retry) => {
    if (is(error, 'interaction_not_found')) expired()
    else failed(error, retry)
  }

  /** While the provider answers: the buttons of the last view are gone, nothing to do twice. */
  function working() {
    enter(
      'working',
      h(
        'section',
        {
          'aria-labelledby': 'view-title',
          class: 'interaction',
          'aria-busy': 'true',
          'data-view': 'working',
        },
        clientMark(client().client),
        title('interaction.working', client()),
        h('p', { class: 'muted' }, tr('interaction.workingNote')),
      ),
      'signin.title',
    )
  }

  /**
   * The application wants a sign-in made for it (prompt=login, max_age): this browser's session
   * ends first, as a step-up does, so the new sign-in leaves no session behind that nothing holds.
   */
  async function freshSignIn() {
    const login = currentUser()?.login
    await signOut().catch(() => {})
    signIn('interaction.freshNote', login)
  }

  /** Signs the user in for the application with this page's session. */
  async function login() {
    working()
    try {
      follow(await interactionLogin(uid))
    } catch (error) {
      // The application wants a sign-in made for it, or the session ended: the form.
      if (is(error, 'login_required')) void freshSignIn()
      else if (is(error, 'invalid_token')) signIn()
      else refused(error, login)
    }
  }

  /**
   * A way back to the application without signing in: it hears that the user declined.
   * @param {MessageKey} label
   * @param {string} [className]
   */
  function declineButton(label, className) {
    const button = h('button', { type: 'button', class: className }, tr(label, client()))
    button.addEventListener('click', () => decline(button))
    return button
  }

  /** @param {HTMLButtonElement} button */
  async function decline(button) {
    const area = button.closest('.actions') ?? button
    if (area.hasAttribute('aria-busy')) return
    area.setAttribute('aria-busy', 'true')
    try {
      follow(await interactionAbort(uid))
    } catch (error) {
      area.removeAttribute('aria-busy')
      refused(error, () => {
        if (details) proceed()
      })
    }
  }

  /**
   * The sign-in form, headed with the application's name; once signed in, the session hears
   * (see onSession below) and the interaction goes on.
   * @param {MessageKey} [note] why the form is shown although a session is open
   * @param {string} [login] the login of a session just ended, to fill in
   */
  function signIn(note, login) {
    // Once: the session's end may be heard both from the request and from the session's event.
    if (!details || state === 'signin') return
    const hint = details.login_hint ?? login ?? currentUser()?.login
    const toSignUp = h('button', { type: 'button', class: 'link' }, tr('signin.toSignup'))
    toSignUp.addEventListener('click', signUp)
    enter(
      'signin',
      h(
        'section',
        { 'aria-labelledby': 'view-title', class: 'interaction', 'data-view': 'signin' },
        clientMark(client().client),
        title('interaction.signinTitle', client()),
        note ? h('p', { class: 'note-box', 'data-field': 'note' }, tr(note, client())) : null,
        signInForm(context, { login: hint, passkeys: true }),
        h('p', { class: 'switch' }, h('a', { href: '/#/forgot' }, tr('signin.forgot'))),
        h('p', { class: 'switch' }, tr('signin.noAccount'), ' ', toSignUp),
        h('div', { class: 'actions cancel' }, declineButton('interaction.cancel', 'link')),
      ),
      'signin.title',
    )
  }

  /** A new account for the application: it signs in at once, and the interaction goes on. */
  function signUp() {
    const toSignIn = h('button', { type: 'button', class: 'link' }, tr('signup.toSignin'))
    toSignIn.addEventListener('click', () => signIn())
    enter(
      'signup',
      h(
        'section',
        { 'aria-labelledby': 'view-title', class: 'interaction', 'data-view': 'signup' },
        clientMark(client().client),
        title('interaction.signupTitle', client()),
        signUpForm(context),
        h('p', { class: 'switch' }, tr('signup.haveAccount'), ' ', toSignIn),
        h('div', { class: 'actions cancel' }, declineButton('interaction.cancel', 'link')),
      ),
      'signup.title',
    )
  }

  /** Signs out of this browser's session, to sign in with another account. */
  async function switchAccount() {
    // Not a session that ended by itself: nothing to say about it (see onSession below).
    state = 'loading'
    try {
      await signOut()
    } catch {
      // The service was not reached: the form is the way on all the same (a new sign-in
      // replaces the cookie).
    }
    signIn()
  }

  /** @param {string} [className] */
  function otherAccountButton(className) {
    const button = h('button', { type: 'button', class: className }, tr('consent.otherAccount'))
    button.addEventListener('click', () => void switchAccount())
    return button
  }

  /**
   * What the application asks for, and the user's answer.
   * @param {{ wrongAccount?: boolean }} [options] after the service said that this sign-in is
   *   another account's
   */
  function consent({ wrongAccount = false } = {}) {
    const user = currentUser()
    if (!details || !user) {
      signIn()
      return
    }
    const login = user.login
    const allow = h('button', { type: 'button', class: 'primary' }, tr('consent.allow'))
    const deny = declineButton('consent.deny')
    const actions = h('div', { class: 'actions decide' }, allow, deny)
    const error = messageArea()
    const canId = 'consent-can'
    allow.addEventListener('click', async () => {
      if (actions.hasAttribute('aria-busy')) return
      error.setError([])
      actions.setAttribute('aria-busy', 'true')
      try {
        follow(await interactionConsent(uid))
      } catch (problem) {
        actions.removeAttribute('aria-busy')
        if (is(problem, 'forbidden')) consent({ wrongAccount: true })
        else if (is(problem, 'invalid_token')) signIn()
        else if (is(problem, 'interaction_not_found')) expired()
        else showProblem({ fields: {}, setError: error.setError }, problem)
      }
    })
    /** @type {Node[]} */
    const body = wrongAccount
      ? [
          h(
            'div',
            { class: 'step-up-note', 'data-field': 'wrong-account', role: 'alert' },
            h('p', { class: 'said' }, tr('consent.wrongAccount', { login })),
            h(
              'div',
              { class: 'actions' },
              otherAccountButton(),
              declineButton('interaction.cancel', 'link'),
            ),
          ),
        ]
      : [
          h(
            'section',
            { class: 'asks', 'aria-labelledby': canId },
            h('h2', { id: canId }, tr('consent.canTitle', client())),
            scopeList(details.scopes),
          ),
          h('p', { class: 'muted remember' }, tr('consent.remember', client())),
          error.element,
          actions,
        ]
    enter(
      'consent',
      h(
        'section',
        { 'aria-labelledby': 'view-title', class: 'interaction', 'data-view': 'consent' },
        clientMark(client().client),
        title('consent.title', client()),
        h(
          'p',
          { class: 'signed-in-as', 'data-field': 'account' },
          tr('consent.signedInAs', { login }),
          ' ',
          wrongAccount ? null : otherAccountButton('link'),
        ),
        ...body,
      ),
      'consent.docTitle',
    )
  }

  /**
   * The next step, with what the page knows now.
   * @param {{ first?: boolean }} [options] first: right after loading, when a session restored
   *   from the cookie may sign in at once, unless the application asked for a fresh sign-in
   */
  function proceed({ first = false } = {}) {
    if (!details) return
    const signedIn = currentUser() !== null
    if (details.prompt === 'consent') {
      if (signedIn) consent()
      else signIn()
      return
    }
    if (signedIn && !(first && details.fresh)) void login()
    else if (signedIn) void freshSignIn()
    else signIn()
  }

  async function load() {
    state = 'loading'
    try {
      details = await interactionDetails(uid)
    } catch (error) {
      refused(error, () => void load())
      return
    }
    proceed({ first: true })
  }

  onSession((event) => {
    // Signed in (or up) on the form: go on with the new session.
    if (event === 'signed-in' && (state === 'signin' || state === 'signup')) {
      proceed()
      return
    }
    // Signed out in another tab while the consent was asked: sign in again first.
    if (event !== 'signed-in' && state === 'consent') {
      context.announce(tr('status.sessionEnded'))
      signIn()
    }
  })

  void load()
}
