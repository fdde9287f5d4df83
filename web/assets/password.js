import { passwordPolicy } from './api.js'
import { h } from './dom.js'
import { live, t, tr } from './i18n.js'

/** @typedef {import('./api.js').PasswordPolicy} PasswordPolicy */
/** @typedef {import('./forms.js').Field} Field */

/** @type {Promise<PasswordPolicy | null> | null} */
let policy = null

/** The service's password rules, asked once. */
export function loadPolicy() {
  policy ??= passwordPolicy().catch(() => {
    // Not remembered: a later view asks again.
    policy = null
    return null
  })
  return policy
}

/**
 * A rough local strength estimate, 0 (very weak) to 4 (strong): character variety times
 * length, where repeats and runs (aaaa, 1234, abcd) count for little and a password holding
 * the login counts as nothing. Only a hint: the service's rules decide.
 * @param {string} password
 * @param {string} login
 * @param {number} minLength
 * @returns {0 | 1 | 2 | 3 | 4}
 */
export function estimateStrength(password, login, minLength) {
  const text = password.normalize('NFKC')
  const chars = [...text]
  if (chars.length === 0) return 0
  const folded = fold(login)
  if (folded.length >= 3 && fold(text).includes(folded)) return 0
  let pool = 0
  if (/\p{Ll}/u.test(text)) pool += 26
  if (/\p{Lu}/u.test(text)) pool += 26
  if (/\p{Nd}/u.test(text)) pool += 10
  if (/[\p{P}\p{S}]/u.test(text)) pool += 32
  if (/\s/u.test(text)) pool += 1
  if (/[^\p{ASCII}]/u.test(text)) pool += 64
  /** @type {Map<string, number>} */
  const seen = new Map()
  let effective = 0
  let previous = Number.NaN
  for (const char of chars) {
    const code = char.codePointAt(0) ?? 0
    const repeats = seen.get(char) ?? 0
    seen.set(char, repeats + 1)
    let weight = 1 / (1 + repeats / 2)
    if (Math.abs(code - previous) <= 1) weight /= 3
    effective += weight
    previous = code
  }
  const bits = effective * Math.log2(Math.max(pool, 2))
  /** @type {0 | 1 | 2 | 3 | 4} */
  let score = bits < 30 ? 0 : bits < 45 ? 1 : bits < 60 ? 2 : bits < 80 ? 3 : 4
  if (chars.length < minLength && score > 1) score = 1
  return score
}

/**
 * NFKC + case folding, as the service compares a password with the login (src/text.ts `fold`):
 * upper- then lower-casing folds ß→ss, which toLowerCase alone does not.
 * @param {string} text
 */
export function fold(text) {
  return text.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC')
}

/** @typedef {'met' | 'unmet' | 'none'} RuleState */

/**
 * Under a new-password field: the service's rules before anything is sent, each marked met or
 * not met while typing (a mark, a colour and words for screen readers), with a running count of
 * characters, and the strength hint. Both describe the field (aria-describedby); a polite live
 * region says when a rule turns met or not met.
 * @param {Field} field
 * @param {() => string} login the login the password must not contain
 */
