// A stored hash of a cost the service does not allow (issue 15, finding 3: an imported cost-17
// hash held a worker 19 s per wrong sign-in) is never run: the comparison goes against the dummy
// hash at the configured cost, fails, and says so in the log. And no bcrypt step of such a cost
// runs in a worker at all.
import { afterAll, describe, expect, it, vi } from 'vitest'
import bcrypt from 'bcryptjs'
import { createHashPool } from '#lib/auth/hash-pool.ts'
import { verifyPassword } from '#lib/auth/password.ts'
import runHashTask from '#lib/auth/hash-worker.ts'
import { createLogger } from '#lib/platform/log.ts'

const PASSWORD = 'harbor lantern quartz meadow'
const pool = createHashPool({ workers: 1, queue: 4, perClient: 4 })
afterAll(() => pool.close())

describe('a stored hash of a cost the service does not allow', () => {
  it('is compared as the dummy hash at the configured cost: false at once, and one warning line', async () => {
    let text = ''
    const log = createLogger('info', { write: (chunk: string) => void (text += chunk) })
    const run = vi.spyOn(pool, 'run')
    // cost 31 would take days: this test finishing at all shows it never ran
    const stored = `$2b$31$${bcrypt.hashSync(PASSWORD, 4).slice(7)}`
    const ctx = { pool, cost: 10, client: '192.0.2.9', log }
    expect(await verifyPassword(ctx, PASSWORD, stored)).toBe(false)
    expect(run).toHaveBeenCalledOnce()
    expect(run.mock.calls[0]![0]).toMatchObject({ op: 'compare', hash: expect.stringMatching(/^\$2b\$10\$/) })
    const lines = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
    expect(lines).toEqual([expect.objectContaining({ level: 40, event: 'password_hash_refused', cost: 31 })])
    expect(text).not.toContain(stored.slice(7))
  })

  it('is refused by the worker itself, for hashing and comparing alike', () => {
    expect(() => runHashTask({ op: 'hash', password: PASSWORD, cost: 16 })).toThrow(/cost 16/)
    expect(() => runHashTask({ op: 'compare', password: PASSWORD, hash: `$2b$20$${'a'.repeat(53)}` })).toThrow(
      /cost 20/,
    )
  })
})
