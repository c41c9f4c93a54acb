// What only the Express adapter sees, over a real port: paths as bytes (requests that once slipped
// past the contract, found by tests/fuzz), body framing (chunked, the 16 KiB limit, a missing
// Content-Type), and the origin a form is judged against (the Host and port it came in on). Each
// bad request is answered like any other, with our problem codes and headers, never Express's page.
// The same rules on the Lambda side: tests/functions/http-rules.test.ts, tests/functions/not-found.test.ts.
import { describe, expect, it } from 'vitest'
import { expectHtmlSafety, rawRequest, toHeaders } from '../helpers/http.ts'
import { expectNoSecrets, expectProblem } from '../helpers/expect.ts'
import { credentialsOf, useService } from '../helpers/service.ts'

const s = useService({ captureLogs: true })
const send = (method: string, path: string, headers: Record<string, string> = {}, chunks: Buffer[] = []) =>
  rawRequest(s.baseUrl, { method, path, headers, chunks })
const headersOf = (reply: { headers: Record<string, unknown> }) => toHeaders(reply.headers)
const JSON_BODY = { 'content-type': 'application/json', accept: 'application/json' }
/** A JSON login body of exactly `bytes` bytes. */
const sized = (bytes: number) => {
  const base = JSON.stringify({ username: 'someone', password: 'p'.repeat(30), pad: '' })
  return base.replace('"pad":""', `"pad":"${'x'.repeat(bytes - base.length)}"`)
}

describe('adapter edges over HTTP', () => {
  it.each(['/dashboard/%zz', '/static/%E0%A4%A', '/dashboard/%'])(
    'GET %s (an escape that does not decode) is 404 not_found',
    async (path) => {
      const json = await send('GET', path, { accept: 'application/json' })
      expect([json.status, JSON.parse(json.text).code]).toEqual([404, 'not_found'])
      expectNoSecrets(json.text)
      const html = await send('GET', path, { accept: 'text/html' })
      expect([html.status, html.headers['content-type']]).toEqual([404, expect.stringMatching(/^text\/html/)])
      expectHtmlSafety(headersOf(html))
      expectNoSecrets(html.text)
    },
  )

  it.each([
    ['POST', '//login'],
    ['GET', '//evil.example/dashboard/x'],
    ['GET', '//'],
    ['GET', '/login/'],
    ['GET', '/LOGIN'],
  ])('%s %s names no route (paths match exactly, as on API Gateway; // is no host): 404', async (method, path) => {
    const reply = await send(method, path, { accept: 'application/json' })
    expect([reply.status, JSON.parse(reply.text).code]).toEqual([404, 'not_found'])
  })

  it.each([
    ['JSON', 'application/json', JSON.stringify({ username: 'a\u0000b', password: 'whatever it is' })],
    ['a form', 'application/x-www-form-urlencoded', 'username=a%00b&password=whatever'],
  ])('a username with a NUL byte in %s is 400 validation_failed on username', async (label, type, body) => {
    const headers = { 'content-type': type, accept: 'application/json', origin: s.baseUrl }
    const reply = await send('POST', '/login', headers, [Buffer.from(body)])
    expect(reply.status).toBe(400)
    if (label === 'JSON') expect(JSON.parse(reply.text)).toMatchObject({ errors: [{ field: 'username' }] })
  })

  it('a field sent twice in a form: 400 as the page, not a crash', async () => {
    const reply = await s.http.call('/login', {
      method: 'POST',
      body: 'username=a&username=b&password=c',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: s.baseUrl },
    })
    expect([reply.status, reply.contentType]).toEqual([400, expect.stringMatching(/^text\/html/)])
  })

  it('headers over Node’s 16 KiB are 431 headers_too_large, with our headers, and the connection closed', async () => {
    const reply = await send('GET', '/health', { accept: 'application/json', cookie: `jar=${'x'.repeat(20 * 1024)}` })
    expect([reply.status, JSON.parse(reply.text).code]).toEqual([431, 'headers_too_large'])
    const headers = headersOf(reply)
    expect(headers.get('content-type')).toBe('application/problem+json')
    expect(headers.get('content-security-policy')).toContain("default-src 'none'")
    expect([headers.get('x-content-type-options'), headers.get('connection')]).toEqual(['nosniff', 'close'])
    // the service still answers the next request
    expect((await send('GET', '/health', { accept: 'application/json' })).status).toBe(200)
  })

  it('reads exactly 16 KiB (the limit is inclusive), not one byte more, nor 20 KiB sent chunked', async () => {
    const atLimit = await s.http.call('/login', { method: 'POST', body: sized(16 * 1024), headers: JSON_BODY })
    expectProblem(atLimit, 401, 'invalid_credentials')
    const over = await s.http.call('/login', { method: 'POST', body: sized(16 * 1024 + 1), headers: JSON_BODY })
    expectProblem(over, 413, 'payload_too_large', s.secretsOf())
    const body = Buffer.from(sized(20 * 1024))
    const chunks = Array.from({ length: 20 }, (_, i) => body.subarray(i * 1024, (i + 1) * 1024))
    const chunked = await send('POST', '/register', { ...JSON_BODY, 'transfer-encoding': 'chunked' }, chunks)
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

  it('logged none of these as an error', () => {
    expect(s.logs().filter((line) => (line.level as number) >= 50)).toEqual([])
  })
})
