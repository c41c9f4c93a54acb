// ASVS 5.0 V9 Self-contained Tokens (Level 1 and 2), black box over HTTP. Each forged token is
// built from a genuine one (so its session row exists and is live): whatever is refused is refused
// for the one thing the forgery changed. Verification as documented in docs/api.md#sessions:
// HS256 pinned, iss/aud/exp/nbf checked with a 30-second clock tolerance, jku/jwk/x5u/x5c refused.
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto'
import jwt from 'jsonwebtoken'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jwtParts } from '../helpers/http.ts'

import { resign } from '../helpers/tokens.ts'
import { expectProblem } from '../helpers/expect.ts'
import { startService, type TestService, type Account } from '../helpers/service.ts'

let s: TestService
let account: Account
let token: string
beforeAll(async () => {
  s = await startService()
  account = await s.register('tokens')
  token = await s.apiLogin(account)
})
afterAll(async () => {
  await s?.stop()
})

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const now = () => Math.floor(Date.now() / 1000)
const payloadOf = (t: string) => jwtParts(t).payload as Record<string, unknown>

/** Each forged token is refused as unauthorized (401, problem JSON, the token not echoed). */
async function expectRefused(forged: Record<string, string>) {
  for (const [label, bad] of Object.entries(forged)) {
    const reply = await s.dashboard(account.username, bad)
    expect(reply.status, `${label}: ${reply.text}`).toBe(401)
    expectProblem(reply, 401, 'unauthorized', [bad, s.runtime.jwtSecret])
  }
}

/** The genuine token still works, so a refusal is the forgery's doing. */
async function expectGenuineAccepted() {
  expect((await s.dashboard(account.username, token)).status).toBe(200)
}

