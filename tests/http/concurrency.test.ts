// Simultaneous registrations of one name (in several letter cases): the unique index decides,
// exactly one request wins and every other one is a clean 409, never a 5xx.
import { describe, expect, it } from 'vitest'
import { databaseKinds } from '../helpers/runtime.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { expectProblem } from '../helpers/expect.ts'
import { useService } from '../helpers/service.ts'

const PARALLEL = 8

/** Eight spellings of one name: as given, lower, upper and mixed cases. */
function variants(name: string): string[] {
  const flip = (pick: (i: number) => boolean) =>
    [...name].map((c, i) => (pick(i) ? c.toUpperCase() : c.toLowerCase())).join('')
  const all = [
    name,
    name.toLowerCase(),
    name.toUpperCase(),
    flip((i) => i % 2 === 0),
    flip((i) => i % 2 === 1),
    flip((i) => i % 3 === 0),
    flip((i) => i < name.length / 2),
    flip((i) => i >= name.length / 2),
  ]
  return all.slice(0, PARALLEL)
}

describe.each(databaseKinds())('simultaneous registrations (%s database)', (kind) => {
  const s = useService({ kind })

  it.each([
    ['the same spelling', (name: string) => Array<string>(PARALLEL).fill(name)],
    ['mixed letter cases', variants],
  ])(`${PARALLEL} at once with %s: exactly one 201, the others 409 username_taken`, async (_label, spell) => {
    const name = uniqueUsername('Race')
    const names = spell(name)
    expect(names).toHaveLength(PARALLEL)
    const attempts = names.map((username) => ({ username, password: strongPassword() }))
    const replies = await Promise.all(attempts.map((body) => s.http.postJson('/register', body)))

    expect(replies.filter((r) => r.status >= 500)).toEqual([])
    expect(replies.map((r) => r.status).sort()).toEqual([201, ...Array<number>(PARALLEL - 1).fill(409)])
    for (const reply of replies.filter((r) => r.status === 409)) expectProblem(reply, 409, 'username_taken')

    // the one account is the winner's: its spelling and its password
    const winner = attempts[replies.findIndex((r) => r.status === 201)]!
    const created = replies.find((r) => r.status === 201)!.json.user
    expect(created.username).toBe(winner.username)
    const login = await s.http.postJson('/login', { username: name.toLowerCase(), password: winner.password })
    expect(login.status).toBe(200)
    expect(login.json.user.id).toBe(created.id)
  })
})