export function attachPasswordHelp(field, login) {
  const { input } = field
  const policyId = `${input.id}-policy`
  const strengthId = `${input.id}-strength`
  // Code points after NFKC, as the service counts.
  const length = () => [...input.value.normalize('NFKC')].length
  const rules = h('ul', {})
  const box = h('div', { id: policyId, class: 'policy' }, h('p', {}, tr('policy.title')), rules)
  const news = h('p', { class: 'visually-hidden', 'aria-live': 'polite' })
  const verdict = h('strong', { class: 'strength-none' })
  const meter = h('meter', {
    min: 0,
    max: 4,
    low: 2,
    high: 3,
    optimum: 4,
    value: 0,
    'aria-hidden': 'true',
  })
  const strength = h(
    'p',
    { id: strengthId, class: 'strength' },
    tr('strength.label'),
    ' ',
    verdict,
    ' ',
    meter,
  )
  field.root.append(box, strength, news)
  field.describe(policyId)
  field.describe(strengthId)

  /** @type {PasswordPolicy | null} */
  let rulesLoaded = null
  const min = () => rulesLoaded?.min_length ?? 0
  const score = () => estimateStrength(input.value, login(), min())
  // Made once: each live node stays tracked for the language until the next switch.
  const countText = () => t('policy.count', { count: length() })
  const verdictText = () => (input.value === '' ? t('strength.empty') : t(`strength.${score()}`))
  const countNode = live(countText)
  const verdictNode = live(verdictText)
  const count = h('span', { class: 'count' }, countNode)
  verdict.append(verdictNode)

  /**
   * @typedef {object} Rule
   * @property {HTMLLIElement} item
   * @property {() => string} text its words, for the live region
   * @property {() => RuleState} judge
   * @property {(state: RuleState) => void} show
   */
  /** @type {Rule[]} */
  let shown = []
  /**
   * @param {string} name
   * @param {import('./i18n.js').MessageKey} key
   * @param {import('./i18n.js').Params} params
   * @param {() => RuleState} judge
   * @param {Node[]} extra shown after the rule's words
   * @returns {Rule}
   */
  const rule = (name, key, params, judge, extra = []) => {
    /** @type {RuleState} */
    let current = 'none'
    const words = () => (current === 'none' ? '' : ` ${t(`policy.${current}`)}`)
    // The state in words, for screen readers: the mark before the rule is for the eyes only.
    const state = live(words)
    const item = h(
      'li',
      { 'data-rule': name, 'data-state': 'none' },
      tr(key, params),
      ...extra.flatMap((node) => [' ', node]),
      h('span', { class: 'visually-hidden' }, state),
    )
    return {
      item,
      text: () => t(key, params),
      judge,
      show(next) {
        current = next
        item.dataset.state = next
        state.data = words()
      },
    }
  }

  const update = () => {
    countNode.data = countText()
    verdictNode.data = verdictText()
    const empty = input.value === ''
    const current = score()
    verdict.className = empty ? 'strength-none' : `strength-${current}`
    meter.value = empty ? 0 : current
    /** @type {string[]} */
    const changed = []
    for (const r of shown) {
      const before = r.item.dataset.state
      const after = empty ? 'none' : r.judge()
      if (after === before) continue
      r.show(after)
      if (before !== 'none' && after !== 'none') changed.push(`${r.text()} ${t(`policy.${after}`)}`)
    }
    // Only turns between met and not met: the first judgement is in the description already.
    if (changed.length > 0) news.textContent = changed.join('; ')
  }
  input.addEventListener('input', update)
  update()

  void loadPolicy().then((loaded) => {
    rulesLoaded = loaded
    if (!loaded) {
      rules.replaceChildren(h('li', {}, tr('policy.unavailable')))
      return
    }
    /** @param {boolean} ok @returns {RuleState} */
    const met = (ok) => (ok ? 'met' : 'unmet')
    shown = [
      rule(
        'min',
        'policy.minLength',
        { count: loaded.min_length },
        () => met(length() >= loaded.min_length),
        [count],
      ),
      rule('max', 'policy.maxLength', { count: loaded.max_length }, () =>
        met(length() <= loaded.max_length),
      ),
    ]
    // The list of common passwords (~49k) stays with the service, which checks it on submit: the
    // page cannot tell, so this rule is never marked met here (nor broken).
    if (loaded.refuses_common_passwords) {
      shown.push(rule('common', 'policy.common', {}, () => 'none'))
    }
    if (loaded.refuses_login_in_password) {
      shown.push(
        rule('login', 'policy.login', {}, () => {
          const key = fold(login())
          return key === '' ? 'none' : met(!fold(input.value).includes(key))
        }),
      )
    }
    rules.replaceChildren(...shown.map((r) => r.item))
    update()
  })
  return { update }
}
