// ASVS 5.0 V6 Authentication (Level 1 and 2), black box over HTTP. Throttling (6.1.1, 6.3.1) has
// its own file, tests/security/throttling.test.ts; this service raises the login limits so that
// the failures these tests make on purpose are never answered with 429.
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { CookieJar } from '../helpers/http.ts'

import { expectProblem } from '../helpers/expect.ts'
import { ownScriptSource, withoutOwnScript } from '../helpers/page-script.ts'
import { startService, type TestService } from '../helpers/service.ts'

let s: TestService
beforeAll(async () => {
  s = await startService({ env: { LOGIN_MAX_FAILURES: '1000', LOGIN_CLIENT_MAX_FAILURES: '100000' } })
})
afterAll(async () => {
  await s?.stop()
})

const login = (username: string, password: string) => s.http.postJson('/login', { username, password })
const tryRegister = (username: string, password: string) => s.http.postJson('/register', { username, password })

/** A 400 validation_failed naming `field`, whose message matches `message`. */
function expectFieldError(reply: Awaited<ReturnType<typeof login>>, field: string, message?: RegExp) {
  expectProblem(reply, 400, 'validation_failed')
  const error = (reply.json.errors as { field: string; message: string }[]).find((e) => e.field === field)
  expect(error, `an error on ${field}: ${reply.text}`).toBeDefined()
  if (message) expect(error!.message).toMatch(message)
}

/** Every <input> of a page whose name mentions a password. */
const passwordInputs = (html: string) =>
  [...html.matchAll(/<input\b[^>]*\bname="[^"]*password[^"]*"[^>]*>/g)].map((m) => m[0])

/** The three pages with password fields: sign-in, registration, and the dashboard's change form. */
async function pagesWithPasswordFields(): Promise<string[]> {
  const account = await s.register('pages')
  const jar = await s.browserLogin(account)
  const pages = await Promise.all([
    s.http.getHtml('/'),
    s.http.getHtml('/register'),
    s.http.getHtml(`/dashboard/${account.username}`, { jar }),
  ])
  for (const page of pages) expect(page.status).toBe(200)
  return pages.map((page) => page.text)
}

describe('V6.1 Authentication documentation', () => {
  it('6.1.3 documents both authentication pathways (form + cookie, JSON + bearer)', async () => {
    const api = await readFile(new URL('../../docs/api.md', import.meta.url), 'utf8')
    expect(api).toMatch(/Authorization: Bearer/)
    expect(api).toMatch(/`session`/)
    expect(api).toMatch(/`__Host-session`/)
  })
})

