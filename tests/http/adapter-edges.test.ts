// Requests that once slipped past the contract, found by tests/fuzz: each is now answered like
// any other bad request, with our problem codes and our headers, never Express's own error page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectHtmlSafety, rawRequest } from '../helpers/http.ts'
import { expectNoSecrets } from '../helpers/expect.ts'
import { startService, type TestService } from '../helpers/service.ts'

describe('adapter edges over HTTP', () => {
  let service: TestService
  const send = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    rawRequest(service.baseUrl, { method, path, headers, chunks: body === undefined ? [] : [Buffer.from(body)] })
  const headersOf = (reply: { headers: Record<string, string | string[] | undefined> }) =>
    new Headers(
      Object.entries(reply.headers).flatMap(([name, value]) => (value === undefined ? [] : [[name, String(value)]])),
    )

  beforeAll(async () => {
    service = await startService({ env: {}, captureLogs: true })
  })
  afterAll(() => service?.stop())

  it.each(['/dashboard/%zz', '/static/%E0%A4%A', '/dashboard/%'])(
    'GET %s (an escape that does not decode) is 404 not_found',
    async (path) => {
      const json = await send('GET', path, { accept: 'application/json' })
      expect(json.status).toBe(404)
      expect(JSON.parse(json.text)).toMatchObject({ code: 'not_found' })
      expectNoSecrets(json.text)
      const html = await send('GET', path, { accept: 'text/html' })
      expect(html.status).toBe(404)
      expect(html.headers['content-type']).toMatch(/^text\/html/)
      expectHtmlSafety(headersOf(html))
      expectNoSecrets(html.text)
    },
  )

  it.each([
    ['POST', '//login'],
    ['GET', '//evil.example/dashboard/x'],
  ])('%s %s (a path starting with //) is 404, not a host', async (method, path) => {
    const reply = await send(method, path, { accept: 'application/json' })
    expect(reply.status).toBe(404)
    expect(JSON.parse(reply.text)).toMatchObject({ code: 'not_found' })
  })

  it.each(['//', '/login/', '/LOGIN', '//login'])(
    'GET %s names no route: 404, as API Gateway matches paths exactly',
    async (path) => {
      const reply = await send('GET', path, { accept: 'application/json' })
      expect(reply.status).toBe(404)
      expect(JSON.parse(reply.text)).toMatchObject({ code: 'not_found' })
    },
  )

  it.each([
    ['JSON', 'application/json', JSON.stringify({ username: 'a\u0000b', password: 'whatever it is' })],
    ['a form', 'application/x-www-form-urlencoded', 'username=a%00b&password=whatever'],
  ])('a username with a NUL byte in %s is 400 validation_failed on username', async (_label, type, body) => {
    const reply = await send(
      'POST',
      '/login',
      { 'content-type': type, accept: 'application/json', origin: service.baseUrl },
      body,
    )
    expect(reply.status).toBe(400)
    if (type === 'application/json') {
      expect(JSON.parse(reply.text)).toMatchObject({ code: 'validation_failed', errors: [{ field: 'username' }] })
    }
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

  it('logged none of these as an error', () => {
    expect(service.logs().filter((line) => (line.level as number) >= 50)).toEqual([])
  })
})
