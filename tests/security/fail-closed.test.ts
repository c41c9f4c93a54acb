// ASVS 16.5.3: when the database fails part-way through a sign-in, no session is issued and
// nothing is half-written. The failures are real PostgreSQL errors, raised by a trigger at the
// exact step under test, in the service's own schema.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { databaseKinds } from '../helpers/runtime.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { client, type Client } from '../helpers/http.ts'
import { expectNoSecrets } from '../helpers/expect.ts'
import { startService, type TestService } from '../helpers/service.ts'

// a full disk is a bug-shaped failure (500); an administrator shutdown means "database gone" (503)
const FAILURES = [
  { sqlstate: '53100', status: 500, code: 'internal_error' },
  { sqlstate: '57P01', status: 503, code: 'service_unavailable' },
] as const
// the steps of a sign-in that touch the database: the throttle counter, the login time, the session row
const STEPS = [
  { table: 'throttle', when: 'BEFORE INSERT OR UPDATE' },
  { table: 'users', when: 'BEFORE UPDATE' },
  { table: 'sessions', when: 'BEFORE INSERT' },
] as const

describe.skipIf(databaseKinds()[0] !== 'server')('fail closed (ASVS 16.5.3)', () => {
  let service: TestService
  let http: Client
  const account = { username: uniqueUsername('fc'), password: strongPassword() }

  beforeAll(async () => {
    service = await startService({ kind: 'server', env: {}, captureLogs: true })
    http = client(service.baseUrl)
    expect((await http.postJson('/register', account)).status).toBe(201)
  })
  afterEach(async () => {
    for (const { table } of STEPS) await service.runtime.db.none('DROP TRIGGER IF EXISTS fail_here ON $1:name', [table])
  })
  afterAll(() => service?.stop())

  const state = () =>
    service.runtime.db.one(
      `SELECT (SELECT count(*)::int FROM sessions) AS sessions,
              (SELECT last_login_time FROM users WHERE username = $1) AS last_login`,
      [account.username],
    )

  it('16.5.3 issues no session when the database fails during login', async () => {
    for (const failure of FAILURES) {
      await service.runtime.db.none(`
        CREATE OR REPLACE FUNCTION fail_here() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'injected failure' USING ERRCODE = '${failure.sqlstate}'; END $$`)
      for (const step of STEPS) {
        const label = `${step.table} fails with ${failure.sqlstate}`
        await service.runtime.db.none(
          `CREATE TRIGGER fail_here ${step.when} ON $1:name FOR EACH ROW EXECUTE FUNCTION fail_here()`,
          [step.table],
        )
        const before = await state()

        const json = await http.postJson('/login', account)
        expect(json.status, label).toBe(failure.status)
        expect(json.json?.code, label).toBe(failure.code)
        expect(json.json, label).not.toHaveProperty('access_token')
        expect(json.json?.detail, `${label}: a 5xx says nothing of its cause`).toBeUndefined()
        expectNoSecrets(json.text, [account.password])
        expect(json.text).not.toContain('injected failure')

        const form = await http.postForm('/login', account)
        expect(form.status, label).toBe(failure.status)
        expect(form.location, label).toBeNull()
        expect(
          form.setCookies.filter((line) => /^(__Host-)?session=[^;]/.test(line)),
          label,
        ).toEqual([])
        expect(form.text).not.toContain('injected failure')

        // nothing half-written: no session row, the login time untouched
        expect(await state(), label).toEqual(before)
        await service.runtime.db.none('DROP TRIGGER fail_here ON $1:name', [step.table])
      }
    }
    // the cause is in the log, for the operator
    const errors = service.logs().filter((line) => line.event === 'request_failed')
    expect(errors.length).toBeGreaterThanOrEqual(FAILURES.length * STEPS.length * 2)
    expect(JSON.stringify(errors)).toContain('injected failure')
    // and once the database is well again, the same sign-in works
    expect((await http.postJson('/login', account)).status).toBe(200)
  })
})
