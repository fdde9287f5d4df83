import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

/** The caller's factors (list, remove), and an admin's reset. */
const routes: FastifyPluginAsyncTypebox = async () => {}

export default routes
