// The bcrypt pool's order: real worker threads (piscina) running real bcryptjs comparisons.
import { afterAll, describe, expect, it } from 'vitest'
import bcrypt from 'bcryptjs'
import { createHashPool } from '#lib/auth/hash-pool.ts'

const PASSWORD = 'harbor lantern quartz meadow'
const pool = createHashPool({ workers: 1, queue: 64, perClient: 100 })
afterAll(() => pool.close())

describe('the bcrypt pool', () => {
  it('serves tasks in the order they came, while every client resubmits the moment it is answered', async () => {
    const hash = bcrypt.hashSync(PASSWORD, 4)
    const compare = (client: string) => pool.run({ op: 'compare', password: PASSWORD, hash }, client)
    const finished: string[] = []
    // four scripts that sign in again the moment each answer comes back, one worker for them all
    const script = async (name: string) => {
      for (let i = 0; i < 15; i++) {
        expect(await compare(name)).toBe(true)
        finished.push(name)
      }
    }
    await Promise.all(['a', 'b', 'c', 'd'].map(script))
    // first come, first served: each client's first comparison is among the first four answered.
    // (piscina alone gives a worker that comes free to the task submitted at that moment, so the
    // fourth client waited until the other three had finished all of theirs.)
    for (const name of ['a', 'b', 'c', 'd']) expect(finished.indexOf(name), name).toBeLessThan(4)
    expect(pool.pending).toBe(0)
  })
})
