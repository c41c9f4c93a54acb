// Structured JSON logs (pino). Secrets are redacted by path as a second line of defence: no code
// path logs a body, a header or a token on purpose.
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

/** Strips control characters and line separators so a username cannot forge a log line or a terminal escape. */
export const printable = (value: string) => value.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '?').slice(0, 64)
