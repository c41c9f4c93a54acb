import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { handler } from '#functions/static.ts'
import { handler as loginHandler } from '#functions/login.ts'
import { STATIC_DIR } from '#lib/http/render.ts'
import { invoke } from '../helpers/events.ts'
import { header, HTML } from '../helpers/handlers.ts'
import { expectProblem } from '../helpers/expect.ts'
import { useService } from '../helpers/service.ts'

useService({ transport: 'lambda' })

const asset = (file: string, headers: Record<string, string> = {}) =>
  invoke(handler, { path: `/static/${file}`, pathParameters: { file }, headers })

describe('GET /static/<file>', () => {
  it('serves the stylesheet as text/css with a year-long immutable cache', async () => {
    const result = await asset('style.css')
    expect(result.statusCode).toBe(200)
    expect(header(result, 'content-type')).toBe('text/css; charset=utf-8')
    expect(header(result, 'cache-control')).toBe('public, max-age=31536000, immutable')
    expect(header(result, 'x-content-type-options')).toBe('nosniff')
    expect(result.body).toBe(readFileSync(`${STATIC_DIR}/style.css`, 'utf8'))
  })

  it('serves the stylesheet the pages link to, whose URL carries a content version', async () => {
    const page = await invoke(loginHandler, { path: '/login', headers: HTML })
    const href = /<link rel="stylesheet" href="([^"]+)">/.exec(page.body ?? '')?.[1]
    expect(href).toMatch(/^\/static\/style\.css\?v=[0-9a-f]{12}$/)
    const file = href!.slice('/static/'.length).split('?')[0]!
    expect((await asset(file)).statusCode).toBe(200)
  })

  it('serves webauthn.js as the pinned @simplewebauthn/browser package has it, byte for byte', async () => {
    const pinned = readFileSync('node_modules/@simplewebauthn/browser/dist/bundle/index.umd.min.js', 'utf8')
    const result = await asset('webauthn.js')
    expect(header(result, 'content-type')).toBe('text/javascript; charset=utf-8')
    // after `npm update @simplewebauthn/browser`: cp node_modules/@simplewebauthn/browser/dist/bundle/index.umd.min.js
    // templates/static/webauthn.js
    expect(result.body).toBe(pinned)
  })

  it.each([
    ['an unknown file', 'nope.css'],
    ['a file type it does not serve', 'style.css.map'],
    ['a traversal with an encoded slash', '..%2Fpackage.json'],
    ['a decoded traversal', '../package.json'],
    ['a traversal to a template', '..%2Flogin.njk'],
    ['an absolute path', '/etc/passwd'],
    ['an empty name', ''],
  ])('answers %s with 404 not_found', async (_, file) => {
    const result = await asset(file, { accept: 'application/json' })
    expectProblem(result, 404, 'not_found')
    // never a file's content
    expect(result.body).not.toContain('"dependencies"')
    expect(result.body).not.toContain('{%')
  })
})
