import { describe, expect, it } from 'vitest'
import { handler } from '#functions/not-found.ts'
import { invoke } from '../helpers/events.ts'
import { header, HTML } from '../helpers/handlers.ts'
import { expectProblem } from '../helpers/expect.ts'
import { useService } from '../helpers/service.ts'

useService({ transport: 'lambda' })

describe('any other request', () => {
  it.each(['/nope', '/api/login', '/dashboard', '/dashboard/a/b', '/static', '/login/', '/logout/', '//', '/LOGIN'])(
    'answers GET %s with 404 not_found problem JSON',
    async (path) => {
      const result = await invoke(handler, { path, headers: { accept: 'application/json' } })
      const body = expectProblem(result, 404, 'not_found')
      expect(body.type).toBe('/problems/not_found')
      expect(header(result, 'allow')).toBeUndefined()
    },
  )

  it('answers a browser with a 404 HTML page', async () => {
    const result = await invoke(handler, { path: '/nope', headers: HTML })
    expect(result.statusCode).toBe(404)
    expect(header(result, 'content-type')).toMatch(/^text\/html/)
    expect(result.body).toContain('<h1>Not found</h1>')
    expect(result.body).toContain('<p class="code" aria-hidden="true">404</p>')
  })

  it.each([
    ['DELETE', '/login', 'GET, POST, HEAD'],
    ['PUT', '/register', 'GET, POST, HEAD'],
    ['GET', '/logout', 'POST'],
    ['GET', '/password', 'POST'],
    ['POST', '/health', 'GET, HEAD'],
    ['POST', '/', 'GET, HEAD'],
    ['DELETE', '/dashboard/alice', 'GET, HEAD'],
    ['PATCH', '/static/style.css', 'GET, HEAD'],
  ])('answers %s %s with 405 method_not_allowed and Allow: %s', async (method, path, allow) => {
    const result = await invoke(handler, { method, path, headers: { accept: 'application/json' } })
    expectProblem(result, 405, 'method_not_allowed')
    expect(header(result, 'allow')).toBe(allow)
  })

  it('keeps Allow on the HTML 405 page', async () => {
    const result = await invoke(handler, { method: 'DELETE', path: '/login', headers: HTML })
    expect(result.statusCode).toBe(405)
    expect(header(result, 'allow')).toBe('GET, POST, HEAD')
  })

  it('does not echo an absurd method name in full', async () => {
    const method = `X${'A'.repeat(200)}`
    const result = await invoke(handler, { method, path: '/login', headers: { accept: 'application/json' } })
    expectProblem(result, 405, 'method_not_allowed')
    expect(result.body).not.toContain(method)
  })
})
