// The rules of lib/http/connection-limits.ts on their own: who may hold how many connections, which
// one is closed for a newcomer when all are taken, and the budget of body bytes being read.
import { describe, expect, it } from 'vitest'
import { BodyBudget, ConnectionTable, bodyBytesToRead, proxyConnectionCap } from '#lib/http/connection-limits.ts'
import type { ConnectionLimits } from '#lib/platform/config.ts'

const LIMITS: ConnectionLimits = {
  connections: 8,
  connectionsPerClient: 4,
  bodyBytesInFlight: 1_048_576,
  requestTimeoutSeconds: 30,
  heapShedPercent: 80,
}
const PROXY = '10.0.0.1'

/** A table of named connections; `answering` names those whose request is being answered. */
function table(answering = new Set<string>(), limits = LIMITS) {
  return new ConnectionTable<string>(limits, (connection) => !answering.has(connection))
}
const arriving = (peer: string, heapShort = false) => ({ heapShort, trustedProxy: peer === PROXY })
const fill = (t: ConnectionTable<string>, peer: string, count: number) => {
  for (let i = 0; i < count; i++) expect(t.admit(peer, `${peer}#${i}`, arriving(peer))).toEqual({ admitted: true })
}

describe('ConnectionTable', () => {
  it.each([
    ['a client up to MAX_CONNECTIONS_PER_CLIENT', 'a', 4, { admitted: false, refusal: 'client_connections' }],
    [
      'a trusted proxy up to three quarters of MAX_CONNECTIONS',
      PROXY,
      6,
      { admitted: false, refusal: 'proxy_connections' },
    ],
  ])('admits %s, then refuses', (_name, peer, cap, refused) => {
    const t = table()
    fill(t, peer, cap)
    expect(t.admit(peer, 'one more', arriving(peer))).toEqual(refused)
    expect(t.heldBy(peer)).toBe(cap)
    expect(t.admit('another', 'another#0', arriving('another'))).toEqual({ admitted: true })
  })

  it('admits a client again once one of its connections has closed', () => {
    const t = table()
    fill(t, 'a', 4)
    t.release('a', 'a#0')
    expect(t.admit('a', 'a#4', arriving('a'))).toEqual({ admitted: true })
    t.release('a', 'a#0') // a second close of the same connection changes nothing
    expect(t.heldBy('a')).toBe(4)
  })

  it('when all are taken, closes the oldest unanswered connection of the largest holder for a newcomer', () => {
    const answering = new Set(['a#0'])
    const t = table(answering)
    fill(t, 'a', 4)
    fill(t, 'b', 3)
    fill(t, 'c', 1)
    expect(t.total).toBe(8)
    expect(t.admit('health', 'health#0', arriving('health'))).toEqual({ admitted: true, evict: 'a#1' })
    expect([t.total, t.heldBy('a')]).toEqual([8, 3])
    // the next newcomer must not be given the same one: it is out of the table already
    expect(t.admit('d', 'd#0', arriving('d'))).toEqual({ admitted: true, evict: 'a#2' })
  })

  it('when all are taken, refuses a peer that holds as many as the largest holder less one', () => {
    const t = table()
    fill(t, 'a', 4)
    fill(t, 'b', 4)
    expect(t.admit('b', 'b#4', arriving('b'))).toEqual({ admitted: false, refusal: 'client_connections' })
    const limits = { ...LIMITS, connectionsPerClient: 8 }
    const even = table(new Set(), limits)
    fill(even, 'a', 4)
    fill(even, 'b', 4)
    expect(even.admit('b', 'b#4', arriving('b'))).toEqual({ admitted: false, refusal: 'connections' })
    expect(even.admit('a', 'a#4', arriving('a'))).toEqual({ admitted: false, refusal: 'connections' })
  })

  it('when all are taken and every connection of the largest holder is being answered, refuses', () => {
    const t = table(new Set(['a#0', 'a#1', 'a#2', 'a#3']))
    fill(t, 'a', 4)
    fill(t, 'b', 4)
    expect(t.admit('c', 'c#0', arriving('c'))).toEqual({ admitted: false, refusal: 'connections' })
  })

  it('while the heap is short, gives a peer that holds a connection no other, and a new one its first', () => {
    const t = table()
    fill(t, 'a', 1)
    expect(t.admit('a', 'a#1', arriving('a', true))).toEqual({ admitted: false, refusal: 'heap' })
    expect(t.admit(PROXY, 'p#0', arriving(PROXY, true))).toEqual({ admitted: true })
    expect(t.admit(PROXY, 'p#1', arriving(PROXY, true))).toEqual({ admitted: false, refusal: 'heap' })
    expect(t.admit('health', 'health#0', arriving('health', true))).toEqual({ admitted: true })
  })

  it('gives a trusted proxy at least one connection whatever the limits', () => {
    expect(proxyConnectionCap({ ...LIMITS, connections: 1 })).toBe(1)
    expect(proxyConnectionCap({ ...LIMITS, connections: 512 })).toBe(384)
  })
})

describe('bodyBytesToRead', () => {
  it.each([
    [{}, 0],
    [{ 'content-length': '0' }, 0],
    [{ 'content-length': '120' }, 120],
    [{ 'content-length': '16384' }, 16_384],
    // refused with 413 without being read: nothing to hold
    [{ 'content-length': '16385' }, 0],
    [{ 'transfer-encoding': 'chunked' }, 16_385],
  ])('%j takes %i bytes', (headers, bytes) => {
    expect(bodyBytesToRead(headers)).toBe(bytes)
  })
})

describe('BodyBudget', () => {
  it('takes bodies while they fit, refuses the one that does not without taking anything, and gets them back', () => {
    const budget = new BodyBudget(20_000)
    expect(budget.reserve(16_000)).toBe(true)
    expect(budget.fits(4_001)).toBe(false)
    expect(budget.reserve(16_000)).toBe(false)
    expect(budget.reservedBytes).toBe(16_000)
    expect(budget.reserve(4_000)).toBe(true)
    budget.release(16_000)
    expect(budget.reserve(16_000)).toBe(true)
    expect(budget.reservedBytes).toBe(20_000)
  })
})
