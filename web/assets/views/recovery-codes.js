// The account page's part about saved recovery codes: how many are left, and a new set, shown
// this once with copy and download (a text file made in the browser: nothing leaves the page).
import { generateRecoveryCodes, recoveryCodesStatus } from '../api.js'
import { h, uid } from '../dom.js'
import { form, messageArea, passwordField } from '../forms.js'
import { formatDate, live, t, tr } from '../i18n.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {import('../api.js').User} User */
/** @typedef {import('../api.js').RecoveryCodesStatus} RecoveryCodesStatus */

/** A set this small is worth replacing. */
const LOW = 3
export const FILE_NAME = 'usersvc-recovery-codes.txt'

/**
 * The text file of a new set: what it is, for whom and where, then a code a line.
 * @param {User} user
 * @param {string[]} codes
 * @param {string} createdAt
 */
function fileText(user, codes, createdAt) {
  return [
    t('codes.fileTitle', { login: user.login, origin: location.origin }),
    t('codes.fileMade', { date: formatDate(createdAt) }),
    '',
    ...codes,
    '',
  ].join('\n')
}

/** @param {string} text */
function download(text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }))
  const link = h('a', { href: url, download: FILE_NAME, hidden: true })
  document.body.append(link)
  link.click()
  link.remove()
  // The download has its own copy by then; the page keeps nothing.
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}

/**
 * A new set, shown once: the codes, copy, download, and "hide" (the codes leave the page).
 * @param {User} user
 * @param {{ codes: string[], created_at: string }} set
 * @param {() => void} hide
 */
function newCodes(user, set, hide) {
  const id = uid('new-codes')
  const heading = h('h3', { id, tabindex: -1 }, tr('codes.newTitle'))
  const news = messageArea({ class: 'note', role: 'status' })
  const actions = h('div', { class: 'actions' })
  const text = () => set.codes.join('\n')
  if (navigator.clipboard?.writeText) {
    const copy = h('button', { type: 'button' }, tr('codes.copy'))
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(text())
        news.setError([tr('codes.copied')])
      } catch {
        news.setError([tr('codes.copyFailed')])
      }
    })
    actions.append(copy)
  }
  const save = h('button', { type: 'button' }, tr('codes.download'))
  save.addEventListener('click', () => download(fileText(user, set.codes, set.created_at)))
  const done = h('button', { type: 'button' }, tr('codes.hide'))
  done.addEventListener('click', hide)
  actions.append(save, done)
  const list = h(
    'ol',
    { class: 'codes', 'data-field': 'codes' },
    ...set.codes.map((code) => h('li', {}, h('code', {}, code))),
  )
  const panel = h(
    'section',
    { class: 'new-codes', 'aria-labelledby': id },
    heading,
    h('p', { class: 'warning' }, tr('codes.once')),
    list,
    actions,
    news.element,
  )
  return { panel, heading }
}

/**
 * @param {Context} context
 * @param {User} user
 */
export function recoveryCodesCard(context, user) {
  const heading = h('h2', { id: 'account-codes', tabindex: -1 }, tr('codes.title'))
  const count = h('p', { 'data-field': 'codes-remaining' }, tr('codes.loading'))
  const low = h('p', { class: 'warning', hidden: true }, tr('codes.low'))
  const replaces = h('p', { hidden: true }, tr('codes.replaceNote'))
  const shown = h('div', {})

  /** @param {RecoveryCodesStatus} status */
  const showStatus = ({ remaining, created_at }) => {
    count.replaceChildren(
      created_at === null
        ? tr('codes.none')
        : live(() => t('codes.remaining', { count: remaining, date: formatDate(created_at) })),
    )
    low.hidden = created_at === null || remaining > LOW
    replaces.hidden = created_at === null
  }
  recoveryCodesStatus().then(showStatus, () => count.replaceChildren(tr('codes.unavailable')))

  const password = passwordField({ name: 'password', autocomplete: 'current-password' })
  const make = form({
    legend: 'codes.legend',
    fields: [password],
    submit: 'codes.submit',
    before: [replaces],
  })
  make.onSubmit(
    async () => {
      const set = await generateRecoveryCodes(password.input.value)
      password.input.value = ''
      showStatus({ remaining: set.codes.length, created_at: set.created_at })
      const { panel, heading: title } = newCodes(user, set, () => {
        shown.replaceChildren()
        heading.focus()
      })
      shown.replaceChildren(panel)
      context.announce(tr('status.codesMade'))
      title.focus()
    },
    { credentials: 'confirm', credentialsField: 'password' },
  )
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'account-codes' },
    heading,
    h('p', {}, tr('codes.intro')),
    count,
    low,
    shown,
    make.form,
  )
}
