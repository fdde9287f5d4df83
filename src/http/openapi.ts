import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { catalogue } from '../errors.ts'

const errorTable = Object.entries(catalogue)
  .map(([code, { status, title }]) => `| ${status} | \`${code}\` | ${title} |`)
  .join('\n')

const description = `User registration and login. JSON in and out; every error is an RFC 9457
\`application/problem+json\` document with a stable \`code\`:

| status | code | meaning |
| --- | --- | --- |
${errorTable}

Access tokens are EdDSA JWTs (\`typ: at+jwt\`); verify them with the keys of
\`GET /.well-known/jwks.json\`, pinning the algorithm, issuer and audience.`

const DOCS_CSP = [
  "default-src 'self'",
  "base-uri 'none'",
  "font-src 'self' data:",
  "frame-ancestors 'none'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='",
  "connect-src 'self'",
].join('; ')

/**
 * OpenAPI 3.1 generated from the route schemas (the one source of validation and responses),
 * at /openapi.json, and interactive docs at /docs served from local assets (works offline).
 * Registered before the routes, so that it sees each of them.
 */
export const registerOpenApi = fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: 'usersvc', version: '1', description },
        components: {
          securitySchemes: {
            bearerAuth: {
              type: 'http',
              scheme: 'bearer',
              bearerFormat: 'JWT',
              description: 'The access_token of POST /session/',
            },
          },
        },
        tags: [
          { name: 'users', description: 'Registration and accounts' },
          {
            name: 'sessions',
            description:
              'Log in (with a second step or a passkey), refresh, log out, your sessions',
          },
          {
            name: 'factors',
            description: 'Second factors: authenticator apps (TOTP) and passkeys (WebAuthn)',
          },
          {
            name: 'recovery',
            description: 'A new password by a code mailed to a verified address',
          },
          {
            name: 'events',
            description: 'The audit trail: every security event, for admins and your own',
          },
          {
            name: 'webhooks',
            description: 'Endpoints that receive the events, signed (Standard Webhooks); admins',
          },
          {
            name: 'oauth2',
            description:
              'Sign in with usersvc (OpenID Connect): the sign-in page’s interaction, your connected applications',
          },
          { name: 'clients', description: 'The registered OpenID clients; admins' },
          { name: 'keys', description: 'Public keys for verifying access tokens' },
          { name: 'health', description: 'Liveness and readiness' },
        ],
      },
    })
    await app.register(swaggerUi, {
      routePrefix: '/docs',
      // Swagger UI's own assets only; its one inline style is allowed by hash (this version's).
      staticCSP: DOCS_CSP,
      uiConfig: {
        deepLinking: true,
        validatorUrl: null,
        tryItOutEnabled: true,
        persistAuthorization: false,
      },
    })
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  },
  { name: 'openapi' },
)
