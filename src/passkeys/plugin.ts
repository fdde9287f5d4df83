import fp from 'fastify-plugin'

// Passkeys (WebAuthn Level 3): registration and assertions. Filled in by the passkeys work.
export default fp(async () => {}, {
  name: 'passkeys',
  dependencies: ['core', 'store', 'outbox', 'authn'],
})
