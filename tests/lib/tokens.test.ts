import { describe, expect, it } from 'vitest'
import jwt from 'jsonwebtoken'
import { CLOCK_TOLERANCE_SECONDS, signToken, verifyToken } from '#lib/auth/tokens.ts'
import { Problem } from '#lib/problem.ts'

const settings = { secret: 's'.repeat(48), issuer: 'gateway-auth', audience: 'gateway-auth' }
const NOW = new Date('2026-03-01T12:00:00Z')
const iat = NOW.getTime() / 1000
const claims = { sub: '17', preferred_username: 'alice', jti: 'A'.repeat(43), iat, exp: iat + 3600 }
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000)

/** A token signed by jsonwebtoken with our secret but any header/algorithm/claims. */
function forge(payload: object, options: jwt.SignOptions = {}, secret = settings.secret) {
  return jwt.sign({ iss: settings.issuer, aud: settings.audience, ...claims, ...payload }, secret, {
    algorithm: 'HS256',
    ...options,
  })
}

function refusal(token: string, now = NOW): string {
  try {
    verifyToken(token, settings, now)
  } catch (error) {
    expect(error).toBeInstanceOf(Problem)
    return (error as Problem).code
  }
  throw new Error('the token was accepted')
}

describe('verifyToken', () => {
  it('accepts a token it signed and returns its claims, up to the clock tolerance past exp or before nbf', () => {
    const token = signToken(claims, settings)
    expect(verifyToken(token, settings, at(10))).toMatchObject({ ...claims, iss: 'gateway-auth', aud: 'gateway-auth' })
    expect(CLOCK_TOLERANCE_SECONDS).toBeGreaterThan(0)
    expect(() => verifyToken(token, settings, at(3600 + CLOCK_TOLERANCE_SECONDS - 1))).not.toThrow()
    expect(() => verifyToken(forge({ nbf: iat + CLOCK_TOLERANCE_SECONDS - 5 }), settings, NOW)).not.toThrow()
  })

  it.each([
    ['session_expired for an expired token', settings.secret, 'session_expired'],
    [
      'unauthorized, not session_expired, for an expired token signed with another secret',
      'x'.repeat(36),
      'unauthorized',
    ],
  ])('answers %s', (_, secret, code) => {
    expect(refusal(forge({}, {}, secret), at(3600 + CLOCK_TOLERANCE_SECONDS + 1))).toBe(code)
  })

  const unsigned = () =>
    `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, iss: settings.issuer, aud: settings.audience })}.`

  it.each([
    ['alg none', unsigned],
    ['alg none with a copied signature', () => `${unsigned()}${signToken(claims, settings).split('.')[2]}`],
    ['HS512 with the same secret', () => forge({}, { algorithm: 'HS512' })],
    ['HS384 with the same secret', () => forge({}, { algorithm: 'HS384' })],
    ['another secret', () => forge({}, {}, 'another secret that is long enough!!')],
    [
      'a tampered payload',
      () => {
        const [header, , signature] = signToken(claims, settings).split('.')
        return `${header}.${b64({ ...claims, sub: '1', iss: settings.issuer, aud: settings.audience })}.${signature}`
      },
    ],
    [
      'a tampered header',
      () => {
        const [, payload, signature] = signToken(claims, settings).split('.')
        return `${b64({ alg: 'HS256', typ: 'JWT', kid: 'x' })}.${payload}.${signature}`
      },
    ],
    ['a wrong issuer', () => forge({ iss: 'someone-else' })],
    ['a wrong audience', () => forge({ aud: 'another-service' })],
    ['no issuer', () => forge({ iss: undefined })],
    ['no audience', () => forge({ aud: undefined })],
    ['a not-before in the future', () => forge({ nbf: iat + 120 })],
    ['no jti', () => forge({ jti: undefined })],
    ['no sub', () => forge({ sub: undefined })],
    ['a numeric sub', () => forge({ sub: 17 })],
    [
      'no exp',
      () => {
        const { exp: _exp, ...rest } = claims
        return jwt.sign({ ...rest, iss: settings.issuer, aud: settings.audience }, settings.secret, {
          algorithm: 'HS256',
        })
      },
    ],
    ['an empty string', () => ''],
    ['two segments', () => 'a.b'],
    ['garbage', () => 'not a token at all'],
  ])('refuses %s with unauthorized', (_, make) => {
    expect(refusal(make())).toBe('unauthorized')
  })

  it.each(['jku', 'jwk', 'x5u'])(
    'refuses the %s token for its header alone: jsonwebtoken by itself would accept it',
    (name) => {
      const value = name === 'jwk' ? { kty: 'oct', k: 'c2VjcmV0' } : 'https://evil.example/keys'
      const token = forge({}, { header: { alg: 'HS256', [name]: value } as jwt.JwtHeader })
      expect(() => jwt.verify(token, settings.secret, { algorithms: ['HS256'], clockTimestamp: iat })).not.toThrow()
      expect(refusal(token)).toBe('unauthorized')
    },
  )

  it('never puts the token into the refusal message', () => {
    const token = forge({ iss: 'someone-else' })
    try {
      verifyToken(token, settings, NOW)
    } catch (error) {
      expect((error as Error).message).not.toContain(token)
      expect(JSON.stringify((error as Problem).extra)).not.toContain(token)
    }
  })
})

describe('signToken', () => {
  it('signs HS256 with the configured issuer and audience', () => {
    const token = signToken(claims, { ...settings, issuer: 'gw-1', audience: 'gw-api' })
    const decoded = jwt.decode(token, { complete: true })!
    expect(decoded.header.alg).toBe('HS256')
    expect(decoded.payload).toMatchObject({ iss: 'gw-1', aud: 'gw-api', sub: '17', exp: claims.exp })
    expect(() => jwt.verify(token, settings.secret, { algorithms: ['HS256'], clockTimestamp: iat })).not.toThrow()
  })
})
