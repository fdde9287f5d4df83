import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

/** TOTP enrolment under /user/me/factors/totp. */
const routes: FastifyPluginAsyncTypebox = async () => {}

export default routes
