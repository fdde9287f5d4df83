// Adding a passkey: the browser (or the password manager, or a security key) makes it; the
// service keeps its public key. It then signs in alone, or as the second step after the password.
import { addPasskey } from '../api.js'
import { h } from '../dom.js'
import { field, form } from '../forms.js'
import { tr } from '../i18n.js'
import { passkeysSupported } from '../webauthn.js'

/** @typedef {import('../app.js').Context} Context */

/**
 * @param {Context} context
 * @param {() => void} changed after a passkey is added
 */
export function passkeysCard(context, changed) {
  const heading = h('h2', { id: 'security-passkeys', tabindex: -1 }, tr('passkeys.title'))
  const card = h(
    'section',
    { class: 'card', 'aria-labelledby': 'security-passkeys' },
    heading,
    h('p', {}, tr('passkeys.intro')),
  )
  if (!passkeysSupported()) {
    card.append(h('p', { class: 'warning' }, tr('passkeys.unsupported')))
    return card
  }
  const name = field({ name: 'name', optional: true, hint: tr('passkeys.nameHint') })
  const add = form({ legend: 'passkeys.legend', fields: [name], submit: 'passkeys.submit' })
  add.onSubmit(async () => {
    await addPasskey(name.input.value.trim() || undefined)
    name.input.value = ''
    context.announce(tr('status.passkeyAdded'))
    changed()
  })
  card.append(add.form)
  return card
}
