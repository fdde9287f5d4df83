import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

/** The caller's passkeys: registration under /user/me/factors/passkey. */
const routes: FastifyPluginAsyncTypebox = async () => {}

export default routes
