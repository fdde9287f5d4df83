// Where the link of a verification mail leads: the code filled in, waiting for the user's submit
// (a link scanner that opens the link spends nothing). Confirming needs a session: without one,
// the sign-in form comes first, and the code stays on this route until then.
import { h, viewTitle } from '../dom.js'
import { tr } from '../i18n.js'
import { signInForm } from './auth.js'
import { verifyForm } from './email.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {import('../api.js').User} User */

/**
 * @param {Context} context
 * @param {User | null} user
 * @param {URLSearchParams} params `code`: from the mail's link
 */
export function verifyEmailView(context, user, params) {
  /** @param {...(Node | null)} content */
  const view = (...content) =>
    h('section', { 'aria-labelledby': 'view-title' }, viewTitle('verify.title'), ...content)
  const toAccount = () => h('p', {}, h('a', { href: '#/account' }, tr('verify.toAccount')))
  if (!user) return view(h('p', {}, tr('verify.signIn')), signInForm(context))
  const email = user.email ?? null
  if (email === null) return view(h('p', {}, tr('verify.noEmail')), toAccount())
  if (user.email_verified) return view(h('p', {}, tr('verify.done', { email })), toAccount())
  const confirm = verifyForm(
    context,
    email,
    () => {
      context.navigate('account')
      context.announce(tr('status.emailVerified', { email }))
    },
    params.get('code') ?? undefined,
  )
  return view(h('p', {}, tr('verify.intro', { email })), confirm.form, toAccount())
}
