// GET /auth/verify (Caddy, Traefik) and GET /auth/nginx: each answer a proxy can get, asked the
// way each proxy asks, over HTTP against the real service. Traefik's ForwardAuth sends what Caddy's
// forward_auth sends (X-Forwarded-Method/-Proto/-Host/-Uri, the cookies) and treats the answer the
// same way, so the Caddy rows are Traefik's too; the real Caddy and nginx are tests/proxy/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSession } from '#lib/auth/sessions.ts'
import { findUserByUsername, deleteUser } from '#lib/auth/users.ts'
import { serverDatabaseUrl } from '../helpers/runtime.ts'
import { client, type Client } from '../helpers/http.ts'
import { signedInAccount, startFrontDoor, type Account } from '../helpers/front-door.ts'
import { startService, type TestService } from '../helpers/service.ts'
import { expectConforms } from '../helpers/openapi.ts'

const APP = 'gateway.local'
const BROWSER = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }
const caddy = (uri: string, extra: Record<string, string> = {}) => ({
  'x-forwarded-method': 'GET',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': APP,
  'x-forwarded-uri': uri,
  ...BROWSER,
  ...extra,
})
const nginx = (url: string, extra: Record<string, string> = {}) => ({ 'x-original-url': url, ...BROWSER, ...extra })

