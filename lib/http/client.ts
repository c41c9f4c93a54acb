// Who is asking, and over what. The socket's peer is the client unless it is a proxy named in
// TRUST_PROXY; only then are its X-Forwarded-For and X-Forwarded-Proto believed (proxy-addr, the
// same rules as Express's "trust proxy"). Events that did not come through our Express adapter
// came through API Gateway, which serves HTTPS only and already puts the client in sourceIp.
// A forwarded address is read into its one canonical form before anything counts it, so that
// `203.0.113.20:1234`, `[203.0.113.20]` and `::ffff:203.0.113.20` are one client (issue 15);
// one that cannot be read unambiguously is refused, never counted as a client of its own.
import ipaddr from 'ipaddr.js'
import proxyAddr from 'proxy-addr'
import type { IncomingMessage } from 'node:http'
import { Problem } from '../problem.ts'

/** The apiId the Express adapter stamps on its events (API Gateway's are random ids). */
export const LOCAL_API_ID = 'gateway-auth-local'

interface ClientInput {
  readonly sourceIp: string
  readonly apiId: string | undefined
  readonly headers: Record<string, string | undefined>
}

// Parsing an address (ipaddr.js) was the largest share of an authenticated request's CPU time in
// the profile (issue 19), for the same few peers and forwarded addresses over and over: each answer
// is remembered, at most MEMO_SIZE of them and none longer than an address can be (emptied when
// full, so a flood of new addresses costs what it did before and no more than ~100 KB).
const MEMO_SIZE = 1024
const MEMO_KEY_LENGTH = 64
function memoized<T>(compute: (text: string) => T): (text: string) => T {
  const memo = new Map<string, T>()
  return (text) => {
    if (text.length > MEMO_KEY_LENGTH) return compute(text)
    let value = memo.get(text)
    if (value === undefined && !memo.has(text)) {
      value = compute(text)
      if (memo.size >= MEMO_SIZE) memo.clear()
      memo.set(text, value)
    }
    return value as T
  }
}

// proxy-addr's compiled list trusts an address whatever its hop, so the hop is no part of the key
const compiled = new Map<string, (address: string, hop?: number) => boolean>()
function trustFunction(trustProxy: readonly string[]) {
  const key = trustProxy.join(',')
  let trust = compiled.get(key)
  if (!trust) {
    const check = trustProxy.length ? proxyAddr.compile([...trustProxy]) : () => false
    trust = memoized((address) => check(address, 0))
    compiled.set(key, trust)
  }
  return trust
}

/** The client's address and whether the request arrived over HTTPS. */
export function identifyClient(input: ClientInput, trustProxy: readonly string[]): { ip: string; secure: boolean } {
  if (input.apiId !== LOCAL_API_ID) return { ip: input.sourceIp, secure: true }
  const trust = trustFunction(trustProxy)
  const request = {
    connection: { remoteAddress: input.sourceIp },
    socket: { remoteAddress: input.sourceIp },
    headers: { 'x-forwarded-for': input.headers['x-forwarded-for'] },
  } as unknown as IncomingMessage
  const chosen = proxyAddr(request, trust)
  const ip = canonicalAddress(chosen)
  if (ip === null && chosen !== input.sourceIp) {
    throw new Problem('validation_failed', {
      detail: 'The X-Forwarded-For header of the trusted proxy does not name one IP address.',
    })
  }
  const peerTrusted = trust(input.sourceIp, 0)
  // as Express does: the first X-Forwarded-Proto value, believed only from a trusted peer
  const forwardedProto = input.headers['x-forwarded-proto']?.split(',')[0]?.trim().toLowerCase()
  return { ip: ip ?? chosen, secure: peerTrusted && forwardedProto === 'https' }
}

const BRACKETED = /^\[([^\]]+)\](?::(\d{1,5}))?$/
const IPV4_WITH_PORT = /^([\d.]+):(\d{1,5})$/

/**
 * The canonical text of an address as a proxy may forward it: brackets, a port and an IPv6 zone
 * dropped, IPv6 compressed and lower case, an IPv4-mapped IPv6 address as its IPv4 address. Null
 * for anything else, and for IPv4 with leading zeros or fewer than four parts (`203.0.113.020` is
 * octal to some parsers and decimal to others).
 */
export const canonicalAddress: (value: string) => string | null = memoized(readCanonicalAddress)

function readCanonicalAddress(value: string): string | null {
  let text = value.trim()
  let port: string | undefined
  const parts = BRACKETED.exec(text) ?? IPV4_WITH_PORT.exec(text)
  if (parts) [, text = '', port] = parts
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65535)) return null
  // a zone (fe80::1%eth0, or %25eth0 in a URI) names an interface of the sender, not the host
  text = text.replace(/%.*$/, '')
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text).toString()
  if (!text.includes(':') || !ipaddr.IPv6.isValid(text)) return null
  return ipaddr.process(text).toString()
}

/** True when the socket's peer is a proxy named in TRUST_PROXY (never on Lambda: no proxy of ours there). */
export function isTrustedProxy(sourceIp: string, apiId: string | undefined, trustProxy: readonly string[]): boolean {
  return apiId === LOCAL_API_ID && trustFunction(trustProxy)(sourceIp, 0)
}
