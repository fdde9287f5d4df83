import type { SecureContextOptions, TlsOptions } from 'node:tls'

// Mozilla's "intermediate" profile (v5.7): TLS 1.2 and 1.3 only, forward-secret AEAD suites.
// Node's defaults would also accept static-RSA suites (AES128-GCM-SHA256 …) without forward
// secrecy; naming the suites here refuses them.
export const TLS13_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
]
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
]
export const CURVES = ['X25519', 'prime256v1', 'secp384r1']

export const tlsPolicy = {
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.3',
  ciphers: [...TLS13_CIPHERS, ...TLS12_CIPHERS].join(':'),
  ecdhCurve: CURVES.join(':'),
  // Mozilla intermediate: every suite offered is strong, so let the client pick (it knows
  // whether it has AES hardware).
  honorCipherOrder: false,
} satisfies TlsOptions & SecureContextOptions

/** HSTS for responses the service itself serves over TLS (2 years, as Mozilla recommends). */
export const HSTS = 'max-age=63072000'
