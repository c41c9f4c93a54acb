// GET /problems/{code}: what a problem's `type` points at, as JSON for a program and as a page for a
// person; the codes change only with a release, so either is cached a day, by Accept (shared caches
// must not hand the page to a program). Any other code is a 404.
import { PROBLEMS } from '#lib/problem.ts'
import { HTML } from '../helpers/handlers.ts'
import { runScenarios, type Scenario } from '../helpers/scenarios.ts'

const JSON_ONLY = { accept: 'application/json' }
const A_DAY = { 'cache-control': 'public, max-age=86400', vary: 'Accept' }
const [status, title, description] = PROBLEMS.rate_limited
const unknown = (code: string, why: string): Scenario => ({
  name: `${code} (${why}) → 404 not_found`,
  request: () => ({ path: `/problems/${code}`, headers: JSON_ONLY }),
  expect: { status: 404, code: 'not_found', text: 'There is no problem type with this code.' },
})

runScenarios('GET /problems/{code}', [
  {
    name: 'a code, for a program → 200 JSON: its type, status, title and what to do, cached a day',
    request: () => ({ path: '/problems/rate_limited', headers: JSON_ONLY }),
    expect: {
      status: 200,
      json: { type: '/problems/rate_limited', code: 'rate_limited', status, title, description },
      headers: A_DAY,
    },
  },
  {
    name: 'a code, for a browser → 200 page: the title, the code and status, what to do, cached a day',
    request: () => ({ path: '/problems/rate_limited', headers: HTML }),
    expect: {
      status: 200,
      headers: { 'content-type': /^text\/html/, ...A_DAY },
      text: `<h1>${title}</h1>\n<p><code>rate_limited</code> · HTTP ${status}</p>\n<p>${description}</p>`,
    },
  },
  unknown('no_such_code', 'not in the list'),
  unknown('RATE_LIMITED', 'codes are lower case'),
  unknown('constructor', 'a name every object has'),
])