describe.skipIf(!serverDatabaseUrl())('forward-auth', () => {
  let service: TestService
  let http: Client
  let admin: Account
  let viewer: Account
  beforeAll(async () => {
    ;({ service, admin, viewer } = await startFrontDoor(APP))
    http = client(service.baseUrl)
  })
  afterAll(() => service?.stop())

  // every answer is also checked against the OpenAPI document made from the routes' specs
  const ask = async (path: string, headers: Record<string, string>, who?: Account) => {
    const reply = await http.get(path, { headers: { ...headers, ...(who ? { cookie: who.cookie } : {}) } })
    expectConforms('GET', path, reply)
    return reply
  }
  const verify = (headers: Record<string, string>, who?: Account) => ask('/auth/verify', headers, who)
  const verifyNginx = (headers: Record<string, string>, who?: Account) => ask('/auth/nginx', headers, who)

  it('lets an admin into the admins app with the identity headers the apps read', async () => {
    for (const reply of [
      await verify(caddy('/chirpstack/#x'), admin),
      await verifyNginx(nginx(`https://${APP}/chirpstack/`), admin),
    ]) {
      expect(reply.status).toBe(200)
      expect(reply.headers.get('remote-user')).toBe(admin.username)
      expect(reply.headers.get('remote-name')).toBe(admin.username)
      expect(reply.headers.get('remote-groups')).toBe('admins')
    }
  })

  it('lets any account into a signed_in app; a bypass path needs no session and names nobody', async () => {
    const nodered = await verify(caddy('/nodered/flows'), viewer)
    expect([nodered.status, nodered.headers.get('remote-user'), nodered.headers.get('remote-groups')]).toEqual([
      200,
      viewer.username,
      '',
    ])
    const health = await verify(caddy('/chirpstack/api/health'))
    expect([health.status, health.headers.get('remote-user')]).toEqual([200, ''])
  })

  it('sends a browser that is not signed in to the sign-in page, with the URL to come back to', async () => {
    const reply = await verify(caddy('/chirpstack/devices?page=2'))
    expect(reply.status).toBe(302)
    const back = encodeURIComponent(`https://${APP}/chirpstack/devices?page=2`)
    expect(reply.location).toBe(`https://${APP}/login?return_to=${back}`)
  })

  it('answers programs and nginx with a 401 problem; only a browser behind nginx gets the Location', async () => {
    const json = await verify(caddy('/chirpstack/', { accept: 'application/json' }))
    const bearer = await verify(caddy('/chirpstack/', { authorization: 'Bearer not-ours' }))
    const fromNginx = await verifyNginx(nginx(`http://${APP}/nodered/`))
    const programFromNginx = await verifyNginx(nginx(`http://${APP}/nodered/`, { accept: 'application/json' }))
    for (const reply of [json, bearer, fromNginx, programFromNginx]) {
      expect([reply.status, reply.json?.code ?? JSON.parse(reply.text).code]).toEqual([401, 'unauthorized'])
    }
    expect(fromNginx.location).toBe(`http://${APP}/login?return_to=${encodeURIComponent(`http://${APP}/nodered/`)}`)
    expect([json.location, bearer.location, programFromNginx.location]).toEqual([null, null, null])
  })

  it('refuses a viewer on an admins app with 403: the page names the account and says it may not open it', async () => {
    const page = await verify(caddy('/chirpstack/'), viewer)
    expect(page.status).toBe(403)
    expect(page.contentType).toMatch(/^text\/html/)
    expect(page.text).toContain(`You are signed in as ${viewer.username}, and this account may not open ChirpStack.`)
    const fromNginx = await verifyNginx(nginx(`https://${APP}/chirpstack/`, { accept: 'application/json' }), viewer)
    expect([fromNginx.status, fromNginx.json.code]).toEqual([403, 'forbidden'])
  })

  it('closes what no rule lists, even to an admin', async () => {
    const other = await verify(caddy('/other/'), admin)
    const otherHost = await verify(caddy('/chirpstack/', { 'x-forwarded-host': 'evil.example' }), admin)
    expect([other.status, otherHost.status]).toEqual([403, 403])
  })

  it('the portal: the dashboard links the apps each account may open, on the page and in its JSON', async () => {
    const links = async (who: Account) => {
      const page = await http.getHtml(`/dashboard/${who.username}`, { jar: who.jar })
      return [...page.text.matchAll(/<a class="button secondary" href="([^"]+)">([^<]+)<\/a>/g)].map((m) => [
        m[2],
        m[1],
      ])
    }
    const listed = async (who: Account) => {
      const reply = await http.get(`/dashboard/${who.username}`, {
        jar: who.jar,
        headers: { accept: 'application/json' },
      })
      return reply.json.apps.map((app: { name: string; url: string }) => [app.name, app.url])
    }
    const adminApps = [
      ['ChirpStack', `http://${APP}/chirpstack/`],
      ['Node-RED', `http://${APP}/nodered/`],
    ]
    expect([await links(admin), await listed(admin)]).toEqual([adminApps, adminApps])
    const viewerApps = [['Node-RED', `http://${APP}/nodered/`]]
    expect([await links(viewer), await listed(viewer)]).toEqual([viewerApps, viewerApps])
  })

  it('keeps its own cookie before an app’s bearer token (ChirpStack’s UI sends its own)', async () => {
    const reply = await verify(caddy('/chirpstack/', { authorization: 'Bearer chirpstack-jwt' }), admin)
    expect([reply.status, reply.headers.get('remote-user')]).toEqual([200, admin.username])
  })

  it('reads only its own proxy’s header: an X-Original-URL sent through Caddy names nothing', async () => {
    const forged = await verify(caddy('/chirpstack/', { 'x-original-url': `https://${APP}/chirpstack/api/health` }))
    expect(forged.status).toBe(302)
    const forgedNginx = await verifyNginx({
      ...caddy('/chirpstack/api/health'),
      'x-original-url': `https://${APP}/chirpstack/`,
    })
    expect(forgedNginx.status).toBe(401)
  })

  it.each([
    ['no forwarded headers', {}, '/auth/verify'],
    [
      'a relative X-Forwarded-Uri',
      { 'x-forwarded-proto': 'https', 'x-forwarded-host': APP, 'x-forwarded-uri': 'x' },
      '/auth/verify',
    ],
    [
      'a host with a path',
      { 'x-forwarded-proto': 'https', 'x-forwarded-host': `${APP}/x`, 'x-forwarded-uri': '/' },
      '/auth/verify',
    ],
    ['an ftp: scheme', { 'x-forwarded-proto': 'ftp', 'x-forwarded-host': APP, 'x-forwarded-uri': '/' }, '/auth/verify'],
    ['no X-Original-URL', {}, '/auth/nginx'],
    ['a relative X-Original-URL', { 'x-original-url': '/chirpstack/' }, '/auth/nginx'],
    ['user info in X-Original-URL', { 'x-original-url': `https://a:b@${APP}/` }, '/auth/nginx'],
  ])('refuses %s with 400 validation_failed', async (_name, headers, path) => {
    const reply = await http.getJson(path, { headers, jar: admin.jar })
    expect([reply.status, reply.json.code]).toEqual([400, 'validation_failed'])
    expectConforms('GET', path, reply)
  })

  it('treats a revoked, an expired and a deleted account’s session as no session', async () => {
    const revoked = await signedInAccount(service.baseUrl, 'revoked')
    await http.postForm('/logout', {}, { jar: revoked.jar })
    const { db } = service.runtime
    const expiring = await findUserByUsername(db, viewer.username)
    const past = new Date(Date.now() - 2 * 3600 * 1000)
    const { token } = await createSession(db, expiring!, past, service.runtime)
    const deleted = await signedInAccount(service.baseUrl, 'deleted')
    await deleteUser(db, (await findUserByUsername(db, deleted.username))!.id)

    for (const cookie of [revoked.cookie, `session=${token}`, deleted.cookie]) {
      const reply = await verify(caddy('/nodered/', { cookie }))
      expect(reply.status).toBe(302)
      expect(reply.location).toMatch(/\/login\?return_to=/)
    }
  })
})

describe.skipIf(!serverDatabaseUrl())('forward-auth from an address not in TRUST_PROXY', () => {
  let service: TestService
  beforeAll(async () => {
    service = await startService({ kind: 'server', env: { TRUST_PROXY: '10.0.0.1' } })
  })
  afterAll(() => service?.stop())

  it('refuses rather than believing the forwarded headers: 403, never a 5xx', async () => {
    const http = client(service.baseUrl)
    const json = { accept: 'application/json' }
    const reply = await http.getJson('/auth/verify', { headers: caddy('/chirpstack/api/health', json) })
    expect([reply.status, reply.json.code]).toEqual([403, 'forbidden'])
    expect(reply.json.detail).toMatch(/TRUST_PROXY; this address is not one of them/)
    const nginxReply = await http.getJson('/auth/nginx', { headers: nginx(`https://${APP}/`, json) })
    expect(nginxReply.status).toBe(403)
  })
})
