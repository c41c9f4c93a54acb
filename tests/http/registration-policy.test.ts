// REGISTRATION=open | first | closed over HTTP: the JSON answers, the pages, the register link on
// the sign-in page, and the race for an unclaimed gateway (exactly one owner).
import { afterEach, describe, expect, it } from 'vitest'
import { databaseKinds } from '../helpers/runtime.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { client, type Client } from '../helpers/http.ts'
import { expectProblem } from '../helpers/expect.ts'
import { startService, type TestService } from '../helpers/service.ts'

const REGISTER_LINK = /<a[^>]*href="\/register"/
const REGISTER_FORM = /<form[^>]*action="\/register"/

describe.each(databaseKinds())('registration policy (%s database)', (kind) => {
  let service: TestService | undefined
  afterEach(async () => {
    await service?.stop()
    service = undefined
  })
  async function start(policy: string): Promise<Client> {
    service = await startService({ kind, env: { REGISTRATION: policy } })
    return client(service.baseUrl)
  }
  const register = (http: Client, username = uniqueUsername(), password = strongPassword()) =>
    http.postJson('/register', { username, password })

  it('closed: 403 forbidden for JSON and the page, no form, no link on the sign-in page', async () => {
    const http = await start('closed')
    const json = await register(http)
    expectProblem(json, 403, 'forbidden')
    expect(json.json.detail).toMatch(/Registration is closed.*gateway-auth users create/)

    const page = await http.getHtml('/register')
    expect(page.status).toBe(403)
    expect(page.text).toContain('Registration is closed')
    expect(page.text).not.toMatch(REGISTER_FORM)
    const posted = await http.postForm('/register', { username: uniqueUsername(), password: strongPassword() })
    expect(posted.status).toBe(403)
    expect(posted.text).not.toMatch(REGISTER_FORM)

    const signIn = await http.getHtml('/')
    expect(signIn.status).toBe(200)
    expect(signIn.text).not.toMatch(REGISTER_LINK)
    expect((await http.getJson('/')).json).not.toHaveProperty('register')
    // a failed sign-in re-renders the page without the link too
    const failed = await http.postForm('/login', { username: 'nobody-here', password: 'wrong password' })
    expect(failed.status).toBe(401)
    expect(failed.text).not.toMatch(REGISTER_LINK)
  })

  it('first: of concurrent registrations on an empty gateway exactly one succeeds, then registration is closed', async () => {
    const http = await start('first')
    const before = await http.getHtml('/')
    expect(before.text).toMatch(REGISTER_LINK)
    expect(before.text).toContain('the first one owns it')
    expect((await http.getHtml('/register')).text).toMatch(REGISTER_FORM)

    const replies = await Promise.all(Array.from({ length: 6 }, () => register(http)))
    const statuses = replies.map((reply) => reply.status).sort()
    expect(statuses).toEqual([201, 403, 403, 403, 403, 403])
    for (const reply of replies.filter((r) => r.status === 403)) expectProblem(reply, 403, 'forbidden')
    const { rows } = await countUsers(service!)
    expect(rows).toBe(1)

    expectProblem(await register(http), 403, 'forbidden')
    expect((await register(http)).json.detail).toContain('already has its owner')
    expect((await http.getHtml('/register')).status).toBe(403)
    const after = await http.getHtml('/')
    expect(after.text).not.toMatch(REGISTER_LINK)
    expect((await http.getJson('/')).json).not.toHaveProperty('register')
  })

  it('open: anyone registers, and the sign-in page links to registration', async () => {
    const http = await start('open')
    expect((await register(http)).status).toBe(201)
    expect((await register(http)).status).toBe(201)
    const page = await http.getHtml('/')
    expect(page.text).toMatch(REGISTER_LINK)
    expect(page.text).not.toContain('the first one owns it')
    expect((await http.getJson('/')).json).toMatchObject({ register: '/register' })
  })
})

async function countUsers(service: TestService): Promise<{ rows: number }> {
  const { count } = await service.runtime.db.one<{ count: number }>('SELECT count(*)::int AS count FROM users')
  return { rows: count }
}
