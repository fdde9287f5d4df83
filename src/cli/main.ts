import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from '../config/index.ts'
import { AppError } from '../errors.ts'
import { adminCommand } from './admin.ts'
import { clientsCommand } from './clients.ts'
import { type Command, UsageError } from './command.ts'
import { exportCommand } from './export.ts'
import { importCommand } from './import.ts'
import { keysCommand } from './keys.ts'
import { migrateCommand } from './migrate.ts'
import { serveCommand } from './serve.ts'
import { tlsCommand } from './tls.ts'
import { webhooksCommand } from './webhooks.ts'

const commands: Record<string, Command> = {
  serve: serveCommand,
  migrate: migrateCommand,
  admin: adminCommand,
  keys: keysCommand,
  tls: tlsCommand,
  webhooks: webhooksCommand,
  clients: clientsCommand,
  import: importCommand,
  export: exportCommand,
}

const usage = `usage: usersvc <command> [options]

commands:
  serve                        run the service (what \`npm start\` does)
  migrate                      apply database migrations and exit
  admin create --login NAME    create an admin user; the password is read from
                               USERSVC_ADMIN_PASSWORD, a pipe, or the terminal
  keys rotate                  add new signing keys (EdDSA, and RS256 once made); the
                               old ones stay in the JWKS until their tokens expire
  tls init                     make (or renew) the local CA and server certificate
  tls print-ca                 print the local CA certificate (PEM) to trust it
  webhooks add URL [--types a,b]
                               add a webhook endpoint; prints its id and secret
  clients add --name NAME --redirect-uri URL… [--public] [--first-party]
                               register an OpenID client; prints its client_id and
                               (confidential clients) its secret, once
  clients list|remove ID|rotate-secret ID
                               list, remove an OpenID client, or give it a new secret
  import FILE|- [--dry-run]    import users with their existing password hashes
                               (JSON Lines or CSV; --from-pickle for a Python pickle)
  export [--out FILE]          write every user, with its hash, as JSON Lines

Configuration comes from environment variables: see .env.example.
Run \`usersvc <command> --help\` for more.`

/** Runs one command line; the exit code, or -1 while the service keeps running. */
async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage)
    return name ? 0 : 2
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined
  if (!command) {
    console.error(`usersvc: unknown command "${name}"\n\n${usage}`)
    return 2
  }
  let input: ReturnType<typeof parseArgs>
  try {
    input = parseArgs({
      args: rest,
      options: { help: { type: 'boolean', short: 'h' }, ...command.options },
      allowPositionals: true,
    })
  } catch (error) {
    console.error(`usersvc: ${(error as Error).message}\n\n${command.usage}`)
    return 2
  }
  if (input.values.help) {
    console.log(command.usage)
    return 0
  }
  return command.run(input, loadConfig())
}

/** The process's exit code from a command line, and every failure said in one line or two. */
export async function runCli(argv: string[]): Promise<void> {
  try {
    const code = await main(argv)
    if (code >= 0) process.exitCode = code
  } catch (error) {
    process.exitCode = error instanceof UsageError ? 2 : 1
    if (error instanceof UsageError) {
      console.error(error.message)
    } else if (error instanceof ConfigError) {
      console.error(`usersvc: ${error.message}`)
    } else if (error instanceof AppError) {
      const reasons = error.errors?.map((e) => `\n  ${e.field}: ${e.message}`).join('') ?? ''
      console.error(`usersvc: ${error.detail ?? error.message}${reasons}`)
    } else {
      console.error('usersvc:', error instanceof Error ? error.message : error)
    }
  }
}
