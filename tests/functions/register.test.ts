import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handler } from '#functions/register.ts'
import { findUserByUsername } from '#lib/users.ts'
import { invoke, jsonBody } from '../helpers/events.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { serverDatabaseUrl, startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'

describe.skipIf(!serverDatabaseUrl())('POST /register (handler, server database)', () => {
  let t: TestRuntime
  beforeAll(async () => {
    t = await startTestRuntime('server')
  })
  afterAll(() => t?.stop())

  it('creates the account and answers 201 with id, username and created_at, never the hash', async () => {
    const username = uniqueUsername('Alice')
    const password = strongPassword()
    const result = await invoke(handler, { path: '/register', json: { username, password } })
    expect(result.statusCode).toBe(201)
    const body = jsonBody(result)
    expect(body.user).toMatchObject({ id: expect.any(String), username, created_at: expect.any(String) })
    expect(result.body).not.toContain(password)
    expect(result.body).not.toContain('$2')
    const stored = await findUserByUsername(t.runtime.db, username.toLowerCase())
    expect(stored?.username).toBe(username)
    expect(stored?.passwordHash).toMatch(/^\$2[aby]\$10\$/)
  })
})
