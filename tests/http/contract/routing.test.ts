// The HTTP contract (docs/api.md), what only the Express adapter sees: TRACE, a form to a GET-only page,
// request bodies; real requests on a real port, against the first database kind. 404 and 405 for every
// route, on both transports: tests/functions/not-found.test.ts.
import { describe, expect, it } from 'vitest'
import { rawRequest } from '../../helpers/http.ts'
import { expectProblem } from '../../helpers/expect.ts'
import { useService } from '../../helpers/service.ts'

/** The Allow header as a set of methods. */
const allowSet = (reply: { headers: Headers }) =>
  new Set(
    (reply.headers.get('allow') ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean),
  )

const s = useService()

describe('405 and request bodies over HTTP', () => {
  it('TRACE on a known path: 405 with Allow, the request not echoed', async () => {
    const reply = await rawRequest(s.baseUrl, {
      method: 'TRACE',
      path: '/login',
      headers: { accept: 'application/json', 'x-secret-header': 'do-not-echo' },
    })
    expect(reply.status).toBe(405)
    expect(String(reply.headers['content-type'])).toMatch(/^application\/problem\+json/)
    expect(JSON.parse(reply.text).code).toBe('method_not_allowed')
    expect(new Set(String(reply.headers.allow).split(/,\s*/))).toEqual(new Set(['GET', 'HEAD', 'POST']))
    expect(reply.text).not.toContain('do-not-echo')
    expect(reply.headers['x-powered-by']).toBeUndefined()
  })

  it('a form posted to a GET-only page: 405 as an HTML page with Allow', async () => {
    const reply = await s.http.postForm('/', { username: 'x' })
    expect(reply.status).toBe(405)
    expect(reply.contentType).toMatch(/^text\/html/)
    expect(allowSet(reply)).toEqual(new Set(['GET', 'HEAD']))
  })

  /** A JSON login body of exactly `bytes` bytes. */
  const big = (bytes: number) => {
    const base = JSON.stringify({ username: 'someone', password: 'p'.repeat(30), pad: '' })
    return base.replace('"pad":""', `"pad":"${'x'.repeat(bytes - base.length)}"`)
  }

  it('a 20 KiB JSON body: 413 payload_too_large', async () => {
    const body = big(20 * 1024)
    const reply = await s.http.call('/login', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
    })
    expectProblem(reply, 413, 'payload_too_large', s.secretsOf())
  })

  it('a 20 KiB chunked body without Content-Length: 413 payload_too_large', async () => {
    const body = Buffer.from(big(20 * 1024))
    const chunks = Array.from({ length: 20 }, (_, i) => body.subarray(i * 1024, (i + 1) * 1024))
    const reply = await rawRequest(s.baseUrl, {
      method: 'POST',
      path: '/register',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'transfer-encoding': 'chunked' },
      chunks,
    })
    expect(reply.status).toBe(413)
    expect(String(reply.headers['content-type'])).toMatch(/^application\/problem\+json/)
    expect(JSON.parse(reply.text)).toMatchObject({ status: 413, code: 'payload_too_large' })
  })

  it('a 20 KiB form: 413 as an HTML page', async () => {
    const reply = await s.http.postForm('/register', { username: 'someone', password: 'x'.repeat(20 * 1024) })
    expect(reply.status).toBe(413)
    expect(reply.contentType).toMatch(/^text\/html/)
    expect(reply.text).not.toContain('x'.repeat(100))
  })

  it('exactly 16 KiB is still read (the limit is inclusive), one byte more is not', async () => {
    const headers = { 'content-type': 'application/json', accept: 'application/json' }
    const atLimit = await s.http.call('/login', { method: 'POST', body: big(16 * 1024), headers })
    expectProblem(atLimit, 401, 'invalid_credentials')
    const over = await s.http.call('/login', { method: 'POST', body: big(16 * 1024 + 1), headers })
    expectProblem(over, 413, 'payload_too_large')
  })

  it.each([
    ['text/plain', 'username=a&password=b'],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="username"\r\n\r\na\r\n--x--\r\n'],
    ['application/xml', '<login/>'],
    [undefined, '{"username":"a","password":"b"}'],
  ])('a %s body: 415 unsupported_media_type', async (contentType, body) => {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (contentType) headers['content-type'] = contentType
    const reply = await s.http.call('/login', { method: 'POST', body, headers })
    expectProblem(reply, 415, 'unsupported_media_type', s.secretsOf())
  })

  it.each([
    ['malformed JSON', '{"username": "a", "password": '],
    ['a JSON array', '[{"username": "a"}]'],
    ['a JSON string', '"username"'],
    ['JSON null', 'null'],
    ['a JSON number', '42'],
  ])('%s: 400 validation_failed, never 500', async (_label, body) => {
    const reply = await s.http.call('/register', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    })
    expectProblem(reply, 400, 'validation_failed', s.secretsOf())
    expect(reply.text).not.toMatch(/Unexpected|SyntaxError|position/)
  })

  it('a field sent twice in a form: 400 validation_failed, not a crash', async () => {
    const reply = await s.http.call('/login', {
      method: 'POST',
      body: 'username=a&username=b&password=c',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: s.baseUrl },
    })
    expect(reply.status).toBe(400)
    expect(reply.contentType).toMatch(/^text\/html/)
  })
})
