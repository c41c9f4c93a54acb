import { describe, expect, it } from 'vitest'
import { signInsOf } from '#lib/auth/sign-ins.ts'

const at = (iso: string) => new Date(iso)

describe('signInsOf', () => {
  it('the newest session: this sign-in and the one recorded before it', () => {
    const user = { lastLoginTime: at('2026-12-01T04:00:00.731Z'), previousLoginTime: at('2026-11-30T18:12:09.004Z') }
    // the session starts at the login time cut to whole seconds; the recorded one is shown
    expect(signInsOf(user, { createdAt: at('2026-12-01T04:00:00Z') })).toEqual({
      current: at('2026-12-01T04:00:00.731Z'),
      previous: at('2026-11-30T18:12:09.004Z'),
      newer: null,
    })
  })

  it('the first sign-in of an account has none before it', () => {
    const user = { lastLoginTime: at('2026-12-01T04:00:00.100Z'), previousLoginTime: null }
    expect(signInsOf(user, { createdAt: at('2026-12-01T04:00:00Z') }).previous).toBeNull()
  })

  it('an older session learns of the newer sign-in instead of a wrong "before"', () => {
    const user = { lastLoginTime: at('2026-12-01T05:00:01.500Z'), previousLoginTime: at('2026-12-01T04:00:00.100Z') }
    expect(signInsOf(user, { createdAt: at('2026-12-01T04:00:00Z') })).toEqual({
      current: at('2026-12-01T04:00:00Z'),
      previous: null,
      newer: at('2026-12-01T05:00:01.500Z'),
    })
  })
})
