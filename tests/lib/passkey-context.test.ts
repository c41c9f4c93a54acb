// Where a page may offer passkeys: a secure context (HTTPS through a trusted proxy, or a loopback
// name) and a domain name to bind them to. Elsewhere the page says why instead.
import { describe, expect, it } from 'vitest'
import { passkeyContextOf } from '#lib/http/passkey-context.ts'

const scenarios = [
  {
    name: 'HTTPS behind the front door, by name → offered, RP ID the name, origin without the default port',
    request: { secure: true, host: 'Gateway.Example.com:443' },
    expect: { available: true, rpId: 'gateway.example.com', origin: 'https://gateway.example.com' },
  },
  {
    name: 'HTTPS on another port → offered, the port is part of the origin',
    request: { secure: true, host: 'gateway.local:8443' },
    expect: { available: true, rpId: 'gateway.local', origin: 'https://gateway.local:8443' },
  },
  {
    name: 'plain HTTP on localhost → offered (a browser treats it as secure)',
    request: { secure: false, host: 'localhost:8085' },
    expect: { available: true, rpId: 'localhost', origin: 'http://localhost:8085' },
  },
  {
    name: 'plain HTTP on a name under .localhost → offered',
    request: { secure: false, host: 'auth.localhost' },
    expect: { available: true, rpId: 'auth.localhost', origin: 'http://auth.localhost' },
  },
  {
    name: 'plain HTTP on the LAN by name → hidden: not a secure context',
    request: { secure: false, host: 'rak7268.local' },
    expect: { available: false, reason: 'insecure' },
  },
  {
    name: 'plain HTTP on the LAN by address → hidden: not a secure context',
    request: { secure: false, host: '192.168.1.20:8085' },
    expect: { available: false, reason: 'insecure' },
  },
  {
    name: 'plain HTTP on 127.0.0.1 → hidden: secure, but an address cannot be an RP ID',
    request: { secure: false, host: '127.0.0.1:8085' },
    expect: { available: false, reason: 'address' },
  },
  {
    name: 'plain HTTP on [::1] → hidden: an address',
    request: { secure: false, host: '[::1]:8085' },
    expect: { available: false, reason: 'address' },
  },
  {
    name: 'HTTPS by address → hidden: an address',
    request: { secure: true, host: '10.0.0.5' },
    expect: { available: false, reason: 'address' },
  },
  {
    name: 'no Host (HTTP/1.0) → hidden',
    request: { secure: true, host: undefined },
    expect: { available: false, reason: 'insecure' },
  },
  {
    name: 'a Host that names no one host → hidden',
    request: { secure: true, host: 'a.example,b.example' },
    expect: { available: false, reason: 'insecure' },
  },
]

describe('passkeyContextOf', () => {
  it.each(scenarios)('$name', ({ request, expect: expected }) => {
    expect(passkeyContextOf(request)).toEqual(expected)
  })
})
