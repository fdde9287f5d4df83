import { randomUUID } from 'node:crypto'
import cookie from '@fastify/cookie'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import type { DestinationStream } from 'pino'
import accountRoutes from './authn/account-routes.ts'
import authnPlugin from './authn/plugin.ts'
import authnRoutes from './authn/routes.ts'
import secondStepRoutes from './authn/second-step-routes.ts'
import { type Clock, systemClock } from './clock.ts'
import codesPlugin from './codes/plugin.ts'
import type { Config } from './config/index.ts'
import storePlugin from './db/plugin.ts'
import type { Store } from './db/schema.ts'
import eventsPlugin from './events/plugin.ts'
import eventRoutes from './events/routes.ts'
import factorListRoutes from './factors/factor-routes.ts'
import factorsPlugin from './factors/plugin.ts'
import factorRoutes from './factors/routes.ts'
import totpRoutes from './factors/totp-routes.ts'
import healthRoutes from './health/routes.ts'
import authenticatePlugin from './http/authenticate.ts'
import { answerUnknownMethods, clientErrorHandler } from './http/early-errors.ts'
import { setSecurityHeaders } from './http/headers.ts'
import { registerJsonBody } from './http/json-body.ts'
import { registerOpenApi } from './http/openapi.ts'
import { frameworkErrors, registerProblems } from './http/problems.ts'
import { RequestLog } from './http/request-log.ts'
import { enforceTimeouts } from './http/timeouts.ts'
import { validatorCompiler } from './http/validation.ts'
import mailPlugin from './mail/plugin.ts'
import metricsPlugin from './metrics/plugin.ts'
import natsPlugin from './nats/plugin.ts'
import clientRoutes from './oidc/clients/routes.ts'
import consentRoutes from './oidc/consent-routes.ts'
import interactionRoutes from './oidc/interaction-routes.ts'
import oidcPlugin from './oidc/plugin.ts'
import oidcRoutes from './oidc/routes.ts'
import outboxPlugin from './outbox/plugin.ts'
import passkeysPlugin from './passkeys/plugin.ts'
import passkeyRoutes from './passkeys/routes.ts'
import type { Hasher } from './passwords/hasher.ts'
import passwordsPlugin from './passwords/plugin.ts'
import recoveryPlugin from './recovery/plugin.ts'
import recoveryRoutes from './recovery/routes.ts'
import savedCodeRoutes from './recovery/saved-code-routes.ts'
import sessionsPlugin from './sessions/plugin.ts'
import sessionRoutes from './sessions/routes.ts'
import throttlePlugin from './throttle/plugin.ts'
import { HSTS, tlsPolicy } from './tls/policy.ts'
import tokensPlugin from './tokens/plugin.ts'
import tokenRoutes from './tokens/routes.ts'
import transferPlugin from './transfer/plugin.ts'
import transferRoutes from './transfer/routes.ts'
import usersPlugin from './users/plugin.ts'
import userRoutes from './users/routes.ts'
import { registerPages } from './web/plugin.ts'
import webhooksPlugin from './webhooks/plugin.ts'
import webhookRoutes from './webhooks/routes.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    clock: Clock
  }
}

export interface AppOptions {
  config: Config
  clock?: Clock
  /** An open store to use instead of opening `config.databaseUrl` (the caller closes it). */
  store?: Store
  /** A hasher to use instead of one built from config (tests count its calls). */
  hasher?: Hasher
  /** Where log lines go (default stdout); tests capture them here. */
  logStream?: DestinationStream
  /**
   * Key and certificate to serve HTTPS (HTTP/2 with HTTP/1.1 by ALPN, Mozilla intermediate TLS)
   * instead of plain HTTP. Routes and plugins do not care which.
   */
  tls?: { key: string; cert: string }
}

export const BODY_LIMIT = 16 * 1024

// Never log secrets, even by accident (Fastify's request serializer logs no bodies; this is the net).
// Exact paths, no wildcards: wildcard redaction costs on every log line, and bodies are never
// logged in the first place.
const SECRETS = [
  'password',
  'current_password',
  'new_password',
  'refresh_token',
  'access_token',
  'mfa_token',
]
// Codes in bodies: a mailed one, a saved recovery code, and the set a 201 shows once. (A log
// line's own top-level `code` is an error's code, and stays.)
const CODES = ['code', 'recovery_code', 'codes']
const redact = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  ...SECRETS,
  ...SECRETS.map((key) => `body.${key}`),
  ...CODES.map((key) => `body.${key}`),
  'password_hash',
  'passwordHash',
]

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The caller's X-Request-Id when it is a sane token (it goes into every log line), else new. */
function requestId(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers['x-request-id']
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
}

