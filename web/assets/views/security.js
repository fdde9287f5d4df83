// Sign-in and security: the second factors (an authenticator app, passkeys), and where the
// account is signed in.
import { reloadUser } from '../api.js'
import { h, viewTitle } from '../dom.js'
import { stepUpButton } from '../forms.js'
import { tr } from '../i18n.js'
import { devicesCard } from './devices.js'
import { factorsCard } from './factors.js'
import { passkeysCard } from './passkeys.js'
import { totpCard } from './totp.js'

/** @typedef {import('../app.js').Context} Context */

/** @param {Context} context */
export function securityView(context) {
  // A session signed in without a second factor (before the first one was added) cannot change
  // factors, the password or the email address: say so before the user tries.
  const note = h(
    'div',
    { class: 'step-up-note', hidden: true, 'data-field': 'step-up' },
    h('p', { class: 'said' }, tr('security.aal1')),
    h('div', { class: 'actions' }, stepUpButton()),
  )
  let factorCount = 0
  /** @type {'aal1' | 'aal2' | null} */
  let aal = null
  const updateNote = () => {
    note.hidden = !(factorCount > 0 && aal === 'aal1')
  }

  const factors = factorsCard(context, {
    changed: () => refresh(),
    loaded: (items) => {
      factorCount = items.length
      updateNote()
    },
  })
  const devices = devicesCard(context, (current) => {
    aal = current?.aal ?? null
    updateNote()
  })
  const refresh = () => {
    void factors.load()
    // The account's mfa_enabled changes with its first factor and its last.
    reloadUser().catch(() => {})
  }
  const added = () => {
    refresh()
    void devices.load()
  }
  return h(
    'div',
    {},
    viewTitle('security.title'),
    note,
    factors.element,
    totpCard(context, added),
    passkeysCard(context, added),
    devices.element,
  )
}
