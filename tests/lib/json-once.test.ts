// lib/http/json-once.ts: a body serialised once per owner while its inputs are the same objects.
import { describe, expect, it } from 'vitest'
import { jsonOnce } from '#lib/http/json-once.ts'

const owner = {}
const user = { name: 'ada' }
const list = [1, 2]

describe('jsonOnce', () => {
  const scenarios: { name: string; second: { owner: object; inputs: unknown[] }; rebuilt: boolean }[] = [
    { name: 'the same objects: the body already serialised', second: { owner, inputs: [user, list] }, rebuilt: false },
    {
      name: 'an input replaced by an equal copy: built again',
      second: { owner, inputs: [{ ...user }, list] },
      rebuilt: true,
    },
    { name: 'an input that is now null: built again', second: { owner, inputs: [user, null] }, rebuilt: true },
    { name: 'one input fewer: built again', second: { owner, inputs: [user] }, rebuilt: true },
    {
      name: 'another owner with the same inputs: its own body',
      second: { owner: {}, inputs: [user, list] },
      rebuilt: true,
    },
  ]
  it('keeps the bodies of the most recently asked owners only', () => {
    const body = jsonOnce(2)
    let builds = 0
    const build = () => ++builds
    const [a, b, c] = [{}, {}, {}]
    for (const owner of [a, b, a, c]) body(owner, [user], build)
    expect(builds).toBe(3)
    body(a, [user], build)
    expect(builds, 'a was asked for after b: kept').toBe(3)
    body(b, [user], build)
    expect(builds, 'b was the least recently asked for when c came: dropped').toBe(4)
  })

  it.each(scenarios)('$name', ({ second, rebuilt }) => {
    const body = jsonOnce()
    let builds = 0
    const build = (inputs: unknown[]) => () => ({ build: ++builds, inputs })
    const first = body(owner, [user, list], build([user, list]))
    expect(JSON.parse(first)).toEqual({ build: 1, inputs: [user, list] })
    const again = body(second.owner, second.inputs, build(second.inputs))
    expect(builds).toBe(rebuilt ? 2 : 1)
    expect(JSON.parse(again)).toEqual({ build: builds, inputs: second.inputs })
  })
})
