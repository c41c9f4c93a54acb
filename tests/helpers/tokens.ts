// Tokens as an attacker would make them: re-signed with the service's own secret to show what the
// server checks beyond the signature, and random session ids shaped like the service's.
import { createHmac, randomBytes } from 'node:crypto'
import { jwtParts } from './http.ts'
import type { TestService } from './service.ts'

/** The session row id a token stands for (its jti). */
export const sessionIdOf = (token: string): string => jwtParts(token).payload.jti as string

/**
 * A JWT signed with the service's own secret (HS256) carrying `claims` over those of `base` (a
 * token the service issued) — to show what the server checks beyond the signature.
 */
export function resign(
  service: TestService,
  base: string,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): string {
  const payload: Record<string, unknown> = { ...jwtParts(base).payload, ...claims }
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name]
  // signed by hand, not with jsonwebtoken's sign(), which refuses to write malformed claims
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const input = `${part({ alg: 'HS256', typ: 'JWT', ...header })}.${part(payload)}`
  return `${input}.${createHmac('sha256', service.runtime.jwtSecret).update(input).digest('base64url')}`
}

/** A fresh random session id, shaped like the service's (256 bits, base64url). */
export const randomSessionId = () => randomBytes(32).toString('base64url')
