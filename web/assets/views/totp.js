// Setting up an authenticator app (TOTP, RFC 6238): asked with the password, the secret shown
// once as a QR code and as a key to type, then confirmed with the code the app shows.
import { confirmTotp, startTotp } from '../api.js'
import { h, uid } from '../dom.js'
import { field, form, messageArea, passwordField } from '../forms.js'
import { tr, trAttr } from '../i18n.js'
import { qrCode } from '../qr.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {import('../api.js').TotpEnrolment} TotpEnrolment */

/**
 * The key in groups of four, as apps that take it typed show it (spaces do not count there), in
 * two halves that each stay on one line.
 * @param {string} secret base32
 */
function groupedKey(secret) {
  const groups = secret.match(/.{1,4}/g) ?? [secret]
  const half = Math.ceil(groups.length / 2)
  return [groups.slice(0, half), groups.slice(half)]
    .filter((part) => part.length > 0)
    .flatMap((part, i) => [i > 0 ? ' ' : '', h('span', {}, part.join(' '))])
}

/**
 * The QR code, the key, and the code that confirms them.
 * @param {TotpEnrolment} enrolment
 * @param {{ done: () => void, cancel: () => void }} after
 */
function confirmPanel(enrolment, { done, cancel }) {
  const id = uid('totp-scan')
  const heading = h('h3', { id, tabindex: -1 }, tr('totp.scanTitle'))
  const picture = h('div', { class: 'qr', 'data-field': 'qr' })
  qrCode(enrolment.otpauth_uri).then(
    (svg) => {
      svg.setAttribute('role', 'img')
      trAttr(svg, 'aria-label', 'totp.qrLabel')
      picture.replaceChildren(svg)
    },
    // The key below still works.
    () => picture.replaceChildren(h('p', {}, tr('totp.qrFailed'))),
  )
  const news = messageArea({ class: 'note', role: 'status' })
  const key = h(
    'code',
    { class: 'secret', 'data-field': 'secret' },
    ...groupedKey(enrolment.secret),
  )
  const keyActions = h('div', { class: 'actions' })
  if (navigator.clipboard?.writeText) {
    const copy = h('button', { type: 'button' }, tr('totp.copyKey'))
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(enrolment.secret)
        news.setError([tr('totp.copied')])
      } catch {
        news.setError([tr('totp.copyFailed')])
      }
    })
    keyActions.append(copy)
  }
  const code = field({
    name: 'code',
    kind: 'otp',
    autocomplete: 'one-time-code',
    inputmode: 'numeric',
    maxlength: 6,
  })
  const stop = h('button', { type: 'button' }, tr('totp.cancel'))
  stop.addEventListener('click', cancel)
  const confirm = form({
    legend: 'totp.confirmLegend',
    fields: [code],
    submit: 'totp.confirmSubmit',
    before: [h('p', {}, tr('totp.expires'))],
    after: [stop],
  })
  confirm.onSubmit(
    async () => {
      await confirmTotp(enrolment.id, code.input.value.trim())
      done()
    },
    { codes: 'otp' },
  )
  const panel = h(
    'section',
    { class: 'enrol', 'aria-labelledby': id },
    heading,
    h(
      'div',
      { class: 'enrol-key' },
      picture,
      h('div', {}, h('p', { class: 'said' }, tr('totp.keyIntro')), key, keyActions, news.element),
    ),
    confirm.form,
  )
  return { panel, heading }
}

/**
 * @param {Context} context
 * @param {() => void} changed after an app is set up
 */
export function totpCard(context, changed) {
  const heading = h('h2', { id: 'security-totp', tabindex: -1 }, tr('totp.title'))
  const password = passwordField({ name: 'password', autocomplete: 'current-password' })
  const name = field({ name: 'name', optional: true, hint: tr('totp.nameHint') })
  const start = form({
    legend: 'totp.legend',
    fields: [password, name],
    submit: 'totp.submit',
  })
  const shown = h('div', {})
  const close = () => {
    shown.replaceChildren()
    start.form.hidden = false
  }
  start.onSubmit(
    async () => {
      const enrolment = await startTotp(password.input.value, name.input.value.trim() || undefined)
      password.input.value = ''
      name.input.value = ''
      const { panel, heading: title } = confirmPanel(enrolment, {
        done: () => {
          close()
          context.announce(tr('status.totpAdded'))
          changed()
          heading.focus()
        },
        cancel: () => {
          close()
          heading.focus()
        },
      })
      start.form.hidden = true
      shown.replaceChildren(panel)
      title.focus()
    },
    { credentials: 'confirm', credentialsField: 'password' },
  )
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'security-totp' },
    heading,
    h('p', {}, tr('totp.intro')),
    shown,
    start.form,
  )
}
