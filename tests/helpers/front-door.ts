// The front door's test fixtures: a rules file on disk and the service started with it, an admin
// (the first account, so in `admins`) and a viewer, each signed in with a session cookie.
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { expect } from 'vitest'
import { startService, type TestService } from './service.ts'
import { client, CookieJar } from './http.ts'
import { strongPassword, uniqueUsername } from './factories.ts'

/** The rules the front-door tests share; `app` is the protected app's host (with its port). */
export const rulesFor = (app: string) => `rules:
  - name: ChirpStack
    host: '${app}'
    path: /chirpstack/
    allow: { groups: [admins] }
  - host: '${app}'
    path: /chirpstack/api/health
    allow: bypass
  - name: Node-RED
    host: '${app}'
    path: /nodered/
    allow: signed_in
`

export async function writeRules(text: string): Promise<string> {
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'rules-')), 'access-rules.yml')
  await writeFile(file, text)
  return file
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

/** The service with the rules for `app`, trusting loopback proxies, plus an admin and a viewer. */
export async function startFrontDoor(app: string, env: Record<string, string> = {}) {
  const service: TestService = await startService({
    kind: 'server',
    env: {
      ACCESS_RULES: await writeRules(rulesFor(app)),
      TRUST_PROXY: 'loopback',
      ...env,
    },
  })
  const admin = await signedInAccount(service.baseUrl, 'admin')
  const viewer = await signedInAccount(service.baseUrl, 'viewer')
  return { service, admin, viewer }
}
