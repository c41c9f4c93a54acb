// The front door with real proxies: Debian's caddy and nginx, each with the shipped configuration
// (proxy/), in front of the service and of an echo app standing in for ChirpStack and Node-RED.
// The same scenarios run through both; the browser flow in Chromium is tests/browser/front-door.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serverDatabaseUrl } from '../helpers/runtime.ts'
import { client, CookieJar, type Client } from '../helpers/http.ts'
import { signedInAccount, startBehindProxy, type Account, type FrontDoor } from '../helpers/front-door.ts'
import { proxyBinary, skipNotice, startCaddy, startNginx, type RunningProxy } from '../helpers/proxies.ts'

const BROWSER = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }
const PROXIES = { caddy: startCaddy, nginx: startNginx }

describe.each(['caddy', 'nginx'] as const)('the front door through %s', (name) => {
  const missing = skipNotice(name) || !serverDatabaseUrl()
  let door: FrontDoor
  let proxy: RunningProxy
  let http: Client
  let admin: Account
  let viewer: Account

  beforeAll(async () => {
    if (missing || !proxyBinary(name)) return
    door = await startBehindProxy(PROXIES[name])
    proxy = door.proxy
    http = client(proxy.baseUrl)
    admin = await signedInAccount(proxy.baseUrl, 'admin')
    viewer = await signedInAccount(proxy.baseUrl, 'viewer')
  })
  afterAll(async () => {
    await door?.stop()
  })

  const seenByApp = async (path: string, headers: Record<string, string>) => {
    const reply = await http.get(path, { headers })
    expect(reply.status, reply.text).toBe(200)
    return reply.json as { path: string; headers: Record<string, string> }
  }

  it.skipIf(missing)('lets an admin into the admins app; the app sees who it is', async () => {
    const seen = await seenByApp('/chirpstack/devices?x=1', { ...BROWSER, cookie: admin.cookie })
    expect(seen.path).toBe('/chirpstack/devices?x=1')
    expect(seen.headers['remote-user']).toBe(admin.username)
    expect(seen.headers['remote-groups']).toBe('admins')
  })

  it.skipIf(missing)('never lets a client’s own Remote-User reach an app, signed in or not', async () => {
    const forged = { 'remote-user': 'root', 'remote-groups': 'admins', 'remote-name': 'root', 'remote-email': 'x@y' }
    const asViewer = await seenByApp('/nodered/', { ...BROWSER, ...forged, cookie: viewer.cookie })
    expect(asViewer.headers['remote-user']).toBe(viewer.username)
    expect(asViewer.headers['remote-groups'] ?? '').toBe('')
    expect(asViewer.headers['remote-email'] ?? '').toBe('')
    const anonymous = await seenByApp('/chirpstack/api/health', { ...BROWSER, ...forged })
    for (const header of Object.keys(forged)) expect(anonymous.headers[header] ?? '').toBe('')
  })

  it.skipIf(missing)('checks a POST to an app like a GET, and passes its body on', async () => {
    const reply = await http.call('/nodered/flows', {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: viewer.cookie },
      body: '{"deploy":true}',
    })
    expect(reply.status).toBe(200)
    expect(reply.json.headers['remote-user']).toBe(viewer.username)
    const anonymous = await fetch(`${proxy.baseUrl}/nodered/flows`, { method: 'POST', redirect: 'manual' })
    expect([302, 401]).toContain(anonymous.status)
  })

  it.skipIf(missing)('lets a bypass path through without a session', async () => {
    expect((await seenByApp('/chirpstack/api/health', BROWSER)).path).toBe('/chirpstack/api/health')
  })

  it.skipIf(missing)('refuses a viewer on the admins app with the 403 page naming the account', async () => {
    const reply = await http.get('/chirpstack/', { headers: { ...BROWSER, cookie: viewer.cookie } })
    expect(reply.status).toBe(403)
    expect(reply.text).toContain(`You are signed in as ${viewer.username}, and this account may not open ChirpStack.`)
  })

  it.skipIf(missing)('signs a browser in and sends it back to the exact URL; signing out closes the app', async () => {
    const wanted = `${proxy.baseUrl}/chirpstack/devices/0102?tab=frames`
    const jar = new CookieJar()
    // raw fetch: nginx's own 302 page is no page of the service's (the client checks those)
    const first = await fetch(wanted, { headers: BROWSER, redirect: 'manual' })
    const signInPage = `${proxy.baseUrl}/login?return_to=${encodeURIComponent(wanted)}`
    expect([first.status, first.headers.get('location')]).toEqual([302, signInPage])

    const page = await http.get(signInPage, { headers: BROWSER, jar })
    expect(page.text).toContain(`name="return_to" value="${wanted}"`)
    const form = { username: admin.username, password: admin.password, return_to: wanted }
    const signedIn = await http.postForm('/login', form, { jar, headers: { origin: proxy.baseUrl } })
    expect([signedIn.status, signedIn.location]).toEqual([303, wanted])

    const back = await http.get(signedIn.location!, { headers: BROWSER, jar })
    expect(back.json).toMatchObject({ path: '/chirpstack/devices/0102?tab=frames' })
    expect(back.json.headers['remote-user']).toBe(admin.username)

    await http.postForm('/logout', {}, { jar, headers: { origin: proxy.baseUrl } })
    const closed = await http.get('/chirpstack/devices/0102?tab=frames', {
      headers: { ...BROWSER, cookie: admin.cookie },
    })
    expect(closed.status).toBe(200) // the admin's other session (its own cookie) is still open
    const afterSignOut = await fetch(wanted, {
      headers: { ...BROWSER, cookie: jar.header() ?? '' },
      redirect: 'manual',
    })
    expect(afterSignOut.status).toBe(302)
  })

  it.skipIf(missing)('answers a program that is not signed in with a 401 problem, never a redirect', async () => {
    const programs = [{ accept: 'application/json' }, { ...BROWSER, authorization: 'Bearer not.a.token' }]
    for (const headers of programs) {
      const reply = await fetch(`${proxy.baseUrl}/chirpstack/devices`, { headers, redirect: 'manual' })
      expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect([reply.status, reply.headers.get('location'), ((await reply.json()) as { code: string }).code]).toEqual([
        401,
        null,
        'unauthorized',
      ])
    }
  })
})
