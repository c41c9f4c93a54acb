// GET /auth/verify (Caddy, Traefik) and GET /auth/nginx: each answer a proxy can get, asked the
// way each proxy asks. Traefik's ForwardAuth sends what Caddy's forward_auth sends
// (X-Forwarded-Method/-Proto/-Host/-Uri, the cookies) and treats the answer the same way, so the
// Caddy rows are Traefik's too; the real Caddy and nginx are tests/proxy/. Only a proxy in
// TRUST_PROXY is believed, and Lambda has none of the device's: the first table runs over HTTP only.
import { expect } from 'vitest'
import { setUserGroups } from '#lib/auth/groups.ts'
import { createSession } from '#lib/auth/sessions.ts'
import { deleteUser } from '#lib/auth/users.ts'
import { rulesFor } from '../helpers/front-door.ts'
import type { Call } from '../helpers/http.ts'
import { ACCOUNT, runScenarios, type Expected, type Scenario, type ScenarioContext } from '../helpers/scenarios.ts'

const APP = 'gateway.local'
const BROWSER = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }
const JSON_ONLY = { accept: 'application/json' }
const FORWARDED = { 'x-forwarded-method': 'GET', 'x-forwarded-proto': 'https', 'x-forwarded-host': APP, ...BROWSER }
const caddy = (uri: string, more = {}) => ({
  path: '/auth/verify',
  headers: { ...FORWARDED, 'x-forwarded-uri': uri, ...more },
})
const nginx = (url: string, more = {}) => ({
  path: '/auth/nginx',
  headers: { 'x-original-url': url, ...BROWSER, ...more },
})
const signInAt = (url: string) => `${new URL(url).origin}/login?return_to=${encodeURIComponent(url)}`
/** What a 200 names: the row's account (with its groups in Remote-Groups). */
const NAMED = { 'remote-user': ACCOUNT.username, 'remote-name': ACCOUNT.username }
const ADMITTED = { status: 200, headers: { ...NAMED, 'remote-groups': 'admins' } }
const NO_LOCATION = { status: 401, code: 'unauthorized', headers: { location: null } }

type Who = Pick<Scenario, 'as' | 'given'>
/** The row's account, signed in, in `groups` only (the first account of a database is in admins). */
// the groups are read with the session at its first use, which is the row's request
const inGroups = (...groups: string[]): Who => ({
  as: 'browser',
  given: (ctx) => setUserGroups(ctx.service.runtime.db, ctx.account.id, groups),
})
const ADMIN = inGroups('admins')
const VIEWER = inGroups()

/** A browser still sending the cookie of a session that `end` ended (and returns). */
const ended = (how: string, end: (ctx: ScenarioContext) => Promise<string>): Scenario => ({
  name: `a ${how} session is no session → 302 to sign in`,
  as: 'browser',
  given: async (ctx) => ctx.jar.cookies.set(ctx.service.sessionCookie, await end(ctx)),
  request: () => caddy('/nodered/'),
  expect: { status: 302, location: /\/login\?return_to=/ },
})

/** Rows that differ only in how and by whom they ask: each `[how, request, who]` gets `expected`. */
const alike = (said: string, expected: Expected, cases: [string, Call & { path: string }, Who?][]) =>
  cases.map(
    ([how, request, who]): Scenario => ({ name: `${how} → ${said}`, ...who, request: () => request, expect: expected }),
  )

