// Session tokens: HS256 JWTs (jsonwebtoken). The algorithm, issuer and audience are pinned when
// verifying; header-supplied keys (jku, jwk, x5u, x5c) are refused outright, never fetched.
import { createSecretKey, type KeyObject } from 'node:crypto'
import jwt from 'jsonwebtoken'
import { Problem } from '../problem.ts'

// Given a string, jsonwebtoken tries it as a public key first (an exception per call) before making
// a secret key of it: the key object is made once per secret instead.
const keys = new Map<string, KeyObject>()
const secretKey = (secret: string) => {
  let key = keys.get(secret)
  if (!key) {
    key = createSecretKey(Buffer.from(secret, 'utf8'))
    keys.set(secret, key)
  }
  return key
}

export const TOKEN_ALGORITHM = 'HS256'
/** Gateways without a real-time clock drift; a few seconds either way is not an attack. */
export const CLOCK_TOLERANCE_SECONDS = 30

export interface TokenClaims {
  readonly sub: string
  readonly preferred_username: string
  readonly jti: string
  readonly iat: number
  readonly exp: number
  readonly iss: string
  readonly aud: string
}

interface TokenSettings {
  readonly secret: string
  readonly issuer: string
  readonly audience: string
}

/** Signs the claims of one session. Times are whole seconds since the epoch. */
export function signToken(
  claims: { sub: string; preferred_username: string; jti: string; iat: number; exp: number },
  settings: TokenSettings,
): string {
  return jwt.sign({ ...claims, iss: settings.issuer, aud: settings.audience }, secretKey(settings.secret), {
    algorithm: TOKEN_ALGORITHM,
  })
}

const FOREIGN_KEY_HEADERS = ['jku', 'jwk', 'x5u', 'x5c']

/** Verifies signature and claims; throws session_expired for a genuine but expired token, else unauthorized. */
export function verifyToken(token: string, settings: TokenSettings, now: Date): TokenClaims {
  let claims: unknown
  try {
    const decoded = jwt.verify(token, secretKey(settings.secret), {
      algorithms: [TOKEN_ALGORITHM],
      issuer: settings.issuer,
      audience: settings.audience,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      clockTimestamp: Math.floor(now.getTime() / 1000),
      complete: true,
    })
    if (FOREIGN_KEY_HEADERS.some((name) => name in decoded.header)) throw new Error('foreign key header')
    claims = decoded.payload
  } catch (error) {
    // jsonwebtoken checks the signature before exp, so only our own tokens reach "expired"
    if (error instanceof jwt.TokenExpiredError)
      throw new Problem('session_expired', { detail: 'Your session has expired; sign in again.' })
    throw new Problem('unauthorized', { detail: 'The session token is not valid.' })
  }
  if (!isTokenClaims(claims)) throw new Problem('unauthorized', { detail: 'The session token is not valid.' })
  return claims
}

function isTokenClaims(value: unknown): value is TokenClaims {
  const c = value as Record<string, unknown> | null
  return (
    !!c &&
    typeof c.sub === 'string' &&
    typeof c.jti === 'string' &&
    typeof c.preferred_username === 'string' &&
    typeof c.iat === 'number' &&
    typeof c.exp === 'number'
  )
}
