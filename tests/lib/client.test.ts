import { describe, expect, it } from 'vitest'
import { identifyClient, LOCAL_API_ID } from '#lib/http/client.ts'

const local = (sourceIp: string, headers: Record<string, string> = {}) => ({ sourceIp, apiId: LOCAL_API_ID, headers })

describe('identifyClient', () => {
  describe('behind API Gateway', () => {
    it('takes sourceIp as the client and the request as HTTPS, whatever the headers say', () => {
      const input = {
        sourceIp: '203.0.113.7',
        apiId: 'abc123',
        headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'http' },
      }
      expect(identifyClient(input, [])).toEqual({ ip: '203.0.113.7', secure: true })
      expect(identifyClient(input, ['203.0.113.7'])).toEqual({ ip: '203.0.113.7', secure: true })
    })

    it('treats a missing apiId as API Gateway too', () => {
      expect(identifyClient({ sourceIp: '203.0.113.8', apiId: undefined, headers: {} }, [])).toEqual({
        ip: '203.0.113.8',
        secure: true,
      })
    })
  })

  describe('through the Express adapter', () => {
    it('takes the socket peer as the client over plain HTTP when nothing is trusted', () => {
      expect(identifyClient(local('192.168.1.50'), [])).toEqual({ ip: '192.168.1.50', secure: false })
    })

    it("ignores an untrusted peer's X-Forwarded-For and X-Forwarded-Proto", () => {
      const input = local('192.168.1.50', { 'x-forwarded-for': '10.9.9.9', 'x-forwarded-proto': 'https' })
      expect(identifyClient(input, [])).toEqual({ ip: '192.168.1.50', secure: false })
      expect(identifyClient(input, ['10.0.0.2'])).toEqual({ ip: '192.168.1.50', secure: false })
    })

    it("believes a trusted proxy's X-Forwarded-For and X-Forwarded-Proto", () => {
      const input = local('10.0.0.2', { 'x-forwarded-for': '192.168.1.77', 'x-forwarded-proto': 'https' })
      expect(identifyClient(input, ['10.0.0.2'])).toEqual({ ip: '192.168.1.77', secure: true })
    })

    it('trusts a proxy by subnet and by the loopback keyword', () => {
      const input = (peer: string) => local(peer, { 'x-forwarded-for': '192.168.1.77', 'x-forwarded-proto': 'HTTPS' })
      expect(identifyClient(input('10.1.2.3'), ['10.0.0.0/8'])).toEqual({ ip: '192.168.1.77', secure: true })
      expect(identifyClient(input('127.0.0.1'), ['loopback'])).toEqual({ ip: '192.168.1.77', secure: true })
      expect(identifyClient(input('11.1.2.3'), ['10.0.0.0/8'])).toEqual({ ip: '11.1.2.3', secure: false })
    })

    it('does not let a client spoof its address through a trusted proxy: the nearest untrusted hop wins', () => {
      const input = local('10.0.0.2', { 'x-forwarded-for': '6.6.6.6, 192.168.1.77' })
      expect(identifyClient(input, ['10.0.0.2']).ip).toBe('192.168.1.77')
    })

    it('counts every spelling of one address a trusted proxy may forward as that one address', () => {
      const spellings = [
        ['203.0.113.20', '203.0.113.20'],
        ['203.0.113.20:1234', '203.0.113.20'],
        ['[203.0.113.20]', '203.0.113.20'],
        ['[203.0.113.20]:1234', '203.0.113.20'],
        [' 203.0.113.20 ', '203.0.113.20'],
        ['::ffff:203.0.113.20', '203.0.113.20'],
        ['[::ffff:203.0.113.20]:80', '203.0.113.20'],
        ['2001:DB8:0:0::1', '2001:db8::1'],
        ['[2001:db8::1]', '2001:db8::1'],
        ['[2001:db8::1]:443', '2001:db8::1'],
        ['fe80::1%eth0', 'fe80::1'],
        ['[fe80::1%25eth0]:443', 'fe80::1'],
      ]
      for (const [forwarded, canonical] of spellings) {
        const input = local('127.0.0.1', { 'x-forwarded-for': forwarded! })
        expect(identifyClient(input, ['loopback']).ip, forwarded).toBe(canonical)
      }
    })

    it('refuses a forwarded address it cannot read as one with 400, rather than count it as a client of its own', () => {
      // 203.0.113.020 is 203.0.113.16 to inet_aton (octal) and 203.0.113.20 to others: ambiguous
      for (const forwarded of [
        '203.0.113.020',
        '0xcb.0.113.20',
        '203.0.113',
        'not-an-address',
        '[203.0.113.20',
        '1.2.3.4:99999',
      ]) {
        const input = local('127.0.0.1', { 'x-forwarded-for': forwarded })
        expect(() => identifyClient(input, ['loopback']), forwarded).toThrow(
          expect.objectContaining({ code: 'validation_failed', message: expect.stringMatching(/X-Forwarded-For/) }),
        )
      }
    })

    it('walks back through a chain of trusted proxies', () => {
      const input = local('10.0.0.2', { 'x-forwarded-for': '192.168.1.77, 10.0.0.3' })
      expect(identifyClient(input, ['10.0.0.2', '10.0.0.3']).ip).toBe('192.168.1.77')
    })

    it('is not secure when a trusted proxy says http or says nothing', () => {
      expect(identifyClient(local('10.0.0.2', { 'x-forwarded-proto': 'http' }), ['10.0.0.2']).secure).toBe(false)
      expect(identifyClient(local('10.0.0.2'), ['10.0.0.2'])).toEqual({ ip: '10.0.0.2', secure: false })
    })
  })
})
