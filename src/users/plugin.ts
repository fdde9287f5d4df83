import fp from 'fastify-plugin'
import { createUserService, type UserService } from './service.ts'

declare module 'fastify' {
  interface FastifyInstance {
    users: UserService
  }
}

export default fp(
  async (app) => {
    app.decorate(
      'users',
      createUserService({
        db: app.store.db,
        clock: app.clock,
        hasher: app.hasher,
        policy: app.passwordPolicy,
        throttle: app.throttle,
      }),
    )
  },
  { name: 'users', dependencies: ['core', 'store', 'passwords', 'throttle'] },
)
