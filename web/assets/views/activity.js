// The account's own security events: sign-ins and sign-outs, changes of the password, the email
// address and the second factors, failed sign-ins (without the reason), newest first.
import { listActivity } from '../api.js'
import { h, viewTitle } from '../dom.js'
import { tr } from '../i18n.js'
import { eventList } from './events.js'

export function activityView() {
  const list = eventList({ load: listActivity, labelledBy: 'activity-list' })
  return h(
    'div',
    {},
    viewTitle('activity.title'),
    h(
      'p',
      {},
      tr('activity.intro'),
      ' ',
      h('a', { href: '#/security' }, tr('activity.toSecurity')),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'activity-list' },
      h('h2', { id: 'activity-list' }, tr('activity.listTitle')),
      list.element,
    ),
  )
}
