import { describe, expect, it } from 'vitest'
import { hostOf, isAllowedHost, machineHostNames } from '#lib/http/host-check.ts'
import { LOCAL_API_ID } from '#lib/http/client.ts'

const gateway = { requestContext: { apiId: LOCAL_API_ID, domainName: '192.168.1.20:8085' } } as never
const lambda = {
  requestContext: { apiId: 'abc123', domainName: 'abc123.execute-api.eu-west-1.amazonaws.com' },
} as never

describe('hostOf', () => {
  it('reads one host: lower case, without port, brackets or a final dot', () => {
    expect(hostOf('Example.COM.:8085')).toBe('example.com')
    expect(hostOf('[FE80::1]:80')).toBe('fe80::1')
    expect(hostOf('192.168.1.20')).toBe('192.168.1.20')
    expect(hostOf('localhost:65535')).toBe('localhost')
  })
  it('is null for anything but one host: repeated Host headers joined, user info, paths, empty', () => {
    for (const value of [
      'a.example,b.example',
      'a.example, a.example',
      'user@a.example',
      'a.example/x',
      '',
      ':80',
      '[nonsense]',
      'a b',
      // a port out of range (the external probe sent localhost:99999)
      'localhost:99999',
      'localhost:65536',
      'localhost:0',
      '[::1]:70000',
    ]) {
      expect(hostOf(value), value).toBeNull()
    }
  })
})

describe('isAllowedHost', () => {
  it('on a gateway allows IP literals, localhost and the machine names, and nothing else by default', () => {
    for (const host of ['10.1.2.3', 'fe80::1', 'localhost', ...machineHostNames()])
      expect(isAllowedHost(host, [], gateway), host).toBe(true)
    for (const host of ['evil.example', 'localhost.evil.example', 'abc123.execute-api.eu-west-1.amazonaws.com']) {
      expect(isAllowedHost(host, [], gateway), host).toBe(false)
    }
  })
  it('on Lambda allows the API Gateway domain the request came in on, not IP literals', () => {
    expect(isAllowedHost('abc123.execute-api.eu-west-1.amazonaws.com', [], lambda)).toBe(true)
    for (const host of ['127.0.0.1', 'localhost', 'evil.example'])
      expect(isAllowedHost(host, [], lambda), host).toBe(false)
  })
  it('adds ALLOWED_HOSTS entries: a name, a domain with its subdomains, or any name', () => {
    const allowed = ['auth.example.com', '.lan.example']
    for (const host of ['auth.example.com', 'lan.example', 'gw.lan.example'])
      expect(isAllowedHost(host, allowed, lambda), host).toBe(true)
    for (const host of ['xauth.example.com', 'evillan.example', 'lan.example.evil'])
      expect(isAllowedHost(host, allowed, lambda), host).toBe(false)
    expect(isAllowedHost('anything.example', ['*'], gateway)).toBe(true)
  })
  it('knows balena names from BALENA_DEVICE_UUID', () => {
    const uuid = '0123456789abcdef0123456789abcdef'
    expect(machineHostNames({ BALENA_DEVICE_UUID: uuid }, 'Gateway-1')).toEqual([
      'localhost',
      'gateway-1',
      'gateway-1.local',
      '0123456',
      '0123456.local',
      `${uuid}.balena-devices.com`,
    ])
    expect(machineHostNames({ BALENA_DEVICE_UUID: 'not a uuid' }, 'gw')).toEqual(['localhost', 'gw', 'gw.local'])
  })
})
