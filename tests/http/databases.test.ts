// What may differ between the embedded PostgreSQL and a server: timestamps, the migration history,
// and the whole account life cycle through both (names in any letter case, raced: concurrency.test.ts).
// The route tables run once, against the first database kind (tests/functions/).
import { describe, expect, it } from 'vitest'
import { databaseKinds } from '../helpers/runtime.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { CookieJar } from '../helpers/http.ts'
import { expectProblem } from '../helpers/expect.ts'
import { useService } from '../helpers/service.ts'

describe.each(databaseKinds())('on the %s database', (kind) => {
  const s = useService({ kind })

  it('an account lives its whole life: register, sign in, dashboard, password change, sign out', async () => {
    const account = { username: uniqueUsername('life'), password: strongPassword() }
    const created = await s.http.postJson('/register', account)
    expect(created.status).toBe(201)
    const login = await s.http.postJson('/login', account)
    expect(login.status).toBe(200)
    const token = login.json.access_token as string

    const dashboard = await s.http.getJson(`/dashboard/${account.username}`, { bearer: token })
    expect(dashboard.status).toBe(200)
    expect(dashboard.json.user).toMatchObject({ username: account.username, created_at: created.json.user.created_at })
    // the login time the database kept is the one the login answered with, to the millisecond
    expect(dashboard.json.user.last_login_time).toBe(login.json.user.last_login_time)

    const newPassword = strongPassword()
    const changed = await s.http.postJson(
      '/password',
      { current_password: account.password, new_password: newPassword },
      { bearer: token },
    )
    expect(changed.status).toBe(204)
    expect((await s.http.postJson('/login', account)).status).toBe(401)

    const jar = new CookieJar()
    expect(
      (
        await s.http.postForm(
          '/login',
          { username: account.username, password: newPassword },
          { jar, sameOrigin: true },
        )
      ).status,
    ).toBe(303)
    expect((await s.http.postForm('/logout', {}, { jar, sameOrigin: true })).status).toBe(303)
    expect((await s.http.postJson('/logout', {}, { bearer: token })).status).toBe(204)
    expectProblem(await s.http.getJson(`/dashboard/${account.username}`, { bearer: token }), 401, 'unauthorized')
  })

  it('the schema is the migrations, applied once and recorded', async () => {
    const tables = await s.runtime.db.map(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`,
      [],
      (row) => row.table_name as string,
    )
    expect(tables).toEqual(expect.arrayContaining(['pgmigrations', 'sessions', 'throttle', 'users']))
  })
})
