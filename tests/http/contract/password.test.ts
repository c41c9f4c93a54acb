// The HTTP contract (docs/api.md), POST /password: real requests on a real port through the Express
// adapter, against the first database kind (what differs by database: tests/http/databases.test.ts).
import { describe, expect, it } from 'vitest'
import { expectProblem, expectNoSecrets } from '../../helpers/expect.ts'
import { strongPassword } from '../../helpers/factories.ts'
import { useService, type Account } from '../../helpers/service.ts'

/** Only the fields a sign-in form has. */
const creds = (account: Pick<Account, 'username' | 'password'>) => ({
  username: account.username,
  password: account.password,
})
const COMMON_PASSWORD = '1qaz2wsx3edc4rfv' // on the zxcvbn-ts list, 16 characters

const s = useService()

describe('POST /password', () => {
  it('JSON: 204; the other sessions are revoked, this one stays; only the new password signs in', async () => {
    const account = await s.register('Pw')
    const current = await s.apiLogin(account)
    const elsewhere = await s.apiLogin(account)
    const newPassword = strongPassword()
    const reply = await s.http.postJson(
      '/password',
      { current_password: account.password, new_password: newPassword },
      { bearer: current },
    )
    expect(reply.status).toBe(204)
    expect(reply.text).toBe('')
    expect((await s.http.getJson(`/dashboard/${account.username}`, { bearer: current })).status).toBe(200)
    expectProblem(await s.http.getJson(`/dashboard/${account.username}`, { bearer: elsewhere }), 401, 'unauthorized')
    expectProblem(await s.http.postJson('/login', creds(account)), 401, 'invalid_credentials')
    await s.apiLogin({ username: account.username, password: newPassword })
  })

  it('form: 303 to the dashboard, which then shows "password changed"', async () => {
    const account = await s.register('pwform')
    const jar = await s.browserLogin(account)
    const newPassword = strongPassword()
    const reply = await s.http.postForm(
      '/password',
      { current_password: account.password, new_password: newPassword },
      { jar },
    )
    expect(reply.status).toBe(303)
    expect(reply.location).toBe(`/dashboard/${account.username}`)
    const page = await s.http.getHtml(reply.location!, { jar })
    expect(page.status).toBe(200)
    expect(page.text).toContain('Your password was changed')
    expectNoSecrets(page.text, [account.password, newPassword, ...s.secretsOf()])
  })

  it('wrong current password: 400 validation_failed on current_password (JSON); the dashboard again (form)', async () => {
    const account = await s.register('pwwrong')
    const token = await s.apiLogin(account)
    const newPassword = strongPassword()
    const json = await s.http.postJson(
      '/password',
      { current_password: 'not my password at all', new_password: newPassword },
      { bearer: token },
    )
    expectProblem(json, 400, 'validation_failed', [newPassword, ...s.secretsOf(account)])
    expect(json.json.errors).toEqual([{ field: 'current_password', message: expect.any(String) }])

    const jar = await s.browserLogin(account)
    const html = await s.http.postForm(
      '/password',
      { current_password: 'not my password at all', new_password: newPassword },
      { jar },
    )
    expect(html.status).toBe(400)
    expect(html.contentType).toMatch(/^text\/html/)
    expect(html.text).toContain(account.username)
    expect(html.text).toContain('The current password is wrong')
    expect(html.text).not.toContain('not my password at all')
    expectNoSecrets(html.text, [newPassword, ...s.secretsOf(account)])
    // nothing changed
    await s.apiLogin(account)
  })

  it.each([
    ['too short', () => 'short one', 'new_password'],
    ['containing the username', (name: string) => `the ${name} of mine, long`, 'new_password'],
    ['common', () => COMMON_PASSWORD, 'new_password'],
  ])('a new password that is %s: 400 validation_failed on new_password', async (_label, make, field) => {
    const account = await s.register('pwrule')
    const token = await s.apiLogin(account)
    const reply = await s.http.postJson(
      '/password',
      { current_password: account.password, new_password: make(account.username) },
      { bearer: token },
    )
    expectProblem(reply, 400, 'validation_failed', s.secretsOf(account))
    expect(reply.json.errors.map((e: { field: string }) => e.field)).toEqual([field])
  })

  it('no session: JSON 401 unauthorized; form 303 to /', async () => {
    const body = { current_password: 'x'.repeat(20), new_password: strongPassword() }
    expectProblem(await s.http.postJson('/password', body), 401, 'unauthorized')
    const form = await s.http.postForm('/password', body)
    expect(form.status).toBe(303)
    expect(form.location).toBe('/')
  })
})
