import { ApiError } from './api.js'
import { h, uid } from './dom.js'
import { tr } from './i18n.js'
import { fieldErrorKey, problemField, problemKey, waitCount } from './problems.js'

/** @typedef {import('./i18n.js').MessageKey} MessageKey */
/**
 * A field's API name: its label is the message `field.${name}`.
 * @typedef {{ [K in MessageKey]: K extends `field.${infer N}` ? N : never }[MessageKey]} FieldName
 */

/**
 * @typedef {object} Field
 * @property {string} name the API's name for it
 * @property {FieldName} kind what it holds: its label and its error messages are this kind's
 * @property {HTMLElement} root
 * @property {HTMLInputElement} input
 * @property {(messages: Node[]) => void} setError shows messages next to it (none: clears)
 * @property {(id: string) => void} describe adds an element to its description
 */

/**
 * A paragraph for error messages, hidden while there are none; several are joined with spaces.
 * @param {Record<string, string | boolean>} [attributes] by default a form's alert
 */
export function messageArea(attributes = { class: 'form-error', role: 'alert' }) {
  const element = h('p', { ...attributes, hidden: true })
  /** @param {Node[]} messages */
  const setError = (messages) => {
    element.replaceChildren(...messages.flatMap((m, i) => (i > 0 ? [' ', m] : [m])))
    element.hidden = messages.length === 0
  }
  return { element, setError }
}

/**
 * A labelled input with room for its error message right below it. Required unless `optional`
 * (the form then sends it only when filled). `kind` when the API's name is shared by fields of
 * other meanings (`code`: from a mail, or from an authenticator app).
 * @param {{ name: FieldName, kind?: FieldName, type?: string, autocomplete?: string, inputmode?: string, hint?: Node, value?: string, optional?: boolean, maxlength?: number }} options
 * @returns {Field}
 */
export function field({
  name,
  kind = name,
  type = 'text',
  autocomplete,
  inputmode,
  hint,
  value,
  optional,
  maxlength,
}) {
  const id = uid(name)
  const errorId = `${id}-error`
  const input = h('input', {
    id,
    name,
    type,
    autocomplete,
    inputmode,
    required: !optional,
    maxlength,
    spellcheck: type === 'text' ? 'false' : undefined,
    autocapitalize: 'none',
  })
  if (value) input.value = value
  const error = messageArea({ id: errorId, class: 'field-error' })
  /** @type {string[]} */
  const describedBy = []
  const root = h(
    'div',
    { class: 'field' },
    h('label', { for: id }, tr(`field.${kind}`)),
    input,
    error.element,
  )
  if (hint) {
    const hintId = `${id}-hint`
    root.append(h('div', { id: hintId, class: 'hint' }, hint))
    describedBy.push(hintId)
  }
  const updateDescription = () => {
    const ids = [...(error.element.hidden ? [] : [errorId]), ...describedBy]
    if (ids.length > 0) input.setAttribute('aria-describedby', ids.join(' '))
    else input.removeAttribute('aria-describedby')
  }
  updateDescription()
  /** @param {Node[]} messages */
  const setError = (messages) => {
    error.setError(messages)
    if (messages.length > 0) input.setAttribute('aria-invalid', 'true')
    else input.removeAttribute('aria-invalid')
    updateDescription()
  }
  // An error is about what was sent: once the value changes it no longer applies (and would
  // contradict the password rules, which follow the typing).
  input.addEventListener('input', () => {
    if (input.hasAttribute('aria-invalid')) setError([])
  })
  return {
    name,
    kind,
    root,
    input,
    setError,
    describe(elementId) {
      describedBy.push(elementId)
      updateDescription()
    },
  }
}

/**
 * A password field with a "show password" switch.
 * @param {{ name: FieldName, autocomplete: 'current-password' | 'new-password' }} options
 */
export function passwordField(options) {
  const result = field({ ...options, type: 'password' })
  const toggleId = `${result.input.id}-show`
  const toggle = h('input', { type: 'checkbox', id: toggleId, class: 'show-password' })
  toggle.addEventListener('change', () => {
    result.input.type = toggle.checked ? 'text' : 'password'
  })
  result.root.append(
    h('div', { class: 'check' }, toggle, h('label', { for: toggleId }, tr('show.password'))),
  )
  return result
}

/**
 * @typedef {object} Form
 * @property {HTMLFormElement} form
 * @property {Record<string, Field>} fields
 * @property {(messages: Node[]) => void} setError a message for the form as a whole
 * @property {(run: () => Promise<void>, context?: ProblemContext) => void} onSubmit
 */

