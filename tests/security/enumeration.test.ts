// ASVS 5.0 6.3.8 (Level 3, listed because the security issue asks for it by number): an unknown
// user and a wrong password are answered alike, in status, body, page and time. Its own file so the
// service runs at the production bcrypt cost, where the comparison is what a sign-in's time is made of.
import { describe, expect, it } from 'vitest'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { expectProblem } from '../helpers/expect.ts'
import { useService } from '../helpers/service.ts'

const s = useService({ env: { LOGIN_MAX_FAILURES: '1000', LOGIN_CLIENT_MAX_FAILURES: '100000', BCRYPT_COST: '10' } })
const login = (username: string, password: string) => s.http.postJson('/login', { username, password })

describe('V6.3 General authentication security', () => {
  it('6.3.8 answers an unknown user and a wrong password alike: (about) the same time, the same page', async () => {
    const account = await s.register('enum')
    const unknown = () => login(uniqueUsername('ghost'), account.password)
    const wrong = () => login(account.username, strongPassword())
    // the same JSON body: tests/functions/login.test.ts › JSON: an unknown user and a wrong password …
    expectProblem(await unknown(), 401, 'invalid_credentials') // also warms the dummy hash up

    // timing: without the dummy bcrypt comparison an unknown user answers tens of times faster
    const timed = async (attempt: () => Promise<unknown>) => {
      const start = performance.now()
      await attempt()
      return performance.now() - start
    }
    const unknownTimes: number[] = []
    const wrongTimes: number[] = []
    for (let i = 0; i < 7; i++) {
      unknownTimes.push(await timed(unknown))
      wrongTimes.push(await timed(wrong))
    }
    const ratio = median(unknownTimes) / median(wrongTimes)
    expect(
      ratio,
      `unknown ${unknownTimes.map(Math.round)} ms vs wrong ${wrongTimes.map(Math.round)} ms`,
    ).toBeGreaterThan(1 / 3)
    expect(ratio).toBeLessThan(3)

    // the HTML form says the same for both: the same page but for the username it keeps
    const ghost = uniqueUsername('ghost')
    const formUnknown = await s.http.postForm('/login', { username: ghost, password: 'whatever it is here' })
    const formWrong = await s.http.postForm('/login', { username: account.username, password: 'whatever it is here' })
    expect([formUnknown.status, formWrong.status]).toEqual([401, 401])
    expect(formUnknown.text).toMatch(/<div class="alert"/)
    expect(formUnknown.text.replaceAll(ghost, 'NAME')).toBe(formWrong.text.replaceAll(account.username, 'NAME'))
  })
})

/** Median of a list of numbers. */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
