// GET /static/{file}: the files known at start (stylesheet, icon, page scripts), cached for a year
// under a content-versioned URL; anything else is 404, never a file from elsewhere.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { handler } from '#functions/static.ts'
import { STATIC_DIR } from '#lib/http/render.ts'
import { invoke } from '../helpers/events.ts'
import { expectProblem } from '../helpers/expect.ts'
import { runScenarios, type Scenario } from '../helpers/scenarios.ts'
import { useService } from '../helpers/service.ts'

const JSON_ONLY = { accept: 'application/json' }
const asset = (file: string) => () => ({ path: `/static/${file}`, headers: JSON_ONLY })
const YEAR_IMMUTABLE = 'public, max-age=31536000, immutable'

const missing: [label: string, file: string][] = [
  ['an unknown file', 'nope.css'],
  ['a file type it does not serve', 'style.css.map'],
  ['a traversal with an encoded slash', '..%2Fpackage.json'],
  ['an encoded dot-dot traversal', '%2e%2e%2fpackage.json'],
  ['a traversal to a template', '..%2Flogin.njk'],
  ['a name with a NUL byte', 'style.css%00.png'],
  ['an absolute path', '%2Fetc%2Fpasswd'],
]

runScenarios('GET /static/{file}', [
  {
    name: 'the stylesheet as text/css with a year-long immutable cache',
    request: asset('style.css'),
    expect: {
      status: 200,
      headers: {
        'content-type': 'text/css; charset=utf-8',
        'cache-control': YEAR_IMMUTABLE,
        'x-content-type-options': 'nosniff',
      },
    },
    async after(_, reply) {
      expect(reply.text).toBe(readFileSync(`${STATIC_DIR}/style.css`, 'utf8'))
    },
  },
  {
    name: 'the stylesheet the pages link to, whose URL carries a content version',
    request: asset('style.css'),
    expect: { status: 200 },
    async after({ service }, reply) {
      const page = await service.http.getHtml('/')
      const href = /<link rel="stylesheet" href="([^"]+)">/.exec(page.text)?.[1]
      expect(href).toMatch(/^\/static\/style\.css\?v=[0-9a-f]{12}$/)
      expect((await service.http.get(href!)).text).toBe(reply.text)
    },
  },
  {
    name: 'webauthn.js as the pinned @simplewebauthn/browser package has it, byte for byte',
    request: asset('webauthn.js'),
    expect: { status: 200, headers: { 'content-type': 'text/javascript; charset=utf-8' } },
    async after(_, reply) {
      // after `npm update @simplewebauthn/browser`: cp node_modules/@simplewebauthn/browser/dist/bundle/index.umd.min.js
      // templates/static/webauthn.js
      expect(reply.text).toBe(readFileSync('node_modules/@simplewebauthn/browser/dist/bundle/index.umd.min.js', 'utf8'))
    },
  },
  ...missing.map(
    ([label, file]): Scenario => ({
      name: `${label} → 404 not_found, never a file's content`,
      request: asset(file),
      expect: { status: 404, code: 'not_found', absent: ['"dependencies"', '{%', 'root:'] },
    }),
  ),
])

// What no URL can carry, but an API Gateway event's pathParameters can: the handler alone
describe('GET /static/{file} as Lambda, with a raw file parameter', () => {
  useService({ transport: 'lambda' })
  it.each([
    ['a decoded traversal', '../package.json'],
    ['an absolute path', '/etc/passwd'],
    ['an empty name', ''],
  ])('answers %s with 404 not_found', async (_, file) => {
    const result = await invoke(handler, { path: `/static/${file}`, pathParameters: { file }, headers: JSON_ONLY })
    expectProblem(result, 404, 'not_found')
    expect(result.body).not.toContain('"dependencies"')
  })
})
