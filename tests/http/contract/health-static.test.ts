// The HTTP contract (docs/api.md), GET /health and GET /static/{file}: real requests on a real port through the Express
// adapter, against the first database kind (what differs by database: tests/http/databases.test.ts).
import { describe, expect, it } from 'vitest'
import { expectProblem } from '../../helpers/expect.ts'
import { useService } from '../../helpers/service.ts'

const s = useService()

describe('GET /health and /static', () => {
  it('GET /health: 200 {"status":"ok","database":"ok"}, JSON whatever Accept says', async () => {
    for (const accept of ['application/json', 'text/html']) {
      const reply = await s.http.get('/health', { headers: { accept } })
      expect(reply.status).toBe(200)
      expect(reply.contentType).toMatch(/^application\/json/)
      expect(reply.json).toEqual({ status: 'ok', database: 'ok' })
    }
  })

  it('GET /static/style.css: the stylesheet with a long cache lifetime; the pages link it', async () => {
    const reply = await s.http.get('/static/style.css')
    expect(reply.status).toBe(200)
    expect(reply.contentType).toMatch(/^text\/css/)
    expect(reply.text).toMatch(/body\s*\{/)
    const cacheControl = reply.headers.get('cache-control') ?? ''
    expect(cacheControl).not.toMatch(/no-store|no-cache|private/)
    expect(Number(/max-age=(\d+)/.exec(cacheControl)?.[1])).toBeGreaterThanOrEqual(30 * 24 * 3600)
    expect(reply.headers.get('x-content-type-options')).toBe('nosniff')

    const page = await s.http.getHtml('/')
    const href = /<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/.exec(page.text)?.[1]
    expect(href).toMatch(/^\/static\/style\.css/)
    const linked = await s.http.get(href!.replaceAll('&amp;', '&'))
    expect(linked.status).toBe(200)
    expect(linked.text).toBe(reply.text)
  })

  it.each([
    '/static/missing.css',
    '/static/..%2Fpackage.json',
    '/static/%2e%2e%2fpackage.json',
    '/static/style.css%00.png',
  ])('GET %s: 404 not_found, nothing from outside the static directory', async (path) => {
    const reply = await s.http.getJson(path)
    expectProblem(reply, 404, 'not_found', s.secretsOf())
    expect(reply.text).not.toContain('gateway-auth')
  })
})
