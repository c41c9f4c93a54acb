// ASVS 5.0 V1 Encoding and Sanitization, Level 1 and 2, black box: real requests on a real port
// against the first database kind. Hostile text goes into every field a client controls (form,
// JSON, query, path) and must come back escaped for where it lands, never interpreted: not by
// the templates, the SQL, the regular expressions, the JSON or the log lines.
import { describe, expect, it } from 'vitest'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { USERNAME_PATTERN } from '#lib/auth/validation.ts'
import { htmlEscaped, inputValue } from '../helpers/pages.ts'
import { expectProblem } from '../helpers/expect.ts'
import { rawExchange, statusLines } from '../helpers/http.ts'
import { useService, credentialsOf, LOOSE_THROTTLE } from '../helpers/service.ts'

const s = useService({ env: LOOSE_THROTTLE, captureLogs: true })

const TEMPLATE_PAYLOADS = [
  '{{7*7}}',
  '${7*7}',
  '#{7*7}',
  '<%= 7*7 %>',
  '{% for x in range(3) %}x{% endfor %}',
  '{{ range.constructor("return process")() }}',
  '<script>alert(1)</script>',
]

const JSON_FIELDS = ['type', 'title', 'status', 'detail', 'code', 'errors']

describe('V1.1 Encoding and sanitization architecture', () => {
  it('1.1.1 decodes percent-encoding exactly once, before validation (form fields and path)', async () => {
    // A double-encoded "A" (%2541) decoded once is "%41", which the username rule refuses;
    // decoding twice would turn it into a valid name and let encoded input slip past validation.
    const suffix = uniqueUsername('dbl').slice(4)
    const password = strongPassword()
    const reply = await s.http.call('/register', {
      method: 'POST',
      body: `username=dbl%2541${suffix}&password=${encodeURIComponent(password)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: s.baseUrl },
    })
    expect(reply.status).toBe(400)
    expect(reply.text).toContain('Username may only contain')
    expect(inputValue(reply.text, 'username')).toBe(`dbl%41${suffix}`)
    const login = await s.http.postJson('/login', { username: `dblA${suffix}`, password })
    expectProblem(login, 401, 'invalid_credentials') // no account came into being

    // the path is decoded once too: /dashboard/%2561… is the dashboard of "%61…", not of "a…"
    const account = await s.register('abc')
    const token = (await s.http.postJson('/login', credentialsOf(account))).json.access_token as string
    const doubled = await s.http.getJson(`/dashboard/%25${'61'}${account.username.slice(1)}`, { bearer: token })
    expectProblem(doubled, 404, 'not_found') // "%61…" is no name an account can have
    const once = await s.http.getJson(`/dashboard/%61${account.username.slice(1)}`, { bearer: token })
    expect(once.status).toBe(200)
  })

  it('1.1.2 encodes output once, at rendering: stored and JSON values stay raw, HTML escapes them a single time', async () => {
    // what was typed is kept raw and escaped by the template (not before): a literal "&amp;"
    // typed by the user must show as "&amp;amp;", not be taken for already-escaped text
    const typed = `a&b<c>"d'&amp;`
    const page = await s.http.postForm('/login', { username: typed, password: 'not the password at all' })
    expect(page.status).toBe(400) // no account can have that name; it is shown again, escaped once
    expect(inputValue(page.text, 'username')).toBe(htmlEscaped(typed))
    expect(page.text).not.toContain('&amp;amp;amp;')

    // JSON carries the value as registered, with no HTML escaping applied to it
    const username = uniqueUsername('O.Brien_x-y')
    const created = await s.http.postJson('/register', { username, password: strongPassword() })
    expect(created.status).toBe(201)
    expect(created.json.user.username).toBe(username)
  })
})

describe('V1.2 Injection prevention', () => {
  it('1.2.1 escapes user text for its HTML context (attribute values, text) and never lets it into a header', async () => {
    const payload = `"><script>alert(1)</script><a href='javascript:x'>&`
    const page = await s.http.getHtml(`/login?username=${encodeURIComponent(payload)}`)
    expect(page.status).toBe(200)
    expect(inputValue(page.text, 'username')).toBe(htmlEscaped(payload))
    expect(page.text).not.toContain('<script>')
    expect(page.text).not.toContain("href='javascript")

    const posted = await s.http.postForm('/login', { username: payload, password: 'wrong wrong wrong' })
    expect(posted.status).toBe(400)
    expect(inputValue(posted.text, 'username')).toBe(htmlEscaped(payload))
    expect(posted.text).not.toContain('<script>')

    // header context: CR LF in a query, a form field or a path never starts a header of its own
    const crlf = 'x\r\nSet-Cookie: pwn=1\r\nX-Injected: 1'
    const replies = [
      await s.http.getHtml(`/login?username=${encodeURIComponent(crlf)}`),
      await s.http.postForm('/login', { username: crlf, password: 'wrong wrong wrong' }),
      await s.http.getHtml(`/dashboard/${encodeURIComponent(crlf)}`),
      await s.http.postJson('/login', { username: crlf, password: 'wrong wrong wrong' }),
    ]
    for (const reply of replies) {
      expect(reply.status).toBeLessThan(500)
      expect(reply.headers.get('x-injected')).toBeNull()
      expect(reply.setCookies.join('\n')).not.toContain('pwn')
    }
  })

  it('1.2.2 builds redirect URLs from encoded, server-known parts only; no javascript: or foreign URLs', async () => {
    const account = await s.register('redir')
    const hostile =
      '?next=https://evil.example&redirect=javascript:alert(1)&return_to=//evil.example&url=data:text/html,x'
    const login = await s.http.postForm(`/login${hostile}`, {
      username: account.username.toUpperCase(),
      password: account.password,
    })
    expect(login.status).toBe(303)
    // the name as registered (not as typed), URL-encoded into the path
    expect(login.location).toBe(`/dashboard/${encodeURIComponent(account.username)}`)

    const registered = await s.http.postForm(`/register${hostile}`, {
      username: uniqueUsername('redir2'),
      password: strongPassword(),
    })
    expect(registered.status).toBe(303)
    expect(registered.location).toBe('/login')

    // a URL typed into a field shows up in the value attribute only, never in a link or action
    const page = await s.http.getHtml(`/login?username=${encodeURIComponent('javascript:alert(1)')}`)
    const links = [...page.text.matchAll(/\b(?:href|src|action)="([^"]*)"/g)].map((m) => m[1]!)
    expect(links.length).toBeGreaterThan(0)
    for (const link of links) expect(link).toMatch(/^(\/(?!\/)[^"]*|data:,)$/) // same-site paths (and the empty favicon)
  })

  it('1.2.3 builds JSON with a serializer: quotes, </script> and U+2028 in input cannot change its structure', async () => {
    const payload = '"},"role":"admin","x":{"y":"</script><script>alert(1)</script>\u2028\u2029\\'
    const replies = [
      await s.http.postJson('/login', { username: payload, password: payload }),
      await s.http.postJson('/register', { username: payload, password: payload }),
      await s.http.getJson(`/dashboard/${encodeURIComponent(payload)}`),
      await s.http.call('/login', { method: 'PUT', headers: { accept: 'application/json' } }),
    ]
    for (const reply of replies) {
      expect(reply.status).toBeGreaterThanOrEqual(400)
      expect(reply.status).toBeLessThan(500)
      expect(reply.contentType).toMatch(/^application\/problem\+json/)
      const body = JSON.parse(reply.text)
      for (const key of Object.keys(body)) expect(JSON_FIELDS).toContain(key)
      expect(body.role).toBeUndefined()
      expect(reply.text).not.toContain('</script>')
    }
  })

  it('1.2.4 is immune to SQL injection: SQL-looking names are refused, and never change a lookup', async () => {
    for (const username of ["' OR 1=1 --", "admin'--", "x'; DROP TABLE users; --", '"; DELETE FROM sessions; --']) {
      const reply = await s.http.postJson('/register', { username, password: strongPassword() })
      expectProblem(reply, 400, 'validation_failed')
      expect(reply.json.errors).toEqual([{ field: 'username', message: expect.stringMatching(/may only contain/) }])
    }

    const victim = await s.register('victim')
    const token = (await s.http.postJson('/login', credentialsOf(victim))).json.access_token as string
    // lookups are parameterized and exact: neither quotes nor LIKE wildcards match the victim
    const guesses = [
      { username: "' OR '1'='1", password: "' OR '1'='1" },
      { username: "' OR 1=1 --", password: victim.password },
      { username: `${victim.username}' --`, password: 'anything anything' },
      { username: `${victim.username}' OR '1'='1`, password: "x' OR '1'='1" },
      { username: '%', password: victim.password },
      { username: `_${victim.username.slice(1)}`, password: victim.password },
    ]
    for (const guess of guesses) {
      const reply = await s.http.postJson('/login', guess)
      // a name no account can have is refused as input; a valid one matches nobody
      if (USERNAME_PATTERN.test(guess.username)) expectProblem(reply, 401, 'invalid_credentials', [victim.password])
      else expectProblem(reply, 400, 'validation_failed', [victim.password])
    }
    const dashboard = await s.http.getJson(`/dashboard/${encodeURIComponent("' OR '1'='1")}`, { bearer: token })
    expectProblem(dashboard, 404, 'not_found')

    // the tables are intact: the victim still signs in and sees their dashboard
    const again = await s.http.postJson('/login', credentialsOf(victim))
    expect(again.status).toBe(200)
    const own = await s.http.getJson(`/dashboard/${victim.username}`, { bearer: again.json.access_token })
    expect(own.status).toBe(200)
  })

  it('1.2.9 treats user text as literal text where the service matches it (regex metacharacters)', async () => {
    // "password must not contain the username": with the name used as an unescaped pattern,
    // "a.c-…" would also match "abc-…" and a fine password would be refused
    const account = { username: uniqueUsername('a.c'), password: '' }
    account.password = `harbor lantern ${account.username.replace('a.c', 'abc')} quartz`
    const created = await s.http.postJson('/register', account)
    expect(created.status, created.text).toBe(201)
    const literal = uniqueUsername('p.q')
    const refused = await s.http.postJson('/register', {
      username: literal,
      password: `harbor ${literal.toUpperCase()} quartz`,
    })
    expectProblem(refused, 400, 'validation_failed')

    // a pattern as a name signs in as nobody
    for (const username of [
      '.*',
      `^${account.username}$`,
      '[a-z]+.*',
      'a.c-.*',
      account.username.replace('a.c', 'a.'),
    ]) {
      const reply = await s.http.postJson('/login', { username, password: account.password })
      if (USERNAME_PATTERN.test(username)) expectProblem(reply, 401, 'invalid_credentials')
      else expectProblem(reply, 400, 'validation_failed')
    }
    expect((await s.http.postJson('/login', credentialsOf(account))).status).toBe(200)
  })
})

describe('V1.3 Sanitization', () => {
  it('1.3.2 never evaluates input as code: JavaScript in any field is inert data', async () => {
    const payloads = [
      "'+(7*7)+'",
      "require('child_process').execSync('id')",
      'process.exit(1)',
      '${process.exit(1)}',
      'this.constructor.constructor("return process")().exit()',
    ]
    for (const payload of payloads) {
      expectProblem(await s.http.postJson('/login', { username: payload, password: payload }), 400, 'validation_failed')
      expectProblem(
        await s.http.postJson('/register', { username: payload, password: payload }),
        400,
        'validation_failed',
      )
      const page = await s.http.getHtml(`/login?username=${encodeURIComponent(payload)}`)
      expect(inputValue(page.text, 'username')).toBe(htmlEscaped(payload))
      expect(page.text).not.toMatch(/uid=\d+/)
    }
    // nothing exited or changed: the service still answers
    const health = await s.http.getJson('/health')
    expect(health.json).toEqual({ status: 'ok', database: 'ok' })
  })

  it('1.3.3 cuts input to its allowed size and characters before the logs and the database see it', async () => {
    // an over-long name is refused before any lookup
    const long = await s.http.postJson('/login', { username: 'a'.repeat(300), password: 'whatever whatever' })
    expectProblem(long, 400, 'validation_failed')
    expect(long.json.errors).toEqual([{ field: 'username', message: expect.any(String) }])

    // a name made to forge a log line is refused or logged as one value without control
    // characters; a long one is cut short; never a 5xx (a NUL byte once reached PostgreSQL as 503)
    const before = s.logs().length
    for (const username of [
      `ghost\n{"level":60,"msg":"admin logged in"}\r\u001b[2J`,
      `ghost\u0000${'z'.repeat(20)}`,
      `ghost${'z'.repeat(200)}`,
    ]) {
      const reply = await s.http.postJson('/login', { username, password: 'whatever whatever' })
      expect([400, 401]).toContain(reply.status)
      expectProblem(reply, reply.status, reply.status === 400 ? 'validation_failed' : 'invalid_credentials')
    }
    for (const line of s.rawLogs().split('\n').filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow()
    expect(s.logs().some((entry) => entry.msg === 'admin logged in')).toBe(false)
    // none of them can be a name (the login rules are the registration rules), so none reaches the
    // log as a value: a refusal that gets a line of its own (the log budget may only count it, after
    // this file's earlier refusals: docs/security.md#a-bounded-log) names the field only
    const written = s.logs().slice(before)
    for (const entry of written.filter((line) => line.event === 'request_refused')) {
      expect(entry).toMatchObject({ code: 'validation_failed', fields: ['username'] })
    }
    for (const entry of written) expect(JSON.stringify(entry)).not.toContain('ghost')
  })

  it('1.3.7 renders template-looking input literally (no server-side template injection)', async () => {
    for (const payload of TEMPLATE_PAYLOADS) {
      const json = await s.http.postJson('/register', { username: payload, password: strongPassword() })
      expectProblem(json, 400, 'validation_failed')
      expect(json.json.errors.map((e: { field: string }) => e.field)).toEqual(['username'])

      for (const page of [
        await s.http.postForm('/register', { username: payload, password: strongPassword() }),
        await s.http.postForm('/login', { username: payload, password: 'not the password at all' }),
        await s.http.getHtml(`/login?username=${encodeURIComponent(payload)}`),
      ]) {
        expect(page.contentType).toMatch(/^text\/html/)
        expect(inputValue(page.text, 'username')).toBe(htmlEscaped(payload))
        expect(page.text).not.toContain('<script>alert')
        expect(page.text).not.toMatch(/value="(49|xxx)"/)
      }
    }
  })

  it('1.3.10 keeps format specifiers in input literal (no printf-style interpolation in logs or pages)', async () => {
    const payload = '%s%d%j%o%O%%%n%x%c'
    const before = s.logs().length
    expectProblem(
      await s.http.postJson('/login', { username: payload, password: 'whatever whatever' }),
      400,
      'validation_failed',
    )
    // a path is logged as it came: the specifiers stay literal there
    expectProblem(await s.http.getJson(`/${payload}`), 404, 'not_found')
    const entries = s.logs().slice(before)
    expect(entries.some((entry) => entry.path === `/${payload}`)).toBe(true)
    for (const entry of entries) expect(String(entry.msg ?? '')).not.toContain('%')
    const page = await s.http.postForm('/login', { username: payload, password: 'whatever whatever' })
    expect(inputValue(page.text, 'username')).toBe(payload)
  })
})

describe('V1.4 Memory, string and unmanaged code', () => {
  it('1.4.2 range-checks sizes and numbers from the client: absurd lengths and numbers are refused, not wrapped', async () => {
    // a huge Content-Length is over the body limit (413), one past 64 bits is malformed (400):
    // never a negative or wrapped number that lets a body through
    const withLength = (length: string) =>
      rawExchange(
        s.baseUrl,
        'POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nContent-Type: application/json\r\n' +
          `Content-Length: ${length}\r\nConnection: close\r\n\r\n{}`,
      )
    expect(statusLines(await withLength('1000000000000000'))).toEqual([413])
    expect(statusLines(await withLength('18446744073709551617'))).toEqual([400])
    expect(statusLines(await withLength('99999999999999999999999'))).toEqual([400])
    const negative = await rawExchange(
      s.baseUrl,
      'POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: -1\r\nConnection: close\r\n\r\n{}',
    )
    expect(statusLines(negative)).toEqual([400])
    // JSON numbers beyond double range where text belongs
    const reply = await s.http.call('/register', {
      method: 'POST',
      body: '{"username": 1e400, "password": -1e400}',
      headers: { 'content-type': 'application/json' },
    })
    expectProblem(reply, 400, 'validation_failed')
    expect(reply.json.errors.map((e: { field: string }) => e.field).sort()).toEqual(['password', 'username'])
  })
})

describe('V1.5 Safe deserialization', () => {
  // 1.5.1 (no XML parser: XML bodies, XXE included, are 415): tests/functions/http-rules.test.ts
  it('1.5.2 deserializes JSON into plain data only: type hints and deep nesting are refused, never a 500', async () => {
    const bodies: Record<string, unknown>[] = [
      { username: { $type: 'System.Diagnostics.Process', StartInfo: { FileName: 'id' } }, password: 'x'.repeat(20) },
      { username: { '@class': 'java.lang.Runtime' }, password: { _bsontype: 'Code', code: 'process.exit(1)' } },
      { username: { toString: 'x', valueOf: 'y' }, password: { toString: 'x' } },
    ]
    for (const body of bodies) {
      for (const path of ['/register', '/login']) {
        const reply = await s.http.postJson(path, body)
        expectProblem(reply, 400, 'validation_failed')
      }
    }
    // nesting thousands deep fits in 16 KiB; it is a type error, not a stack overflow
    const deep = `{"username":${'['.repeat(5000)}${']'.repeat(5000)},"password":"x"}`
    const nested = await s.http.call('/login', {
      method: 'POST',
      body: deep,
      headers: { 'content-type': 'application/json' },
    })
    expectProblem(nested, 400, 'validation_failed')
    const deepObject = `${'{"a":'.repeat(2500)}1${'}'.repeat(2500)}`
    const objects = await s.http.call('/register', {
      method: 'POST',
      body: deepObject,
      headers: { 'content-type': 'application/json' },
    })
    expectProblem(objects, 400, 'validation_failed')
    expect((await s.http.getJson('/health')).status).toBe(200)
  })
})