/**
 * What a form's problems are about: what an invalid_credentials refused (which password, or a
 * passkey), and the field that holds it; which code an invalid_code refuses (`saved`: a saved
 * recovery code, `otp`: an authenticator app's), and its field.
 * @typedef {{ credentials?: 'current' | 'confirm' | 'passkey', credentialsField?: string, codes?: 'saved' | 'otp', codeField?: string }} ProblemContext
 */

/**
 * A form: one fieldset with a legend, the fields, a message area for errors that concern no
 * single field, and a submit button (`after` it: other buttons).
 * @param {{ legend: MessageKey, fields: Field[], submit: MessageKey, danger?: boolean, before?: Node[], after?: Node[] }} options
 * @returns {Form}
 */
export function form({ legend, fields, submit, danger = false, before = [], after = [] }) {
  const { element: formError, setError } = messageArea()
  const button = h('button', { type: 'submit', class: danger ? 'danger' : 'primary' }, tr(submit))
  const element = h(
    'form',
    { novalidate: true },
    h('fieldset', {}, h('legend', {}, tr(legend)), ...before, ...fields.map((f) => f.root)),
    formError,
    h('div', { class: 'actions' }, button, ...after),
  )
  /** @type {Record<string, Field>} */
  const byName = Object.fromEntries(fields.map((f) => [f.name, f]))
  return {
    form: element,
    fields: byName,
    setError,
    onSubmit(run, context = {}) {
      element.addEventListener('submit', async (event) => {
        event.preventDefault()
        if (element.hasAttribute('aria-busy')) return
        for (const f of fields) f.setError([])
        setError([])
        // Empty fields are refused here, in the page's language, without asking the service
        // (optional ones, and those hidden with their group, are not asked for).
        const empty = fields.filter(
          (f) => f.input.required && !f.root.hidden && f.input.value === '',
        )
        if (empty.length > 0) {
          for (const f of empty) f.setError([tr(fieldErrorKey(f.kind, 'required'))])
          empty[0]?.input.focus()
          return
        }
        element.setAttribute('aria-busy', 'true')
        try {
          await run()
        } catch (error) {
          showProblem({ fields: byName, setError }, error, context)
        } finally {
          element.removeAttribute('aria-busy')
        }
      })
    },
  }
}

/**
 * Shows an API error: each field error next to its field, the rest above the button. Focus
 * goes to the first field in error.
 * @param {{ fields: Record<string, Field>, setError: (messages: Node[]) => void }} target
 * @param {unknown} error
 * @param {ProblemContext} [context]
 */
export function showProblem(target, error, context = {}) {
  if (!(error instanceof ApiError)) {
    // A bug of this page: say something rather than nothing, and keep it for the console.
    target.setError([tr('problem.unknown', { status: '–' })])
    throw error
  }
  /** @type {Map<Field, Node[]>} */
  const byField = new Map()
  /** @type {Node[]} */
  const general = []
  const place = (/** @type {string | undefined} */ name, /** @type {Node} */ message) => {
    const f = name === undefined ? undefined : target.fields[name]
    if (f) byField.set(f, [...(byField.get(f) ?? []), message])
    else general.push(message)
  }
  for (const entry of error.errors) {
    const key = fieldErrorKey(target.fields[entry.field]?.kind ?? entry.field, entry.code)
    place(entry.field, tr(key, { count: entry.limit ?? 0, message: entry.message }))
  }
  if (error.errors.length === 0) {
    const key = problemKey(error.code, {
      credentials: context.credentials,
      codes: context.codes,
      retryAfter: error.retryAfter,
    })
    const message = tr(key, { count: waitCount(error.retryAfter ?? 0), status: error.status })
    place(
      problemField(error.code, context.credentialsField ?? 'password', context.codeField),
      message,
    )
  }
  // The account has a second factor and this session was not signed in with it: say how to get
  // one that was.
  if (error.code === 'step_up_required' && stepUp) general.push(stepUpButton())
  for (const [f, messages] of byField) f.setError(messages)
  target.setError(general)
  const first = Object.values(target.fields).find((f) => byField.has(f))
  first?.input.focus()
}

/** @type {(() => void) | null} */
let stepUp = null

/**
 * What "sign in again" does (the page's router knows: sign out, then sign in with the second
 * factor, and come back).
 * @param {() => void} handler
 */
export function onStepUp(handler) {
  stepUp = handler
}

/** A button that signs in again, with the second factor, to come back to this page. */
export function stepUpButton() {
  const button = h('button', { type: 'button', class: 'step-up' }, tr('stepup.button'))
  button.addEventListener('click', () => stepUp?.())
  return button
}
