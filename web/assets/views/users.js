import { listUsers } from '../api.js'
import { h, viewTitle } from '../dom.js'
import { messageArea, showProblem } from '../forms.js'
import { tr, trAttr } from '../i18n.js'
import { registeredTime, roleText } from './user.js'
import { disabledBadge, focusToggle, userControls } from './user-actions.js'

/** @typedef {import('../app.js').Context} Context */
/** @typedef {import('../api.js').User} User */

const PAGE_SIZES = [5, 10, 20, 50, 100]

/** @type {import('../i18n.js').MessageKey[]} */
const COLUMNS = [
  'users.col.login',
  'users.col.id',
  'users.col.role',
  'users.col.registered',
  'users.col.actions',
]

/**
 * An id that may wrap after its hyphens and nowhere else, so that it needs no more room than
 * its longest part when the table is narrow.
 * @param {string} id
 */
function wrappingId(id) {
  return h(
    'code',
    {},
    ...id.split('-').flatMap((part, i) => (i === 0 ? [part] : ['-', h('wbr'), part])),
  )
}

/**
 * A cell that, on narrow screens where the table is shown as one block per user, is headed by
 * its column's name (data-label, read by the CSS).
 * @param {import('../i18n.js').MessageKey} column
 * @param {Node} content
 */
function labelledCell(column, content) {
  const cell = h('td', {}, content)
  trAttr(cell, 'data-label', column)
  return cell
}

/**
 * The user list for admins: pages in registration order (the service's cursors), a page size,
 * and in each row whether the account is disabled, a link to its events, and what an
 * administrator does to it (user-actions.js), questions asked in the row itself.
 * @param {Context} context
 * @param {User} me
 */
export function usersView(context, me) {
  // cursors[i] opens page i (undefined: the first page).
  /** @type {(string | undefined)[]} */
  let cursors = [undefined]
  let index = 0
  let limit = 20
  /** @type {string | null} */
  let nextCursor = null

  const sizeSelect = h(
    'select',
    { id: 'users-page-size' },
    ...PAGE_SIZES.map((size) =>
      h('option', { value: size, selected: size === limit }, String(size)),
    ),
  )
  const error = messageArea()
  const target = { fields: {}, setError: error.setError }
  const caption = h('caption', {})
  const body = h('tbody', {})
  const table = h(
    'table',
    { class: 'users' },
    caption,
    h('thead', {}, h('tr', {}, ...COLUMNS.map((key) => h('th', { scope: 'col' }, tr(key))))),
    body,
  )
  const first = h('button', { type: 'button' }, tr('users.first'))
  const previous = h('button', { type: 'button' }, tr('users.prev'))
  const next = h('button', { type: 'button' }, tr('users.next'))
  // Both shown once a page is there.
  const pager = h('nav', { class: 'pager', hidden: true }, first, previous, next)
  const wrap = h('div', { class: 'table-wrap', hidden: true }, table)
  trAttr(pager, 'aria-label', 'users.pagination')

  /** @param {User} user */
  function row(user) {
    const own = user.id === me.id
    /** @type {HTMLTableRowElement | null} */
    let question = null
    const controls = userControls(context, user, {
      own,
      list: true,
      target,
      changed(updated) {
        // The row shown anew, in its place: the badge and the button follow the account.
        const fresh = row(updated)
        question?.remove()
        element.replaceWith(fresh)
        focusToggle(fresh)
      },
      async removed() {
        await load()
        caption.focus()
      },
      // Someone else deleted it meanwhile: show the list as it is now (the error is said).
      gone: () => load(),
      // A question takes a row of its own under the user's, the table's whole width.
      place(node) {
        question?.remove()
        question = node
          ? h(
              'tr',
              { class: 'question', 'data-question': user.login },
              h('td', { colspan: 5 }, node),
            )
          : null
        if (question) element.after(question)
      },
    })
    const badge = disabledBadge(user)
    const element = h(
      'tr',
      { 'data-user': user.login, 'data-disabled': user.disabled_at ? 'true' : null },
      h(
        'th',
        { scope: 'row' },
        user.login,
        ...(own ? [' ', tr('users.you')] : []),
        ...(badge ? [' ', badge] : []),
      ),
      labelledCell('users.col.id', wrappingId(user.id)),
      labelledCell('users.col.role', roleText(user)),
      labelledCell('users.col.registered', registeredTime(user, {}, 'medium')),
      h('td', { class: 'row-actions' }, controls),
    )
    return element
  }

  // Only the latest load may fill the table (the page size can change while one is under way).
  let latest = 0
  async function load() {
    latest += 1
    const mine = latest
    target.setError([])
    table.setAttribute('aria-busy', 'true')
    try {
      let page = await listUsers(limit, cursors[index])
      // A page emptied by deletions: step back to the one before it.
      while (mine === latest && page.items.length === 0 && index > 0) {
        index -= 1
        page = await listUsers(limit, cursors[index])
      }
      if (mine !== latest) return
      nextCursor = page.next_cursor
      cursors = cursors.slice(0, index + 1)
      caption.replaceChildren(tr('users.caption', { page: index + 1 }))
      body.replaceChildren(
        ...(page.items.length > 0
          ? page.items.map(row)
          : [h('tr', {}, h('td', { colspan: 5 }, tr('users.empty')))]),
      )
    } catch (problem) {
      if (mine === latest) showProblem(target, problem)
    } finally {
      if (mine === latest) {
        // No page got here (the first load failed): no empty table or pager under the error.
        wrap.hidden = body.childElementCount === 0
        pager.hidden = wrap.hidden
        table.removeAttribute('aria-busy')
        first.disabled = index === 0
        previous.disabled = index === 0
        next.disabled = nextCursor === null
      }
    }
  }

  sizeSelect.addEventListener('change', () => {
    limit = Number(sizeSelect.value)
    cursors = [undefined]
    index = 0
    void load()
  })
  /** @param {number} page shows page `page`, then moves the focus to its caption */
  const go = (page) => {
    index = page
    void load().then(() => caption.focus())
  }
  first.addEventListener('click', () => go(0))
  previous.addEventListener('click', () => go(Math.max(0, index - 1)))
  next.addEventListener('click', () => {
    if (nextCursor === null) return
    cursors.push(nextCursor)
    go(index + 1)
  })
  caption.setAttribute('tabindex', '-1')
  void load()

  return h(
    'div',
    {},
    viewTitle('users.title'),
    h(
      'div',
      { class: 'field inline' },
      h('label', { for: 'users-page-size' }, tr('users.pageSize')),
      sizeSelect,
    ),
    error.element,
    wrap,
    pager,
  )
}
