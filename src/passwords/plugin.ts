import fp from 'fastify-plugin'
import { Gauge } from 'prom-client'
import { createHasher, type Hasher } from './hasher.ts'
import { createPasswordPolicy, type PasswordPolicy } from './policy.ts'

declare module 'fastify' {
  interface FastifyInstance {
    hasher: Hasher
    passwordPolicy: PasswordPolicy
  }
}

export default fp<{ hasher?: Hasher | undefined }>(
  async (app, options) => {
    const { passwords } = app.config
    app.decorate(
      'hasher',
      options.hasher ??
        (await createHasher({
          params: passwords.argon2,
          concurrency: passwords.concurrency,
          threadPoolSize: passwords.threadPoolSize,
          queueLimit: passwords.queueLimit,
          maxQueueWaitMs: passwords.maxQueueWaitMs,
          onWork: (operation, seconds) => app.metrics.hash.duration.observe({ operation }, seconds),
        })),
    )
    const { admission } = app.hasher
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [app.metrics.registry],
        collect() {
          this.set(read())
        },
      })
    gauge(
      'usersvc_password_hash_queue_length',
      'Password hashes waiting for a thread',
      () => admission.queued,
    )
    gauge('usersvc_password_hash_active', 'Password hashes running', () => admission.active)
    app.decorate('passwordPolicy', createPasswordPolicy(passwords.minLength))
  },
  { name: 'passwords', dependencies: ['core', 'metrics'] },
)
