// The HTTP contract (docs/api.md), GET /, GET /login and GET /register: real requests on a real port through the Express
// adapter, against the first database kind (what differs by database: tests/http/databases.test.ts).
import { describe, expect, it } from 'vitest'
import { expectHtmlSafety } from '../../helpers/http.ts'
import { useService } from '../../helpers/service.ts'

const s = useService()

describe('GET / and GET /login', () => {
  it.each(['/', '/login'])(
    '%s is the HTML login page: a form posting to /login and a link to /register',
    async (path) => {
      const reply = await s.http.getHtml(path)
      expect(reply.status).toBe(200)
      expect(reply.contentType).toMatch(/^text\/html/)
      expect(reply.text).toMatch(/<form[^>]*method="post"[^>]*action="\/login"/i)
      expect(reply.text).toMatch(/<input[^>]*name="username"/)
      expect(reply.text).toMatch(/<input[^>]*name="password"[^>]*type="password"/)
      expect(reply.text).toMatch(/<a[^>]*href="\/register"/)
      expectHtmlSafety(reply.headers)
    },
  )

  it.each(['/', '/login'])('%s answers JSON when Accept prefers application/json', async (path) => {
    const reply = await s.http.getJson(path)
    expect(reply.status).toBe(200)
    expect(reply.contentType).toMatch(/^application\/json/)
    expect(reply.json).toMatchObject({ login: '/login', register: '/register' })
  })

  it.each([
    ['text/html;q=0.1, application/json', 'json'],
    ['application/json;q=0.5, text/html', 'html'],
    ['*/*', 'html'],
  ])('Accept: %s → %s', async (accept, expected) => {
    const reply = await s.http.get('/', { headers: { accept } })
    expect(reply.status).toBe(200)
    expect(reply.contentType).toMatch(expected === 'json' ? /^application\/json/ : /^text\/html/)
  })

  it('HEAD / answers like GET without a body', async () => {
    const reply = await s.http.call('/', { method: 'HEAD' })
    expect(reply.status).toBe(200)
    expect(reply.text).toBe('')
    expect(reply.contentType).toMatch(/^text\/html/)
  })
})

describe('GET /register', () => {
  it('is the registration page with a form posting to /register and a link back to sign-in', async () => {
    const reply = await s.http.getHtml('/register')
    expect(reply.status).toBe(200)
    expect(reply.contentType).toMatch(/^text\/html/)
    expect(reply.text).toMatch(/<form[^>]*method="post"[^>]*action="\/register"/i)
    expect(reply.text).toMatch(/<input[^>]*name="password"[^>]*type="password"/)
    expect(reply.text).toContain('At least 15 characters')
    expectHtmlSafety(reply.headers)
  })
})
