// The HTTP contract over a real port, what only the Express adapter sees: body framing (chunked, the
// inclusive 16 KiB limit, a missing Content-Type, a field twice in a form) and the origin a form is
// judged against (the Host and port it came in on). The same rules on the Lambda side:
// tests/functions/http-rules.test.ts; the paths only the adapter sees: tests/http/adapter-edges.test.ts.
import { describe, expect, it } from 'vitest'
import { rawRequest } from '../../helpers/http.ts'
import { expectProblem } from '../../helpers/expect.ts'
import { credentialsOf, useService } from '../../helpers/service.ts'

const s = useService()
const JSON_BODY = { 'content-type': 'application/json', accept: 'application/json' }
/** A JSON login body of exactly `bytes` bytes. */
const sized = (bytes: number) => {
  const base = JSON.stringify({ username: 'someone', password: 'p'.repeat(30), pad: '' })
  return base.replace('"pad":""', `"pad":"${'x'.repeat(bytes - base.length)}"`)
}

describe('request bodies and form origins over HTTP', () => {
  it('a field sent twice in a form: 400 as the page, not a crash', async () => {
    const reply = await s.http.call('/login', {
      method: 'POST',
      body: 'username=a&username=b&password=c',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: s.baseUrl },
    })
    expect([reply.status, reply.contentType]).toEqual([400, expect.stringMatching(/^text\/html/)])
  })

  it('reads exactly 16 KiB (the limit is inclusive), not one byte more, nor 20 KiB sent chunked', async () => {
    const atLimit = await s.http.call('/login', { method: 'POST', body: sized(16 * 1024), headers: JSON_BODY })
    expectProblem(atLimit, 401, 'invalid_credentials')
    const over = await s.http.call('/login', { method: 'POST', body: sized(16 * 1024 + 1), headers: JSON_BODY })
    expectProblem(over, 413, 'payload_too_large', s.secretsOf())
    const body = Buffer.from(sized(20 * 1024))
    const chunks = Array.from({ length: 20 }, (_, i) => body.subarray(i * 1024, (i + 1) * 1024))
    const headers = { ...JSON_BODY, 'transfer-encoding': 'chunked' }
    const chunked = await rawRequest(s.baseUrl, { method: 'POST', path: '/register', headers, chunks })
    expect([chunked.status, JSON.parse(chunked.text).code]).toEqual([413, 'payload_too_large'])
  })

  it.each([
    ['no Content-Type', undefined, '{"username":"a","password":"b"}', 415, 'unsupported_media_type'],
    ['application/xml', 'application/xml', '<login/>', 415, 'unsupported_media_type'],
    ['a JSON array', 'application/json', '[{"username": "a"}]', 400, 'validation_failed'],
    ['malformed JSON', 'application/json', '{"username": "a", "password": ', 400, 'validation_failed'],
  ])('a body with %s: %i %s, never a 500 or a parser message', async (_label, type, body, status, code) => {
    const headers: Record<string, string> = { accept: 'application/json', ...(type ? { 'content-type': type } : {}) }
    const reply = await s.http.call('/register', { method: 'POST', body, headers })
    expectProblem(reply, status, code, s.secretsOf())
    expect(reply.text).not.toMatch(/Unexpected|SyntaxError|position/)
  })

  it.each([
    ['its own host and port over https', () => s.baseUrl.replace(/^http:/, 'https:'), 403],
    ['another port of its host', () => 'http://127.0.0.1:1', 403],
    ['its own host and port', () => s.baseUrl, 303],
  ])('a sign-in form from %s is judged by the Host it came in on: %i', async (_label, origin, status) => {
    const account = await s.register('origin')
    const reply = await s.http.call('/login', {
      method: 'POST',
      form: credentialsOf(account),
      headers: { origin: origin() },
    })
    expect(reply.status).toBe(status)
  })
})
