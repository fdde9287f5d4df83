import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { ConfigError, ENV_NAMES, loadConfig } from '../src/config/index.ts'

const root = join(import.meta.dirname, '..')

/** Asserts that loading `env` throws a ConfigError and returns its message. */
function configError(env: Record<string, string>): string {
  let caught: unknown
  try {
    loadConfig(env)
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(env)}`)
  assert.equal(caught.name, 'ConfigError')
  return caught.message
}

/** The variable names of the Env schema, as the config exports them. */
async function envNames(): Promise<string[]> {
  return [...ENV_NAMES]
}

describe('loadConfig', () => {
  test('an empty environment gives the documented defaults', () => {
    const config = loadConfig({})
    assert.deepEqual(config, {
      databaseUrl: 'sqlite:./data/usersvc.db',
      databasePoolSize: 10,
      host: '127.0.0.1',
      port: 8443,
      logLevel: 'info',
      timeouts: { headersMs: 10000, requestMs: 30000, keepAliveMs: 72000 },
      metrics: { host: '127.0.0.1', port: 9464 },
      tls: {
        enabled: true,
        dir: './data/tls',
        certFile: undefined,
        keyFile: undefined,
        caFile: undefined,
        sans: [],
      },
      trustProxy: [],
      allowedOrigins: [],
      redis: { url: undefined, keyPrefix: 'usersvc' },
      throttle: {
        loginPerAddress: { points: 60, seconds: 60 },
        registerPerAddress: { points: 30, seconds: 600 },
        recoveryPerAddress: { points: 10, seconds: 600 },
        backoffAfterPerAddress: 5,
        backoffAfterPerAccount: 20,
        backoffMaxSeconds: 900,
        failureLimit: 100,
        failureWindowSeconds: 86400,
      },
      passwords: {
        minLength: 15,
        argon2: { memoryCost: 19456, timeCost: 2, parallelism: 1 },
        concurrency: 0,
        threadPoolSize: 4,
        threadNice: 10,
        queueLimit: 256,
        maxQueueWaitMs: 250,
      },
      tokens: {
        issuer: 'usersvc',
        audience: 'usersvc',
        accessTtlSeconds: 900,
        refreshTtlSeconds: 2592000,
        signingKeySecrets: [],
        keyCacheSeconds: 30,
      },
      mail: {
        smtpUrl: undefined,
        requireTls: true,
        caFile: undefined,
        from: 'usersvc <usersvc@localhost>',
        dir: './data/mail',
        publicUrl: 'https://localhost:8443',
      },
      recovery: { recoveryCodeTtlSeconds: 900, emailCodeTtlSeconds: 3600, emailRequired: false },
      webauthn: { rpId: 'localhost', rpName: 'usersvc', origins: ['https://localhost:8443'] },
      events: {
        auditRetentionDays: 365,
        webhooks: {
          allowHttp: false,
          retryScheduleMs: [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400].map(
            (s) => s * 1000,
          ),
        },
        natsStream: 'USERSVC_EVENTS',
        natsSubjectPrefix: 'usersvc.events',
      },
    })
  })

  test('THROTTLE=off turns brute-force protection off; REDIS_URL must be redis:// or rediss://', () => {
    assert.equal(loadConfig({ THROTTLE: 'off' }).throttle, undefined)
    assert.equal(
      loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379/2' }).redis.url,
      'redis://127.0.0.1:6379/2',
    )
    assert.throws(() => loadConfig({ REDIS_URL: 'http://x' }), /REDIS_URL/)
    // NIST SP 800-63B: never more than 100 consecutive failures.
    assert.throws(() => loadConfig({ THROTTLE_FAILURE_LIMIT: '101' }), /THROTTLE_FAILURE_LIMIT/)
  })

  test('values are converted from strings to the types of the schema', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://app:secret@db.internal:5432/users',
      DATABASE_POOL_SIZE: '25',
      HOST: '0.0.0.0',
      PORT: '3000',
      LOG_LEVEL: 'debug',
      PASSWORD_MIN_LENGTH: '8',
      ARGON2_MEMORY_KIB: '65536',
      ARGON2_TIME_COST: '3',
      ARGON2_PARALLELISM: '4',
      HASH_CONCURRENCY: '2',
      HASH_QUEUE_LIMIT: '0',
      ACCESS_TOKEN_TTL_SECONDS: '300',
      REFRESH_TOKEN_TTL_SECONDS: '86400',
      TOKEN_ISSUER: 'https://auth.example.com',
      TOKEN_AUDIENCE: 'api.example.com',
      KEY_CACHE_SECONDS: '0',
    })
    assert.equal(config.databaseUrl, 'postgres://app:secret@db.internal:5432/users')
    assert.equal(config.databasePoolSize, 25)
    assert.equal(config.host, '0.0.0.0')
    assert.equal(config.port, 3000)
    assert.equal(config.logLevel, 'debug')
    assert.equal(config.passwords.minLength, 8)
    assert.deepEqual(config.passwords.argon2, { memoryCost: 65536, timeCost: 3, parallelism: 4 })
    assert.equal(config.passwords.concurrency, 2)
    assert.equal(config.passwords.queueLimit, 0)
    assert.equal(config.tokens.accessTtlSeconds, 300)
    assert.equal(config.tokens.refreshTtlSeconds, 86400)
    assert.equal(config.tokens.issuer, 'https://auth.example.com')
    assert.equal(config.tokens.audience, 'api.example.com')
    assert.equal(config.tokens.keyCacheSeconds, 0)
  })

  test('every accepted DATABASE_URL scheme', () => {
    for (const url of [
      'sqlite:./data/x.db',
      'sqlite:/var/lib/usersvc/x.db',
      'sqlite::memory:',
      'postgres://u@h/db',
      'postgresql://u@h/db',
    ]) {
      assert.equal(loadConfig({ DATABASE_URL: url }).databaseUrl, url)
    }
  })

  test('an empty variable counts as unset; unrelated variables are ignored', () => {
    const config = loadConfig({
      PORT: '',
      LOG_LEVEL: '',
      TLS: '',
      TLS_CERT_FILE: '',
      TLS_SAN: '',
      HOME: '/root',
      PATH: '/bin',
    })
    assert.equal(config.port, 8443)
    assert.equal(config.logLevel, 'info')
    assert.equal(config.tls.enabled, true)
    assert.equal(config.tls.certFile, undefined)
    assert.deepEqual(config.tls.sans, [])
  })

  test('PORT=0 (any free port) is allowed', () => {
    assert.equal(loadConfig({ PORT: '0' }).port, 0)
  })

  test('a bad value throws a ConfigError that names the variable', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ PORT: 'abc' }, 'PORT'],
      [{ PORT: '65536' }, 'PORT'],
      [{ PORT: '-1' }, 'PORT'],
      [{ PASSWORD_MIN_LENGTH: '7' }, 'PASSWORD_MIN_LENGTH'],
      [{ PASSWORD_MIN_LENGTH: '257' }, 'PASSWORD_MIN_LENGTH'],
      [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
      [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
      [{ ARGON2_TIME_COST: '0' }, 'ARGON2_TIME_COST'],
      [{ ACCESS_TOKEN_TTL_SECONDS: '10' }, 'ACCESS_TOKEN_TTL_SECONDS'],
      [{ DATABASE_POOL_SIZE: 'many' }, 'DATABASE_POOL_SIZE'],
      [{ HASH_THREAD_NICE: '20' }, 'HASH_THREAD_NICE'],
      [{ HASH_THREAD_NICE: '-5' }, 'HASH_THREAD_NICE'],
    ]
    for (const [env, name] of cases) {
      const message = configError(env)
      assert.match(message, new RegExp(`^\\s*${name}: `, 'm'), `${JSON.stringify(env)}: ${message}`)
    }
  })

  test('the minimum password length is never below 8', () => {
    assert.equal(loadConfig({ PASSWORD_MIN_LENGTH: '8' }).passwords.minLength, 8)
    for (const value of ['7', '1', '0', '-15']) {
      assert.match(configError({ PASSWORD_MIN_LENGTH: value }), /PASSWORD_MIN_LENGTH/)
    }
  })

  test('LOG_LEVEL lists the allowed values', () => {
    const message = configError({ LOG_LEVEL: 'loud' })
    assert.match(
      message,
      /LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent/,
    )
    assert.ok(!message.includes('loud'), message)
  })

  test('a fractional number is refused, not silently truncated', () => {
    assert.match(configError({ PORT: '8080.5' }), /PORT/)
    assert.match(configError({ PORT: '8080.5', TLS: 'off' }), /^\s*PORT: /m)
    assert.match(configError({ PASSWORD_MIN_LENGTH: '14.9' }), /PASSWORD_MIN_LENGTH/)
    assert.match(configError({ ARGON2_MEMORY_KIB: '19456.5' }), /ARGON2_MEMORY_KIB/)
  })

  test('a hexadecimal or signed number is refused, not converted', () => {
    for (const value of ['0x50', '0X1F90', '+8080', '8e3', ' 8080']) {
      assert.match(
        configError({ PORT: value }),
        /^\s*PORT: must be a whole number written in digits$/m,
        value,
      )
    }
    assert.match(configError({ DATABASE_POOL_SIZE: '0x10' }), /^\s*DATABASE_POOL_SIZE: /m)
  })

  test('the value of DATABASE_URL is never echoed (it may hold a password)', () => {
    const message = configError({ DATABASE_URL: 'mysql://root:hunter2-s3cret@db.internal/users' })
    assert.match(message, /DATABASE_URL/)
    assert.ok(!message.includes('hunter2-s3cret'), message)
    assert.ok(!message.includes('db.internal'), message)
  })

  test('several bad variables are all named in one error', () => {
    const message = configError({
      PORT: 'abc',
      PASSWORD_MIN_LENGTH: '7',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://x',
      HOST: '127.0.0.1', // a good one among them is not mentioned
    })
    for (const name of ['PORT', 'PASSWORD_MIN_LENGTH', 'LOG_LEVEL', 'DATABASE_URL']) {
      assert.match(message, new RegExp(`^\\s*${name}: `, 'm'), message)
    }
    assert.ok(!/^\s*HOST:/m.test(message), message)
    // One line per problem, no duplicates.
    const lines = message.split('\n').filter((line) => /^\s+[A-Z0-9_]+: /.test(line))
    assert.equal(lines.length, 4, message)
  })
})

describe('loadConfig: TLS and proxies', () => {
  test('TLS is on by default and the port is then 8443', () => {
    const config = loadConfig({})
    assert.equal(config.tls.enabled, true)
    assert.equal(config.port, 8443)
    assert.equal(loadConfig({ TLS: 'on' }).port, 8443)
  })

  test('TLS=off turns it off and the default port becomes 8080', () => {
    const config = loadConfig({ TLS: 'off' })
    assert.equal(config.tls.enabled, false)
    assert.equal(config.port, 8080)
    // Everything else keeps its default.
    // Links in mail follow the service's own address when PUBLIC_URL is not set.
    assert.equal(config.mail.publicUrl, 'http://localhost:8080')
    // So do the pages passkeys are accepted from.
    assert.deepEqual(config.webauthn.origins, ['http://localhost:8080'])
    const { tls: _off, port: _8080, mail: offMail, webauthn: offWebauthn, ...rest } = config
    const {
      tls: _on,
      port: _8443,
      mail: onMail,
      webauthn: onWebauthn,
      ...defaults
    } = loadConfig({})
    assert.deepEqual(rest, defaults)
    assert.deepEqual({ ...offMail, publicUrl: '' }, { ...onMail, publicUrl: '' })
    assert.deepEqual({ ...offWebauthn, origins: [] }, { ...onWebauthn, origins: [] })
  })

  test('an explicit PORT wins over either default', () => {
    assert.equal(loadConfig({ PORT: '9443' }).port, 9443)
    assert.equal(loadConfig({ PORT: '9080', TLS: 'off' }).port, 9080)
    assert.equal(loadConfig({ PORT: '0', TLS: 'off' }).port, 0)
  })

  test('TLS accepts only on and off', () => {
    for (const value of ['maybe', 'true', 'yes', '1']) {
      const message = configError({ TLS: value })
      assert.match(message, /^\s*TLS: must be one of on, off$/m, `${value}: ${message}`)
    }
  })

  test('TLS_DIR, TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE are taken as given', () => {
    const config = loadConfig({
      TLS_DIR: '/var/lib/usersvc/tls',
      TLS_CERT_FILE: '/etc/ssl/usersvc/fullchain.pem',
      TLS_KEY_FILE: '/etc/ssl/usersvc/privkey.pem',
      TLS_CA_FILE: '/etc/ssl/usersvc/chain.pem',
    })
    assert.deepEqual(config.tls, {
      enabled: true,
      dir: '/var/lib/usersvc/tls',
      certFile: '/etc/ssl/usersvc/fullchain.pem',
      keyFile: '/etc/ssl/usersvc/privkey.pem',
      caFile: '/etc/ssl/usersvc/chain.pem',
      sans: [],
    })
  })

  test('TLS_CERT_FILE without TLS_KEY_FILE fails, naming TLS_KEY_FILE', () => {
    const message = configError({ TLS_CERT_FILE: '/etc/ssl/usersvc/fullchain.pem' })
    assert.match(message, /^\s*TLS_KEY_FILE: /m, message)
    assert.ok(!/^\s*TLS_CERT_FILE: /m.test(message), message)
    // An empty TLS_KEY_FILE is unset, so it is missing too.
    const empty = configError({ TLS_CERT_FILE: '/etc/ssl/usersvc/fullchain.pem', TLS_KEY_FILE: '' })
    assert.match(empty, /^\s*TLS_KEY_FILE: /m, empty)
  })

  test('TLS_KEY_FILE without TLS_CERT_FILE fails, naming TLS_CERT_FILE', () => {
    const message = configError({ TLS_KEY_FILE: '/etc/ssl/usersvc/privkey.pem' })
    assert.match(message, /^\s*TLS_CERT_FILE: /m, message)
    assert.ok(!/^\s*TLS_KEY_FILE: /m.test(message), message)
  })

  test('TLS_CA_FILE alone fails, naming it', () => {
    const message = configError({ TLS_CA_FILE: '/etc/ssl/usersvc/chain.pem' })
    assert.match(message, /^\s*TLS_CA_FILE: /m, message)
  })

  test('TLS_SAN is a comma-separated list, trimmed, empty items dropped', () => {
    const config = loadConfig({ TLS_SAN: ' usersvc.internal ,10.0.0.5,, fe80::1 , *.dev.test,' })
    assert.deepEqual(config.tls.sans, ['usersvc.internal', '10.0.0.5', 'fe80::1', '*.dev.test'])
    assert.deepEqual(loadConfig({ TLS_SAN: 'usersvc-1.internal' }).tls.sans, ['usersvc-1.internal'])
    assert.deepEqual(loadConfig({ TLS_SAN: ' , ' }).tls.sans, [])
  })

  test('TLS_SAN refuses characters no name or address has', () => {
    for (const value of ['a/b', 'host;rm -rf', 'name\nother', 'user@host', 'host_name!']) {
      assert.match(configError({ TLS_SAN: value }), /^\s*TLS_SAN: /m, JSON.stringify(value))
    }
  })

  test('TRUST_PROXY is a comma-separated list of addresses, CIDRs or loopback, trimmed', () => {
    assert.deepEqual(loadConfig({}).trustProxy, [])
    const config = loadConfig({ TRUST_PROXY: ' 127.0.0.1 , 10.0.0.0/8,,::1,loopback ' })
    assert.deepEqual(config.trustProxy, ['127.0.0.1', '10.0.0.0/8', '::1', 'loopback'])
    assert.deepEqual(loadConfig({ TRUST_PROXY: 'fd00::/8' }).trustProxy, ['fd00::/8'])
  })

  test('TRUST_PROXY refuses anything else', () => {
    for (const value of ['*', '10.0.0.1;x', 'true|false']) {
      assert.match(configError({ TRUST_PROXY: value }), /^\s*TRUST_PROXY: /m, value)
    }
  })
})

describe('loadConfig: passkeys (WebAuthn)', () => {
  test('the default origins are PUBLIC_URL’s and the service’s own, once each', () => {
    assert.deepEqual(
      loadConfig({ PUBLIC_URL: 'https://accounts.example.com/app/' }).webauthn.origins,
      ['https://accounts.example.com', 'https://localhost:8443'],
    )
    assert.deepEqual(loadConfig({ TLS: 'off', PORT: '3000' }).webauthn.origins, [
      'http://localhost:3000',
    ])
    assert.deepEqual(loadConfig({ HOST: '10.0.0.5' }).webauthn.origins, ['https://10.0.0.5:8443'])
  })

  test('WEBAUTHN_RP_ID, WEBAUTHN_RP_NAME and WEBAUTHN_ORIGINS are taken as given, origins trimmed', () => {
    const config = loadConfig({
      WEBAUTHN_RP_ID: 'Example.COM',
      WEBAUTHN_RP_NAME: 'Example accounts',
      WEBAUTHN_ORIGINS:
        'https://example.com, https://accounts.example.com:8443 ,http://dev.example.com',
    })
    assert.deepEqual(config.webauthn, {
      rpId: 'example.com',
      rpName: 'Example accounts',
      origins: [
        'https://example.com',
        'https://accounts.example.com:8443',
        'http://dev.example.com',
      ],
    })
  })

  test('an origin that is not a bare http(s) origin on the RP ID fails, naming WEBAUTHN_ORIGINS', () => {
    const cases = {
      'https://example.com/': /not a bare origin/,
      'https://example.com/login': /not a bare origin/,
      'example.com': /not an http\(s\) origin/,
      'ftp://example.com': /not an http\(s\) origin/,
      'https://evil.com': /not on WEBAUTHN_RP_ID \(example.com\)/,
      'https://notexample.com': /not on WEBAUTHN_RP_ID/,
      ' , ': /names no origin/,
    }
    for (const [origins, reason] of Object.entries(cases)) {
      const message = configError({ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: origins })
      assert.match(message, /^\s*WEBAUTHN_ORIGINS: /m, origins)
      assert.match(message, reason, origins)
    }
  })

  test('an RP ID that is not a domain name fails, naming WEBAUTHN_RP_ID', () => {
    for (const rpId of [
      'https://example.com',
      'example.com:443',
      'example.com/x',
      '-x.com',
      'a..b',
    ]) {
      assert.match(
        configError({ WEBAUTHN_RP_ID: rpId }),
        /^\s*WEBAUTHN_RP_ID: must be a domain name/m,
        rpId,
      )
    }
    assert.match(configError({ WEBAUTHN_RP_NAME: 'x'.repeat(65) }), /^\s*WEBAUTHN_RP_NAME: /m)
  })
})

describe('.env.example', () => {
  test('the Env schema lists the variables this test expects to find', async () => {
    const names = await envNames()
    // A guard: if the list came back empty or partial, the next test would prove nothing.
    for (const name of ['DATABASE_URL', 'PORT', 'PASSWORD_MIN_LENGTH', 'KEY_CACHE_SECONDS']) {
      assert.ok(names.includes(name), `${name} not found in src/config/: ${names.join(', ')}`)
    }
    assert.ok(names.length >= 16, names.join(', '))
  })

  test('documents every variable of the Env schema', async () => {
    const names = await envNames()
    const example = await readFile(join(root, '.env.example'), 'utf8')
    const missing = names.filter((name) => !new RegExp(`^#?\\s*${name}=`, 'm').test(example))
    assert.deepEqual(missing, [], `not documented in .env.example: ${missing.join(', ')}`)
  })

  test('the values it shows load, and are the defaults', async () => {
    const example = await readFile(join(root, '.env.example'), 'utf8')
    const env: Record<string, string> = {}
    for (const match of example.matchAll(/^([A-Z0-9_]+)=(.*)$/gm)) {
      env[match[1] as string] = (match[2] as string).trim()
    }
    assert.ok(Object.keys(env).length > 0, 'no NAME=value lines in .env.example')
    assert.deepEqual(loadConfig(env), loadConfig({}))
  })
})
