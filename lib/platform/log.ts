// Structured JSON logs (pino). Secrets are redacted by path as a second line of defence: no code
// path logs a body, a header or a token on purpose.
import { createHmac, hkdfSync } from 'node:crypto'
import { pino, type DestinationStream, type Logger } from 'pino'

const REDACTED_PATHS = [
  '*.password',
  '*.current_password',
  '*.new_password',
  '*.password_hash',
  '*.token',
  '*.access_token',
  '*.authorization',
  '*.cookie',
  '*.cookies',
  '*.jwtSecret',
  'headers.authorization',
  'headers.cookie',
]

// A database error keeps what explains it (code, message, table, constraint), never the values it
// failed on: pg-promise's formatted SQL and PostgreSQL's "Failing row contains (…)" can hold a
// password hash or a session id.
const ERROR_VALUE_FIELDS = ['query', 'params', 'detail', 'where', 'internalQuery'] as const

function serializeError(error: unknown) {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>
  for (const part of [serialized, serialized?.cause]) {
    if (part && typeof part === 'object')
      for (const field of ERROR_VALUE_FIELDS) delete (part as Record<string, unknown>)[field]
  }
  return serialized
}

/** The process logger (stdout unless a destination is given); child loggers carry the request id. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'gateway-auth' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { err: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
  }
  return destination ? pino(options, destination) : pino(options)
}

const pseudonymKeys = new Map<string, Buffer>()

/**
 * A stand-in for a value that must not reach the log but should still be recognisable from line to
 * line (a name typed at sign-in, which may be a password): 16 hex digits of an HMAC keyed from
 * `secret` (the JWT signing secret, through HKDF), so it is stable while the secret is, and cannot be
 * reversed or precomputed from a list of guesses without the secret.
 */
export function pseudonym(value: string, secret: string): string {
  let key = pseudonymKeys.get(secret)
  if (!key) {
    key = Buffer.from(hkdfSync('sha256', secret, '', 'gateway-auth log pseudonyms', 32))
    pseudonymKeys.clear() // one secret per process: keep one key
    pseudonymKeys.set(secret, key)
  }
  return createHmac('sha256', key).update(value).digest('hex').slice(0, 16)
}
