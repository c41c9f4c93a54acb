// A bad ACCESS_RULES file stops the start, before any database is opened, with one line per
// problem naming the file and the line: what an operator reads on the gateway's console.
import { describe, expect, it } from 'vitest'
import { spawnService } from '../helpers/service-process.ts'
import { writeRules } from '../helpers/front-door.ts'

describe('starting with ACCESS_RULES', () => {
  it('refuses a bad rules file, naming each bad line, and exits 1', async () => {
    const file = await writeRules(
      'rules:\n  - host: gateway.local\n    allow: everyone\n  - host: a/b\n    allow: bypass\n',
    )
    const start = spawnService({ ACCESS_RULES: file, DATA_DIR: `${file}.data` })
    const error = await start.then(
      () => new Error('the service started'),
      (failure: Error) => failure,
    )
    expect(error.message).toMatch(/exited before listening: \{"code":1/)
    expect(error.message).toContain(`gateway-auth: ${file} line 3: rules[0].allow`)
    expect(error.message).toMatch(new RegExp(`gateway-auth: ${file} line 4: rules\\[1\\]\\.host.*"a/b" is not a host`))
  })
})