describe('V9.1 Token source and integrity', () => {
  it('9.1.1 checks the signature before trusting any claim: tampered, re-keyed or unsigned tokens are refused', async () => {
    await expectGenuineAccepted()
    const [header, , signature] = token.split('.')
    const tampered = (claims: Record<string, unknown>) =>
      `${header}.${b64({ ...payloadOf(token), ...claims })}.${signature}`
    const other = await s.apiLogin(account)
    await expectRefused({
      'payload tampered (username)': tampered({ preferred_username: 'admin' }),
      'payload tampered (exp pushed out)': tampered({ exp: now() + 365 * 24 * 3600 }),
      // an expired claim behind a bad signature is still "invalid", not "expired": no claim is read first
      'payload tampered (exp in the past)': tampered({ exp: now() - 3600 }),
      'another token’s signature': `${header}.${other.split('.')[1]}.${signature}`,
      'signature removed': `${header}.${token.split('.')[1]}.`,
      'two parts only': `${header}.${token.split('.')[1]}`,
      'other secret': jwt.sign(payloadOf(token), randomBytes(48).toString('hex'), { algorithm: 'HS256' }),
      'secret with a byte flipped': jwt.sign(payloadOf(token), `${s.runtime.jwtSecret}x`, {
        algorithm: 'HS256',
      }),
    })
  })

  it('9.1.2 accepts HS256 only: alg none, other HMAC sizes and asymmetric algorithms are refused', async () => {
    const payload = payloadOf(token)
    const secret = s.runtime.jwtSecret
    const unsigned = (alg: string) => `${b64({ alg, typ: 'JWT' })}.${b64(payload)}.`
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    // key confusion: an RS256 header over an HMAC made with the service's own secret
    const confusedInput = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(payload)}`
    const confused = `${confusedInput}.${createHmac('sha256', secret).update(confusedInput).digest('base64url')}`
    await expectRefused({
      'alg none': unsigned('none'),
      'alg None': unsigned('None'),
      'alg NONE': unsigned('NONE'),
      'alg none with the real signature': `${b64({ alg: 'none', typ: 'JWT' })}.${token.split('.')[1]}.${token.split('.')[2]}`,
      HS384: jwt.sign(payload, secret, { algorithm: 'HS384' }),
      HS512: jwt.sign(payload, secret, { algorithm: 'HS512' }),
      RS256: jwt.sign(payload, rsa.privateKey, { algorithm: 'RS256' }),
      PS256: jwt.sign(payload, rsa.privateKey, { algorithm: 'PS256' }),
      ES256: jwt.sign(payload, ec.privateKey, { algorithm: 'ES256' }),
      'RS256 header, HMAC signature': confused,
    })
    await expectGenuineAccepted()
  })

  it('9.1.3 takes no key from the token: jku, jwk, x5u and x5c headers are refused, even on a valid signature', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const jwk = rsa.publicKey.export({ format: 'jwk' })
    const payload = payloadOf(token)
    await expectRefused({
      // signed with the real secret: only the header differs from an accepted token
      jku: resign(s, token, {}, { jku: 'https://evil.example/jwks.json' }),
      jwk: resign(s, token, {}, { jwk }),
      x5u: resign(s, token, {}, { x5u: 'https://evil.example/cert.pem' }),
      x5c: resign(s, token, {}, { x5c: ['MIIBszCCAVmgAwIBAgIUQ'] }),
      // the attacker's own key, embedded and used
      'jwk + RS256 with that key': jwt.sign(payload, rsa.privateKey, {
        algorithm: 'RS256',
        header: { alg: 'RS256', jwk } as unknown as jwt.JwtHeader,
      }),
      'jku + RS256': jwt.sign(payload, rsa.privateKey, {
        algorithm: 'RS256',
        header: { alg: 'RS256', jku: 'https://evil.example/jwks.json' },
      }),
    })
    // the same re-signing without a foreign header is accepted: the header alone is refused
    expect((await s.dashboard(account.username, resign(s, token, {}, { kid: 'main' }))).status).toBe(200)
  })
})

describe('V9.2 Token content', () => {
  it('9.2.1 accepts a token only within exp and nbf, allowing the documented 30 s of clock drift', async () => {
    const expired = resign(s, token, { exp: now() - 120 })
    const reply = await s.dashboard(account.username, expired)
    expectProblem(reply, 401, 'session_expired', [expired])
    await expectRefused({
      'nbf two minutes ahead': resign(s, token, { nbf: now() + 120 }),
      'no exp at all': resign(s, token, { exp: undefined }),
      'exp not a number': resign(s, token, { exp: 'never' }),
    })
    // within the tolerance (docs/api.md#sessions): a gateway clock a few seconds off is not an attack
    expect((await s.dashboard(account.username, resign(s, token, { exp: now() - 10 }))).status).toBe(200)
    expect((await s.dashboard(account.username, resign(s, token, { nbf: now() + 10 }))).status).toBe(200)
  })

  it('9.2.2 accepts only session tokens: a signed token that is not one (no jti, wrong shapes) is refused', async () => {
    await expectRefused({
      'no jti (an ID-token-like assertion)': resign(s, token, { jti: undefined }),
      'no sub': resign(s, token, { sub: undefined }),
      'numeric sub': resign(s, token, { sub: Number(account.id) }),
      'no preferred_username': resign(s, token, { preferred_username: undefined }),
      'jti not a string': resign(s, token, { jti: 1 }),
      'a JSON array payload': jwt.sign(JSON.stringify([payloadOf(token)]), s.runtime.jwtSecret, {
        algorithm: 'HS256',
      }),
    })
  })

  it('9.2.3 accepts only tokens for this service: aud and iss must be the configured ones', async () => {
    await expectRefused({
      'other aud': resign(s, token, { aud: 'another-service' }),
      'no aud': resign(s, token, { aud: undefined }),
      'aud list without ours': resign(s, token, { aud: ['another-service', 'gateway'] }),
      'other iss': resign(s, token, { iss: 'https://evil.example' }),
      'no iss': resign(s, token, { iss: undefined }),
    })
    await expectGenuineAccepted()
  })

  it('9.2.4 issues tokens restricted to one audience, so a sibling service sharing the key cannot reuse them', async () => {
    const { config } = s.runtime
    expect(payloadOf(token)).toMatchObject({ aud: config.jwt.audience, iss: config.jwt.issuer })
    expect(typeof payloadOf(token).aud).toBe('string')
    // what a second service with the same secret but its own JWT_AUDIENCE would issue
    await expectRefused({ 'sibling audience': resign(s, token, { aud: `${config.jwt.audience}-sibling` }) })
  })
})
