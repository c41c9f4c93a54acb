// The security headers of every answer: Middy's http-security-headers, configured for pages served
// over plain HTTP on a gateway's LAN.
import httpSecurityHeaders from '@middy/http-security-headers'

// Forms post over plain HTTP on a gateway's LAN: no upgrade-insecure-requests, no sandbox, and
// form-action 'self'. Referrer-Policy same-origin keeps Origin on our own form posts (no-referrer
// makes browsers send "Origin: null"). HSTS is ignored by browsers over plain HTTP (RFC 6797 §8.1).
// the middleware drops a directive whose value is undefined (its types only admit strings)
const OFF = undefined as unknown as string

/** Middy step: CSP, Referrer-Policy, HSTS, nosniff and the rest on every answer. */
export const securityHeaders = () =>
  httpSecurityHeaders({
    contentSecurityPolicy: {
      'default-src': "'none'",
      'style-src': "'self'",
      'img-src': "'self' data:",
      // the one optional page script, /static/app.js: no inline code, no eval, nothing from elsewhere;
      // nosniff keeps any other same-origin response (JSON, CSS) from running as a script
      'script-src': "'self'",
      'object-src': "'none'",
      'base-uri': "'none'",
      'form-action': "'self'",
      'frame-ancestors': "'none'",
      // the defaults' sandbox (which blocks forms), upgrade-insecure-requests and report-to are
      // switched off by overriding them with nothing
      'report-to': OFF,
      sandbox: OFF,
      'upgrade-insecure-requests': OFF,
    },
    // every feature Middy lists stays off but passkeys, for this origin's own pages (ADR 020)
    permissionsPolicy: { 'publickey-credentials-get': 'self', 'publickey-credentials-create': 'self' },
    referrerPolicy: { policy: 'same-origin' },
    strictTransportSecurity: { maxAge: 365 * 24 * 3600, includeSubDomains: false, preload: false },
    reportTo: false,
  })
