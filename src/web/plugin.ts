import { basename, dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'

const WEB_ROOT = resolve(import.meta.dirname, '../../web')
// The QR code library's ES module (self-contained): the TOTP enrolment draws its QR code with it.
const UQR = fileURLToPath(import.meta.resolve('uqr'))

/**
 * Pages run only scripts and styles of this service: no inline script, nothing from elsewhere
 * (so they work with no internet), and the API is the only thing they connect to.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "manifest-src 'self'",
].join('; ')

/**
 * The sign-up / sign-in pages (web/): plain ES modules and CSS, no build step. Registered as its
 * own plugin, so the hook below applies to these routes only.
 */
export async function registerPages(pages: FastifyInstance): Promise<void> {
  // Runs after the app-wide onSend, so the page policy replaces the API's `default-src 'none'`.
  pages.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', PAGE_CSP)
    reply.header('cache-control', 'no-cache')
  })
  await pages.register(fastifyStatic, {
    root: WEB_ROOT,
    prefix: '/',
    index: ['index.html'],
    // One route per file found at start-up: no catch-all route, so unknown paths stay 404s.
    wildcard: false,
    schemaHide: true,
    dotfiles: 'deny',
  })
  pages.get('/assets/vendor/uqr.js', { schema: { hide: true } }, (_request, reply) =>
    reply.sendFile(basename(UQR), dirname(UQR)),
  )
}
