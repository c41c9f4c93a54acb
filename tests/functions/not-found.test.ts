// Any other request: 404 for a path no route has, 405 with Allow for a method a route does not
// take (tests/http/contract/routing.test.ts has what only the adapter sees: TRACE, bodies).
import { describe, expect, it } from 'vitest'
import { handler } from '#functions/not-found.ts'
import { invoke } from '../helpers/events.ts'
import { expectProblem } from '../helpers/expect.ts'
import { HTML } from '../helpers/handlers.ts'
import type { Reply } from '../helpers/http.ts'
import { runScenarios, type Scenario } from '../helpers/scenarios.ts'
import { useService } from '../helpers/service.ts'

const JSON_ONLY = { accept: 'application/json' }
const allowSet = (reply: Reply) => new Set((reply.headers.get('allow') ?? '').split(/,\s*/).filter(Boolean))

const unknownPaths = [
  '/nope',
  '/api/login',
  '/dashboard',
  '/dashboard/a/b',
  '/static',
  '/health/x',
  '/login/',
  '/logout/',
  '/LOGIN',
]
/** What must not be reachable, by what it would leak (ASVS 13.4.1–13.4.5, 15.2.3): nothing but the 404 problem. */
const unreachable: [label: string, paths: string[]][] = [
  [
    'source control metadata and environment files',
    ['/.git/config', '/.git/HEAD', '/.git/', '/.gitignore', '/.svn/entries', '/.svn/wc.db', '/.hg/hgrc', '/.env'],
  ],
  ['more of them', ['/.env.local', '/.npmrc', '/static/.git/config', '/static/.env', '/.DS_Store']],
  ['debug features', ['/debug', '/_debug', '/debug/vars', '/console', '/__inspect', '/admin', '/actuator', '/test']],
  ['directory listings', ['/static/', '/templates/', '/dashboard/', '/lib/', '/node_modules/', '/static/?C=N;O=D']],
  [
    'monitoring and internal documentation',
    ['/metrics', '/prometheus', '/server-status', '/server-info', '/status', '/stats', '/info', '/env'],
  ],
  ['more of them', ['/health/details', '/swagger', '/swagger.json', '/api-docs', '/docs', '/graphql', '/__coverage__']],
  [
    'the source, tests, docs and packages',
    ['/package.json', '/package-lock.json', '/tests/helpers/service.ts', '/bench/run.ts', '/docs/api.md'],
  ],
  [
    'more of them',
    ['/lib/config.ts', '/node_modules/express/package.json', '/phpinfo.php', '/.well-known/openapi', '/jwt-secret'],
  ],
  ['files beside the static ones', ['/static/..%2fpackage.json', '/static/style.css.map', '/static/package.json']],
]

const wrongMethods: [method: string, path: string, allowed: string[]][] = [
  ['GET', '/logout', ['POST']],
  ['GET', '/password', ['POST']],
  ['POST', '/health', ['GET', 'HEAD']],
  ['POST', '/', ['GET', 'HEAD']],
  ['PUT', '/register', ['GET', 'HEAD', 'POST']],
  ['DELETE', '/login', ['GET', 'HEAD', 'POST']],
  ['DELETE', '/dashboard/somebody', ['GET', 'HEAD']],
  ['PATCH', '/static/style.css', ['GET', 'HEAD']],
  ['OPTIONS', '/login', ['GET', 'HEAD', 'POST']],
  ['OPTIONS', '/', ['GET', 'HEAD']],
  ['PUT', '/login', ['GET', 'HEAD', 'POST']],
  ['PATCH', '/login', ['GET', 'HEAD', 'POST']],
  ['PROPFIND', '/login', ['GET', 'HEAD', 'POST']],
  ['MKCOL', '/login', ['GET', 'HEAD', 'POST']],
  ['LOCK', '/login', ['GET', 'HEAD', 'POST']],
]

runScenarios('any other request', [
  ...unknownPaths.map(
    (path): Scenario => ({
      name: `GET ${path} → 404 not_found problem JSON, no Allow`,
      request: () => ({ path, headers: JSON_ONLY }),
      expect: { status: 404, code: 'not_found', json: { type: '/problems/not_found' }, headers: { allow: null } },
    }),
  ),
  ...unreachable.flatMap(([label, paths]) =>
    paths.map(
      (path): Scenario => ({
        name: `GET ${path} → 404 not_found, nothing else (${label})`,
        request: () => ({ path, headers: JSON_ONLY }),
        expect: { status: 404, code: 'not_found' },
      }),
    ),
  ),
  {
    name: 'a browser gets a 404 HTML page',
    request: () => ({ path: '/nope', headers: HTML }),
    expect: { status: 404, headers: { 'content-type': /^text\/html/ }, text: /<h1>Not found<\/h1>/ },
    async after(_, reply) {
      expect(reply.text).toContain('<p class="code" aria-hidden="true">404</p>')
    },
  },
  ...wrongMethods.map(
    ([method, path, allowed]): Scenario => ({
      name: `${method} ${path} → 405 method_not_allowed, Allow: ${allowed.join(', ')}`,
      request: () => ({ path, method, headers: { ...JSON_ONLY, 'x-echo': 'do-not-echo' } }),
      expect: { status: 405, code: 'method_not_allowed', absent: ['do-not-echo'] },
      async after(_, reply) {
        expect(allowSet(reply)).toEqual(new Set(allowed))
      },
    }),
  ),
  {
    name: 'the HTML 405 page keeps Allow',
    request: () => ({ path: '/login', method: 'DELETE', headers: HTML }),
    expect: { status: 405, headers: { allow: 'GET, POST, HEAD' } },
  },
  {
    // Node's HTTP parser refuses an unknown method before any route: Lambda alone can bring one
    name: 'an absurd method name is not echoed in full',
    only: 'lambda',
    request: () => ({ path: '/login', method: `X${'A'.repeat(200)}`, headers: JSON_ONLY }),
    expect: { status: 405, code: 'method_not_allowed', absent: [`X${'A'.repeat(200)}`] },
  },
])

// a URL would read '//' as a host: only an API Gateway event carries it as a path
describe('any other request as Lambda, with the path //', () => {
  useService({ transport: 'lambda' })
  it('answers GET // with 404 not_found', async () => {
    expectProblem(await invoke(handler, { path: '//', headers: JSON_ONLY }), 404, 'not_found')
  })
})
