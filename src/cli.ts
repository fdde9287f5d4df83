import './runtime.ts'
import { parseArgs } from 'node:util'
import { readSecret } from './cli/read-secret.ts'
import { systemClock } from './clock.ts'
import { type Config, ConfigError, loadConfig } from './config/index.ts'
import { migrateToLatest } from './db/migrate.ts'
import type { Store } from './db/schema.ts'
import { openStore } from './db/store.ts'
import { AppError } from './errors.ts'
import { serve } from './main.ts'
import { createHasher } from './passwords/hasher.ts'
import { createPasswordPolicy } from './passwords/policy.ts'
import { noThrottle } from './throttle/throttle.ts'
import { DEFAULT_SANS, ensureLeaf, ensureLocalCa } from './tls/local-ca.ts'
import { createKeyStore } from './tokens/keystore.ts'
import { createSealer } from './tokens/sealing.ts'
import { createUserService } from './users/service.ts'

const usage = {
  main: `usage: usersvc <command> [options]

commands:
  serve                        run the service (what \`npm start\` does)
  migrate                      apply database migrations and exit
  admin create --login NAME    create an admin user; the password is read from
                               USERSVC_ADMIN_PASSWORD, a pipe, or the terminal
  keys rotate                  add a new signing key; the old one stays in the
                               JWKS until the tokens it signed have expired
  tls init                     make (or renew) the local CA and server certificate
  tls print-ca                 print the local CA certificate (PEM) to trust it

Configuration comes from environment variables: see .env.example.
Run \`usersvc <command> --help\` for more.`,
  serve: `usage: usersvc serve

Serves the API on HOST:PORT, migrating the database first: HTTPS on 127.0.0.1:8443 by default
(HTTP/2 and HTTP/1.1), with a certificate from the local CA under TLS_DIR unless TLS_CERT_FILE and
TLS_KEY_FILE are given; TLS=off serves plain HTTP on 8080. SIGHUP reloads the certificate files.`,
  migrate: 'usage: usersvc migrate\n\nApplies pending migrations to DATABASE_URL and exits.',
  admin: `usage: usersvc admin create --login NAME

Creates a user with the admin role. The password comes from USERSVC_ADMIN_PASSWORD,
else the first line of standard input, else a prompt (not echoed). The password policy applies.`,
  keys: `usage: usersvc keys rotate

Adds a new Ed25519 signing key, used for new tokens from now on (running instances pick it up
within KEY_CACHE_SECONDS). The previous key stays in the JWKS until the access tokens it signed
have expired, so nothing in flight is rejected.`,
  tls: `usage: usersvc tls init [--name NAME] | print-ca

init      creates the local CA (TLS_DIR/ca.crt) and a certificate signed by it for localhost,
          127.0.0.1, ::1 and TLS_SAN (TLS_DIR/NAME.crt and NAME.key, NAME defaults to server);
          reuses them while valid, renews them near expiry.
print-ca  writes the CA certificate (PEM) to standard output and its SHA-256 fingerprint to
          standard error: import it into your browser or OS trust store (see the README).`,
} as const

async function withStore<T>(
  config: Config,
  run: (store: Store) => Promise<T>,
  migrate = true,
): Promise<T> {
  const store = openStore(config.databaseUrl, { poolSize: 2 })
  try {
    if (migrate) await migrateToLatest(store)
    return await run(store)
  } finally {
    await store.destroy()
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      help: { type: 'boolean', short: 'h' },
      login: { type: 'string' },
      name: { type: 'string', default: 'server' },
    },
    allowPositionals: true,
  })
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(usage.main)
    return command ? 0 : 2
  }
  if (!Object.hasOwn(usage, command) || command === 'main') {
    console.error(`usersvc: unknown command "${command}"\n\n${usage.main}`)
    return 2
  }
  if (values.help) {
    console.log(usage[command as keyof typeof usage])
    return 0
  }
  const config = loadConfig()

  switch (command) {
    case 'serve':
      await serve(config)
      return -1 // keep running
    case 'migrate': {
      const result = await withStore(config, migrateToLatest, false)
      const applied = result.results?.map((r) => r.migrationName) ?? []
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'the database is up to date')
      return 0
    }
    case 'admin': {
      if (positionals[0] !== 'create' || !values.login) {
        console.error(usage.admin)
        return 2
      }
      const login = values.login
      const password =
        process.env.USERSVC_ADMIN_PASSWORD || (await readSecret(`Password for ${login}: `))
      const user = await withStore(config, async (store) => {
        const hasher = await createHasher({ params: config.passwords.argon2 })
        const policy = createPasswordPolicy(config.passwords.minLength)
        const users = createUserService({
          db: store.db,
          clock: systemClock,
          hasher,
          policy,
          throttle: noThrottle,
        })
        return users.register(login, password, 'admin')
      })
      console.log(`created admin ${user.login} (${user.id})`)
      return 0
    }
    case 'keys': {
      if (positionals[0] !== 'rotate') {
        console.error(usage.keys)
        return 2
      }
      const kid = await withStore(config, async (store) => {
        const keys = createKeyStore({
          db: store.db,
          clock: systemClock,
          accessTtlSeconds: config.tokens.accessTtlSeconds,
          cacheSeconds: 0,
          sealer: createSealer(config.tokens.signingKeySecrets),
        })
        // No init: rotating must not need to open the current key (a lost SIGNING_KEY_SECRET is
        // recovered from by rotating under a new one; the old key's tokens still verify).
        return keys.rotate()
      })
      console.log(`new signing key ${kid}`)
      return 0
    }
    case 'tls': {
      if (positionals[0] !== 'init' && positionals[0] !== 'print-ca') {
        console.error(usage.tls)
        return 2
      }
      // Usage errors create nothing: the name is checked before the CA is made.
      if (positionals[0] === 'init' && !/^[a-z0-9-]+$/.test(values.name)) {
        console.error('usersvc: --name takes letters, digits and - only')
        return 2
      }
      const ca = await ensureLocalCa(config.tls.dir)
      if (positionals[0] === 'init') {
        const leaf = await ensureLeaf(ca, values.name, [...DEFAULT_SANS, ...config.tls.sans])
        console.log(`local CA:    ${ca.caPath}${ca.renewed ? ' (new)' : ''}`)
        console.log(`SHA-256:     ${ca.fingerprint}`)
        console.log(
          `certificate: ${leaf.certPath}${leaf.renewed ? ' (new)' : ''}, valid until ${leaf.notAfter.toISOString()}`,
        )
        return 0
      }
      process.stdout.write(ca.caPem)
      console.error(`SHA-256 fingerprint: ${ca.fingerprint}`)
      return 0
    }
  }
  return 2
}

try {
  const code = await main(process.argv.slice(2))
  if (code >= 0) process.exitCode = code
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`usersvc: ${error.message}`)
  } else if (error instanceof AppError) {
    const reasons = error.errors?.map((e) => `\n  ${e.field}: ${e.message}`).join('') ?? ''
    console.error(`usersvc: ${error.detail ?? error.message}${reasons}`)
  } else {
    console.error('usersvc:', error instanceof Error ? error.message : error)
  }
  process.exitCode = 1
}
