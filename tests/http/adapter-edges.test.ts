// Requests that once slipped past the contract, found by tests/fuzz: paths and headers as bytes only
// the Express adapter sees. Each is now answered like any other bad request, with our problem codes
// and our headers, never Express's own error page. Bodies and origins: tests/http/contract/routing.test.ts.
import { describe, expect, it } from 'vitest'
import { expectHtmlSafety, rawRequest, toHeaders } from '../helpers/http.ts'
import { expectNoSecrets } from '../helpers/expect.ts'
import { useService } from '../helpers/service.ts'

const s = useService({ captureLogs: true })
const send = (method: string, path: string, headers: Record<string, string> = {}, chunks: Buffer[] = []) =>
  rawRequest(s.baseUrl, { method, path, headers, chunks })
const headersOf = (reply: { headers: Record<string, unknown> }) => toHeaders(reply.headers)
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
    expect(s.logs().filter((line) => (line.level as number) >= 50)).toEqual([])
  })
})
