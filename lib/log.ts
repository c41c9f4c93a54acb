// Structured JSON logs (pino). Secrets are redacted by path as a second line of defence: no code
// path logs a body, a header or a token on purpose.
import { pino, type DestinationStream, type Logger } from 'pino'

const REDACTED_PATHS = [
  '*.password', '*.current_password', '*.new_password', '*.password_hash', '*.token', '*.access_token',
  '*.authorization', '*.cookie', '*.cookies', '*.jwtSecret', 'headers.authorization', 'headers.cookie',
]

/** The process logger (stdout unless a destination is given); child loggers carry the request id. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'gateway-auth' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }
  return destination ? pino(options, destination) : pino(options)
}

/** Strips control characters so a username cannot forge a log line or a terminal escape. */
export const printable = (value: string) => value.replace(/[\p{Cc}\p{Cf}]/gu, '?').slice(0, 64)
