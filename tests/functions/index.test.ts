// GET / and GET /login: the sign-in page for a browser, a map of the API for a program.
import { expect } from 'vitest'
import { expectHtmlSafety } from '../helpers/http.ts'
import { runScenarios, type Scenario } from '../helpers/scenarios.ts'

const HTML_PAGE = { 'content-type': /^text\/html/ }

runScenarios('GET / and GET /login', [
  ...['/', '/login'].flatMap((path): Scenario[] => [
    {
      name: `${path}: the sign-in page, a form posting to /login and a link to /register`,
      request: () => ({ path, headers: { accept: 'text/html' } }),
      expect: { status: 200, headers: HTML_PAGE, text: /<form[^>]*method="post"[^>]*action="\/login"/i },
      async after(_, reply) {
        expect(reply.text).toMatch(/<input[^>]*name="username"/)
        expect(reply.text).toMatch(/<input[^>]*name="password"[^>]*type="password"/)
        expect(reply.text).toMatch(/<a[^>]*href="\/register"/)
        expectHtmlSafety(reply.headers)
      },
    },
    {
      name: `${path}: JSON when Accept prefers it, a map of the API`,
      request: () => ({ path, headers: { accept: 'application/json' } }),
      expect: {
        status: 200,
        headers: { 'content-type': /^application\/json/ },
        json: { login: '/login', register: '/register' },
      },
    },
  ]),
  ...[
    ['text/html;q=0.1, application/json', /^application\/json/],
    ['application/json;q=0.5, text/html', /^text\/html/],
    ['*/*', /^text\/html/],
  ].map(
    ([accept, type]): Scenario => ({
      name: `Accept: ${accept} → ${type}`,
      request: () => ({ path: '/', headers: { accept: accept as string } }),
      expect: { status: 200, headers: { 'content-type': type as RegExp } },
    }),
  ),
  {
    // API Gateway answers HEAD from the GET itself; the adapter drops the body
    name: 'HEAD / answers like GET without a body',
    only: 'http',
    request: () => ({ path: '/', method: 'HEAD' }),
    expect: { status: 200, headers: HTML_PAGE, text: /^$/ },
  },
])
