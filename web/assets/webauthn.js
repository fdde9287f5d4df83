// Passkeys in the browser (WebAuthn Level 3): the service's options and the browser's credentials
// travel as JSON, converted by the browser's own parseCreationOptionsFromJSON,
// parseRequestOptionsFromJSON and toJSON (no library). What the browser refuses becomes an
// ApiError with a code of this page (passkey_*), shown by the forms like the service's refusals.
import { pageError } from './errors.js'

/** Whether this browser can make and use passkeys with JSON options. */
export function passkeysSupported() {
  return (
    typeof PublicKeyCredential === 'function' &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function' &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function'
  )
}

/** Whether the browser can offer passkeys in a field's autofill (`autocomplete="… webauthn"`). */
export async function autofillSupported() {
  if (!passkeysSupported()) return false
  try {
    return (await PublicKeyCredential.isConditionalMediationAvailable?.()) === true
  } catch {
    return false
  }
}

/**
 * The browser's refusal, by the names WebAuthn gives them: NotAllowedError is a dialog cancelled
 * or timed out (the spec does not tell them apart), InvalidStateError a create() for an
 * authenticator that already holds one of the account's passkeys (excludeCredentials).
 * @param {unknown} error
 */
function refusal(error) {
  const name = error instanceof DOMException ? error.name : ''
  if (name === 'NotAllowedError') return pageError('passkey_cancelled')
  if (name === 'InvalidStateError') return pageError('passkey_exists')
  if (name === 'AbortError') return pageError('passkey_aborted')
  if (name === 'NotSupportedError') return pageError('passkey_unsupported')
  return pageError('passkey_failed')
}

/**
 * Makes a passkey for the account.
 * @param {PublicKeyCredentialCreationOptionsJSON} options from the service
 * @returns {Promise<RegistrationResponseJSON>} the credential to register
 */
export async function makePasskey(options) {
  if (!passkeysSupported()) throw pageError('passkey_unsupported')
  let credential
  try {
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options)
    credential = await navigator.credentials.create({ publicKey })
  } catch (error) {
    throw refusal(error)
  }
  if (!(credential instanceof PublicKeyCredential)) throw pageError('passkey_failed')
  return /** @type {RegistrationResponseJSON} */ (credential.toJSON())
}

/**
 * Signs the service's challenge with one of the passkeys it allows. `conditional`: offered in the
 * autofill of the login field rather than in a dialog, until chosen or aborted.
 * @param {PublicKeyCredentialRequestOptionsJSON} options from the service
 * @param {{ conditional?: boolean, signal?: AbortSignal }} [how]
 * @returns {Promise<AuthenticationResponseJSON>} the assertion to send back
 */
export async function usePasskey(options, { conditional = false, signal } = {}) {
  if (!passkeysSupported()) throw pageError('passkey_unsupported')
  let credential
  try {
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options)
    credential = await navigator.credentials.get({
      publicKey,
      mediation: conditional ? 'conditional' : 'optional',
      signal,
    })
  } catch (error) {
    throw signal?.aborted ? pageError('passkey_aborted') : refusal(error)
  }
  if (!(credential instanceof PublicKeyCredential)) throw pageError('passkey_failed')
  return /** @type {AuthenticationResponseJSON} */ (credential.toJSON())
}