describe('V6.2 Password security', () => {
  it('6.2.5 accepts passwords of any composition: no character-class rules, any Unicode', async () => {
    const passwords = [
      'correct horse battery staple', // lower case and spaces only
      '493027158640291', // digits only
      'ПАРОЛЬ ДЛЯ ШЛЮЗА', // Cyrillic upper case
      '門の鍵は青い鳥と星空の下にある', // CJK
      '🦊🐙🦉🐝🦋🐌🐞🦀🐡🦑🐧🦩🦔🦦🐢', // emoji only
      `!"#$%&'()*+,-./:;<=>?@[\\]^_\`{|}~`, // ASCII punctuation only
    ]
    for (const password of passwords) {
      const username = uniqueUsername('any')
      expect((await tryRegister(username, password)).status, password).toBe(201)
      expect((await login(username, password)).status, password).toBe(200)
    }
  })

  it('6.2.6 masks every password field with type=password', async () => {
    const pages = await pagesWithPasswordFields()
    const inputs = pages.flatMap(passwordInputs)
    expect(inputs.length).toBe(4) // sign-in, registration, current + new on the dashboard
    for (const input of inputs) expect(input).toMatch(/\btype="password"/)
  })

  it('6.2.7 allows paste and password managers: no paste blocking, no autocomplete=off, no script that could', async () => {
    const pages = await pagesWithPasswordFields()
    // the one page script (show-password toggles, the EUI's copy button) listens to clicks and submits,
    // never to typing or pasting, and cancels nothing
    const script = ownScriptSource()
    const listened = [...script.matchAll(/addEventListener\(\s*['"]([\w-]+)['"]/g)].map(([, type]) => type)
    expect(listened.length).toBeGreaterThan(0)
    expect(new Set(listened)).toEqual(new Set(['click', 'submit']))
    expect(script).not.toMatch(/\bon(paste|copy|cut|drop|key\w+|input)\b|autocomplete|preventDefault/i)
    for (const html of pages) {
      expect(withoutOwnScript(html)).not.toMatch(/<script\b/i)
      expect(html).not.toMatch(/\bon(paste|copy|cut|drop|keydown|input)=/i)
    }
    for (const input of pages.flatMap(passwordInputs)) {
      // password managers fill fields marked current-password / new-password; "off" would fight them
      expect(input).toMatch(/\bautocomplete="(current-password|new-password)"/)
      const maxlength = /\bmaxlength="(\d+)"/.exec(input)?.[1]
      if (maxlength) expect(Number(maxlength)).toBeGreaterThanOrEqual(64)
    }
  })

  it('6.2.8 verifies the password exactly as typed: no trimming, case folding or truncation', async () => {
    const username = uniqueUsername('exact')
    const password = `  Exact Lantern ${Date.now()} Quartz  `
    expect((await tryRegister(username, password)).status).toBe(201)
    for (const variant of [password.trim(), password.toLowerCase(), password.toUpperCase(), ` ${password}`]) {
      expectProblem(await login(username, variant), 401, 'invalid_credentials', [password])
    }
    expect((await login(username, password)).status).toBe(200)

    // bcrypt reads 72 bytes: a longer password must be refused, never cut to 72 and accepted
    const username72 = uniqueUsername('bytes')
    const password72 = `${'kestrel-'.repeat(8)}${Date.now().toString().slice(-8)}`
    expect(Buffer.byteLength(password72)).toBe(72)
    expect((await tryRegister(username72, password72)).status).toBe(201)
    expect((await login(username72, `${password72}extra`)).status).not.toBe(200)
    // the 72nd byte counts
    expectProblem(await login(username72, `${password72.slice(0, 71)}#`), 401, 'invalid_credentials')
    expect((await login(username72, password72)).status).toBe(200)
  })

  it('6.2.10 never expires a password: an account years old signs in straight to its dashboard', async () => {
    const account = await s.register('old')
    // no password-age column exists; the oldest the service could judge by is the account itself
    await s.runtime.db.none(`UPDATE users SET created_at = now() - interval '5 years' WHERE id = $1`, [account.id])
    const jar = new CookieJar()
    const reply = await s.http.postForm('/login', { username: account.username, password: account.password }, { jar })
    expect(reply.status).toBe(303)
    expect(reply.location).toBe(`/dashboard/${account.username}`)
    const api = await login(account.username, account.password)
    expect(api.status).toBe(200)
    expect(Object.keys(api.json).sort()).toEqual(['access_token', 'expires_in', 'token_type', 'user'])
  })

  it('6.1.2 documents the context words barred from passwords, and refuses each one in any spelling', async () => {
    const doc = await readFile(new URL('../../docs/api.md', import.meta.url), 'utf8')
    for (const word of ['gateway-auth', 'LoRaWAN', 'RAKwireless', 'WisGate']) expect(doc).toContain(`\`${word}\``)
    for (const password of [
      'my Gateway-Auth is 2026 strong',
      'lorawan lantern quartz harbor',
      'RAK Wireless harbor lantern',
      'wis.gate harbor lantern 7',
    ]) {
      expectFieldError(
        await tryRegister(uniqueUsername('ctxw'), password),
        'password',
        /name of this service or device/,
      )
    }
    // the words alone are barred, not what merely resembles them
    expect((await tryRegister(uniqueUsername('ctxw'), 'my gateway to the harbor lantern')).status).toBe(201)
  })
  it('6.2.12 refuses passwords found in breach corpora, not only human-chosen favourites', async () => {
    // machine-made strings that are on the list only because they leaked (zxcvbn-ts builds it from breach data)
    for (const breached of ['mailcreated5240', 'hd764nw5d7e1vb1', 'lhbjkjubz2957704', 'zqjphsyf6ctifgu']) {
      expectFieldError(await tryRegister(uniqueUsername('breach'), breached), 'password', /commonly used/)
    }
  })
})

describe('V6.3 General authentication security', () => {
  it('6.3.2 ships no default accounts: admin, root and the like do not exist', async () => {
    // run before anything else in this file registers a name; a 201 proves the name was free
    expectProblem(await login('sa', 'sa'), 400, 'validation_failed') // too short to be a name: refused as input, never an account
    for (const name of ['admin', 'Administrator', 'root', 'gateway', 'operator', 'test', 'guest', 'user']) {
      expectProblem(await login(name, name), 401, 'invalid_credentials')
      expect((await tryRegister(name, strongPassword())).status, name).toBe(201)
    }
  })

  it('6.3.4 has no undocumented pathway: a token anywhere but the bearer header or session cookie is ignored', async () => {
    const account = await s.register('pathway')
    const token = await s.apiLogin(account)
    const path = `/dashboard/${account.username}`
    const basic = Buffer.from(`${account.username}:${account.password}`).toString('base64')
    const attempts = [
      s.http.getJson(`${path}?access_token=${token}`),
      s.http.getJson(`${path}?token=${token}`),
      s.http.getJson(path, { headers: { 'x-access-token': token } }),
      s.http.getJson(path, { headers: { authorization: `Token ${token}` } }),
      s.http.getJson(path, { headers: { authorization: `Basic ${basic}` } }),
      s.http.getJson(path, { headers: { cookie: `token=${token}; jwt=${token}; access_token=${token}` } }),
      s.http.getJson(path, { headers: { 'x-forwarded-user': account.username, 'remote-user': account.username } }),
    ]
    for (const reply of await Promise.all(attempts))
      expectProblem(reply, 401, 'unauthorized', [token, account.password])
    // the form pathway applies the same credential check as the JSON one
    const form = await s.http.postForm('/login', { username: account.username, password: `${account.password}!` })
    expect(form.status).toBe(401)
    expect(form.setCookies.some((c) => /^(__Host-)?session=./.test(c))).toBe(false)
  })
})

describe('V6.4 Authentication factor lifecycle and recovery', () => {
  it('6.4.2 has no password hints or secret questions, and does not store any that are sent', async () => {
    const register = await s.http.getHtml('/register')
    const fields = [...register.text.matchAll(/<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"/g)].map((m) => m[1])
    expect(fields.sort()).toEqual(['password', 'username'])
    expect(register.text).not.toMatch(/password hint|secret question|security question|maiden name/i)

    const username = uniqueUsername('hint')
    const password = strongPassword()
    const hint = `hint-${Date.now()}`
    const reply = await s.http.postJson('/register', {
      username,
      password,
      password_hint: hint,
      security_question: 'first pet?',
      security_answer: hint,
    })
    expect(reply.status).toBe(201)
    expect(reply.text).not.toContain(hint)
    const token = await s.apiLogin({ username, password })
    const dashboard = await s.dashboard(username, token)
    expect(dashboard.status).toBe(200)
    expect(dashboard.text).not.toContain(hint)
  })
})
