// The front door's test fixtures: the access rules, the service behind a real proxy in front of an
// echo app, and accounts signed in with a session cookie (the first account is in `admins`).
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { expect } from 'vitest'
import { startService, type TestService } from './service.ts'
import { client, CookieJar } from './http.ts'
import { strongPassword, uniqueUsername } from './factories.ts'
import { freePort } from './service-process.ts'
import { startEchoApp, type EchoApp, type RunningProxy, type startCaddy } from './proxies.ts'

/** The rules the front-door tests share; `app` is the protected app's host (with its port). */
// flow style, in braces: ACCESS_RULES takes the text itself as well as a file holding it
export const rulesFor = (app: string) => `{ rules: [
  { name: ChirpStack, host: '${app}', path: /chirpstack/, allow: { groups: [admins] } },
  { host: '${app}', path: /chirpstack/api/health, allow: bypass },
  { name: Node-RED, host: '${app}', path: /nodered/, allow: signed_in }
] }`

export async function writeRules(text: string): Promise<string> {
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'rules-')), 'access-rules.yml')
  await writeFile(file, text)
  return file
}

/** The service (server database, the shared rules) behind a proxy, in front of an echo app. */
export interface FrontDoor {
  readonly service: TestService
  readonly app: EchoApp
  readonly proxy: RunningProxy
  stop(): Promise<void>
}

/** Starts an echo app, the service with rulesFor(that app) and TRUST_PROXY loopback, then the proxy. */
export async function startBehindProxy(startProxy: typeof startCaddy): Promise<FrontDoor> {
  const port = await freePort()
  const app = await startEchoApp()
  const service = await startService({
    kind: 'server',
    env: { ACCESS_RULES: await writeRules(rulesFor(`127.0.0.1:${port}`)), TRUST_PROXY: 'loopback' },
  })
  const proxy = await startProxy({ auth: new URL(service.baseUrl).host, app: app.address }, port)
  return {
    service,
    app,
    proxy,
    async stop() {
      await proxy.stop()
      await service.stop()
      await app.stop()
    },
  }
}

export interface Account {
  username: string
  password: string
  /** The Cookie header a signed-in browser sends. */
  cookie: string
  jar: CookieJar
}

/** Registers and signs in over HTTP; the first account of a fresh database is in admins. */
export async function signedInAccount(baseUrl: string, prefix: string): Promise<Account> {
  const http = client(baseUrl)
  const username = uniqueUsername(prefix)
  const password = strongPassword()
  expect((await http.postJson('/register', { username, password })).status).toBe(201)
  const jar = new CookieJar()
  const reply = await http.postForm('/login', { username, password }, { jar })
  expect(reply.status).toBe(303)
  return { username, password, cookie: jar.header()!, jar }
}
