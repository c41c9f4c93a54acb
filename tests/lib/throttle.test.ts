import { describe, expect, it } from 'vitest'
import { clientKey, lockoutSeconds, retryAfterSeconds } from '#lib/auth/throttle.ts'

describe('lockoutSeconds', () => {
  const policy = { lockoutSeconds: 60, maxLockoutSeconds: 3600 }
  it('doubles from the first lockout and stops at the longest', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => lockoutSeconds(n, policy))).toEqual([
      60, 120, 240, 480, 960, 1920, 3600, 3600,
    ])
  })
  it('stays finite for a very large count', () => {
    expect(lockoutSeconds(10_000, policy)).toBe(3600)
  })
})

describe('clientKey', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::ffff', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2::1', '2001:db8:1:2::/64'],
    ['::1', '::/64'],
  ])('%s is counted as %s', (ip, key) => {
    expect(clientKey(ip)).toBe(key)
  })
  it('keeps a value that is not an address as it is (API Gateway always sends one)', () => {
    expect(clientKey('unknown')).toBe('unknown')
  })
})

describe('retryAfterSeconds', () => {
  it('rounds up and never says 0', () => {
    expect([0, 1, 999, 1000, 1001].map(retryAfterSeconds)).toEqual([1, 1, 1, 1, 2])
  })
})