runScenarios(
  'forward-auth behind a proxy in TRUST_PROXY',
  [
    ...alike('200 with the identity headers the apps read', ADMITTED, [
      ['Caddy, an admin, the admins app', caddy('/chirpstack/#x'), ADMIN],
      ['nginx, an admin, the admins app', nginx(`https://${APP}/chirpstack/`), ADMIN],
      [
        'Caddy, an admin’s cookie beside the app’s bearer token (ChirpStack’s UI sends its own)',
        caddy('/chirpstack/', { authorization: 'Bearer chirpstack-jwt' }),
        ADMIN,
      ],
    ]),
    {
      name: 'an account in two groups → 200, Remote-Groups lists both',
      ...inGroups('admins', 'operators'),
      request: () => caddy('/chirpstack/'),
      expect: { status: 200, headers: { ...NAMED, 'remote-groups': 'admins,operators' } },
    },
    {
      name: 'any account, a signed_in app → 200, in no group',
      ...VIEWER,
      request: () => caddy('/nodered/flows'),
      expect: { status: 200, headers: { ...NAMED, 'remote-groups': '' } },
    },
    {
      name: 'a bypass path, nobody signed in → 200, the identity headers there and empty',
      request: () => caddy('/chirpstack/api/health'),
      expect: { status: 200, headers: { 'remote-user': '', 'remote-name': '', 'remote-groups': '' } },
    },
    {
      name: 'Caddy, a browser nobody signed in → 302 to the sign-in page with the URL to come back to',
      request: () => caddy('/chirpstack/devices?page=2'),
      expect: { status: 302, location: signInAt(`https://${APP}/chirpstack/devices?page=2`) },
    },
    {
      name: 'nginx, a browser nobody signed in → 401 with the Location its error_page follows',
      request: () => nginx(`http://${APP}/nodered/`),
      expect: { status: 401, code: 'unauthorized', location: signInAt(`http://${APP}/nodered/`) },
    },
    ...alike('401 unauthorized, no Location: a program nobody signed in', NO_LOCATION, [
      ['Caddy, Accept: application/json', caddy('/chirpstack/', JSON_ONLY)],
      ['Caddy, a bearer token not of ours', caddy('/chirpstack/', { authorization: 'Bearer not-ours' })],
      ['nginx, Accept: application/json', nginx(`http://${APP}/nodered/`, JSON_ONLY)],
    ]),
    {
      name: 'Caddy, a viewer, the admins app → 403, a page naming the account and the app, app_refused logged',
      ...VIEWER,
      request: () => caddy('/chirpstack/'),
      expect: {
        status: 403,
        headers: { 'content-type': /^text\/html/ },
        text: `You are signed in as ${ACCOUNT.username}, and this account may not open ChirpStack.`,
        logs: [{ event: 'app_refused', level: 40, userId: ACCOUNT.id, reason: 'not_in_group' }],
      },
    },
    {
      name: 'nginx, a viewer, the admins app, a program → 403 forbidden',
      ...VIEWER,
      request: () => nginx(`https://${APP}/chirpstack/`, JSON_ONLY),
      expect: { status: 403, code: 'forbidden' },
    },
    ...alike('403: what no rule lists is closed, not a reason to sign in', { status: 403 }, [
      ['an admin, a path no rule lists', caddy('/other/'), ADMIN],
      ['an admin, a host no rule lists', caddy('/chirpstack/', { 'x-forwarded-host': 'evil.example' }), ADMIN],
      ['nobody signed in, a path no rule lists', caddy('/other/')],
    ]),
    // a proxy passes on a client's own headers: the other proxy's ones name nothing
    {
      name: 'Caddy, a client’s X-Original-URL for the bypass → 302: the URL Caddy names',
      request: () => caddy('/chirpstack/', { 'x-original-url': `https://${APP}/chirpstack/api/health` }),
      expect: { status: 302 },
    },
    {
      name: 'nginx, a client’s X-Forwarded-* for the bypass → 401: the URL nginx names',
      request: () => nginx(`https://${APP}/chirpstack/`, caddy('/chirpstack/api/health').headers),
      expect: { status: 401 },
    },
    ...alike('400 validation_failed', { status: 400, code: 'validation_failed' }, [
      ['no forwarded headers', { path: '/auth/verify', headers: JSON_ONLY }],
      ['a relative X-Forwarded-Uri', caddy('x', JSON_ONLY)],
      ['a host with a path', caddy('/', { 'x-forwarded-host': `${APP}/x`, ...JSON_ONLY })],
      ['an ftp: scheme', caddy('/', { 'x-forwarded-proto': 'ftp', ...JSON_ONLY })],
      ['no X-Original-URL', { path: '/auth/nginx', headers: JSON_ONLY }],
      ['a relative X-Original-URL', nginx('/chirpstack/', JSON_ONLY)],
      ['user info in X-Original-URL', nginx(`https://a:b@${APP}/`, JSON_ONLY)],
    ]),
    ended('signed-out', (ctx) => ctx.service.http.postForm('/logout', {}, { jar: ctx.jar }).then(() => ctx.token)),
    ended('expired', async ({ service, account }) => {
      const past = new Date(Date.now() - 2 * 3600 * 1000)
      return (await createSession(service.runtime.db, account, past, service.runtime)).token
    }),
    ended('deleted account’s', (ctx) => deleteUser(ctx.service.runtime.db, ctx.account.id).then(() => ctx.token)),
  ],
  { transport: 'http', env: { ACCESS_RULES: rulesFor(APP), TRUST_PROXY: 'loopback' } },
)

const APPS = { ChirpStack: '/chirpstack/', 'Node-RED': '/nodered/' }
/** The portal: the dashboard links the apps the account may open, on the page and in its JSON. */
const portal = (who: string, account: Who, names: (keyof typeof APPS)[]): Scenario => ({
  name: `the portal: ${who}’s dashboard → links to ${names.join(' and ')}, on the page and in its JSON`,
  ...account,
  request: (ctx) => ({ path: `/dashboard/${ctx.account.username}`, headers: BROWSER }),
  expect: { status: 200 },
  async after({ service, account, jar }, page) {
    // a rule without a link is linked at the scheme the dashboard itself was asked over
    const apps = names.map((name) => `${name} ${new URL(service.origin).protocol}//${APP}${APPS[name]}`)
    const links = [...page.text.matchAll(/<a class="button secondary" href="([^"]+)">([^<]+)<\/a>/g)]
    expect(links.map(([, url, name]) => `${name} ${url}`)).toEqual(apps)
    const listed = (await service.http.getJson(`/dashboard/${account.username}`, { jar })).json.apps
    expect(listed.map(({ name, url }: Record<string, string>) => `${name} ${url}`)).toEqual(apps)
  },
})

// Lambda believes no proxy; over HTTP the service trusts another address than the test's
const UNTRUSTED = { status: 403, code: 'forbidden', text: /TRUST_PROXY; this address is not one of them/ }
runScenarios(
  'the front door asked from an address not in TRUST_PROXY',
  [
    ...alike('403 forbidden naming why, never a 5xx nor a guess', UNTRUSTED, [
      ['Caddy', caddy('/chirpstack/api/health', JSON_ONLY)],
      ['nginx', nginx(`https://${APP}/`, JSON_ONLY)],
    ]),
    portal('an admin', ADMIN, ['ChirpStack', 'Node-RED']),
    portal('a viewer', VIEWER, ['Node-RED']),
  ],
  { env: { ACCESS_RULES: rulesFor(APP), TRUST_PROXY: '10.0.0.1' } },
)