function httpsOptions(
  tls: { key: string; cert: string },
  timeouts: Config['timeouts'],
): FastifyServerOptions {
  // Fastify's types pick the server flavour from these literals; the instance API is the same.
  return {
    http2: true,
    // A connection that never finishes its TLS handshake is dropped like slow headers.
    https: { allowHTTP1: true, ...tlsPolicy, ...tls, handshakeTimeout: timeouts.headersMs },
    http2SessionTimeout: timeouts.keepAliveMs,
  } as FastifyServerOptions
}

/** Builds the whole service as a Fastify instance. It never listens: main.ts or a test does. */
export function buildApp(options: AppOptions) {
  const { config } = options
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: { paths: redact, censor: '[redacted]' },
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    logController: new RequestLog(),
    bodyLimit: BODY_LIMIT,
    // Long ids reach the handler, which answers them like any other unknown id.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 8192 },
    frameworkErrors,
    // Requests Node's HTTP/1.1 parser refuses: problem documents too.
    clientErrorHandler,
    // Behind nginx the request id is nginx's (X-Request-Id), so both logs share it.
    genReqId: requestId,
    // X-Forwarded-* only from the configured proxies: a direct client cannot choose its address.
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    // Fastify's requestTimeout is 0 (none) by default: a slow client could hold a socket forever.
    requestTimeout: config.timeouts.requestMs,
    keepAliveTimeout: config.timeouts.keepAliveMs,
    ...(options.tls ? httpsOptions(options.tls, config.timeouts) : {}),
  }).withTypeProvider<TypeBoxTypeProvider>()

  enforceTimeouts(app.server, config.timeouts, Boolean(options.tls))
  app.setValidatorCompiler(validatorCompiler)
  registerJsonBody(app)
  answerUnknownMethods(app, registerProblems(app))

  app.register(
    fp(
      async (core) => {
        core.decorate('config', config)
        core.decorate('clock', options.clock ?? systemClock)
      },
      { name: 'core' },
    ),
  )
  app.register(cookie)
  app.register(metricsPlugin)
  app.register(storePlugin, { store: options.store })
  app.register(outboxPlugin)
  app.register(eventsPlugin)
  app.register(natsPlugin)
  app.register(mailPlugin)
  app.register(codesPlugin)
  app.register(passwordsPlugin, { hasher: options.hasher })
  app.register(throttlePlugin)
  app.register(tokensPlugin)
  // After events (its sink) and tokens (its secrets are sealed like the signing keys).
  app.register(webhooksPlugin)
  app.register(authenticatePlugin)
  app.register(usersPlugin)
  app.register(sessionsPlugin)
  app.register(authnPlugin)
  app.register(factorsPlugin)
  app.register(passkeysPlugin)
  app.register(recoveryPlugin)
  app.register(transferPlugin)
  app.register(oidcPlugin)

  // Once closing has begun, answer in-flight requests with `Connection: close`, so keep-alive
  // clients let go and the shutdown does not wait for their idle timeouts.
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onSend', async (request, reply) => {
    if (closing && request.raw.httpVersionMajor === 1) reply.header('connection', 'close')
    // RFC 9113 §8.2.2: no connection-specific fields in HTTP/2. Fastify sets Connection: close
    // after a body it could not read; Node would drop it with a warning.
    if (request.raw.httpVersionMajor === 2) reply.removeHeader('connection')
    setSecurityHeaders(reply)
    reply.header('x-request-id', request.id)
    if (options.tls) reply.header('strict-transport-security', HSTS)
  })

  // OpenAPI first: it records the routes registered after it.
  app.register(registerOpenApi)
  app.register(healthRoutes)
  app.register(tokenRoutes)
  app.register(userRoutes)
  app.register(authnRoutes)
  app.register(accountRoutes)
  app.register(secondStepRoutes)
  app.register(sessionRoutes)
  app.register(factorRoutes)
  app.register(factorListRoutes)
  app.register(totpRoutes)
  app.register(passkeyRoutes)
  app.register(savedCodeRoutes)
  app.register(recoveryRoutes)
  app.register(eventRoutes)
  app.register(webhookRoutes)
  app.register(transferRoutes)
  app.register(clientRoutes)
  app.register(interactionRoutes)
  app.register(consentRoutes)
  // Its own scope: the library reads request bodies itself.
  app.register(oidcRoutes)
  app.register(registerPages)
  return app
}

export type App = ReturnType<typeof buildApp>
