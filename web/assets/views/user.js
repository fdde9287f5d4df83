// How a user's role and registration date read, in the account details and the user list.
import { h } from '../dom.js'
import { formatDate, live, t } from '../i18n.js'

/** @typedef {import('../api.js').User} User */

/**
 * The user's role, in words of the chosen language.
 * @param {User} user
 */
export function roleText(user) {
  return live(() => t(`role.${user.role}`))
}

/**
 * When the user registered: a <time>, its text in the chosen language.
 * @param {User} user
 * @param {Record<string, string>} [attributes] more of them
 * @param {'long' | 'medium'} [dateStyle]
 */
export function registeredTime(user, attributes = {}, dateStyle = 'long') {
  return h(
    'time',
    { datetime: user.registered_at, ...attributes },
    live(() => formatDate(user.registered_at, dateStyle)),
  )
}
