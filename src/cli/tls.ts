import { DEFAULT_SANS, ensureLeaf, ensureLocalCa } from '../tls/local-ca.ts'
import { type Command, UsageError } from './command.ts'

const usage = `usage: usersvc tls init [--name NAME] | print-ca

init      creates the local CA (TLS_DIR/ca.crt) and a certificate signed by it for localhost,
          127.0.0.1, ::1 and TLS_SAN (TLS_DIR/NAME.crt and NAME.key, NAME defaults to server);
          reuses them while valid, renews them near expiry.
print-ca  writes the CA certificate (PEM) to standard output and its SHA-256 fingerprint to
          standard error: import it into your browser or OS trust store (see the README).`

export const tlsCommand: Command = {
  usage,
  options: { name: { type: 'string', default: 'server' } },
  async run({ values, positionals }, config) {
    const action = positionals[0]
    if (action !== 'init' && action !== 'print-ca') throw new UsageError(usage)
    const name = String(values.name)
    // Usage errors create nothing: the name is checked before the CA is made.
    if (action === 'init' && !/^[a-z0-9-]+$/.test(name)) {
      throw new UsageError('usersvc: --name takes letters, digits and - only')
    }
    const ca = await ensureLocalCa(config.tls.dir)
    if (action === 'init') {
      const leaf = await ensureLeaf(ca, name, [...DEFAULT_SANS, ...config.tls.sans])
      console.log(`local CA:    ${ca.caPath}${ca.renewed ? ' (new)' : ''}`)
      console.log(`SHA-256:     ${ca.fingerprint}`)
      const until = leaf.notAfter.toISOString()
      console.log(
        `certificate: ${leaf.certPath}${leaf.renewed ? ' (new)' : ''}, valid until ${until}`,
      )
      return 0
    }
    process.stdout.write(ca.caPem)
    console.error(`SHA-256 fingerprint: ${ca.fingerprint}`)
    return 0
  },
}
