import type { FastifyInstance } from 'fastify'
import adminRoutes from './admin-routes.ts'
import emailRoutes from './email-routes.ts'
import profileRoutes from './profile-routes.ts'
import registrationRoutes from './registration-routes.ts'

/**
 * Every route of this folder: registration, the caller and users by id, verifying the caller's
 * address, admins' list.
 */
export default async function userRoutes(app: FastifyInstance): Promise<void> {
  await app.register(registrationRoutes)
  await app.register(profileRoutes)
  await app.register(emailRoutes)
  await app.register(adminRoutes)
}
