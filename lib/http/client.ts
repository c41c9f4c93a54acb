// Who is asking, and over what. The socket's peer is the client unless it is a proxy named in
// TRUST_PROXY; only then are its X-Forwarded-For and X-Forwarded-Proto believed (proxy-addr, the
// same rules as Express's "trust proxy"). Events that did not come through our Express adapter
// came through API Gateway, which serves HTTPS only and already puts the client in sourceIp.
import proxyAddr from 'proxy-addr'
import type { IncomingMessage } from 'node:http'

/** The apiId the Express adapter stamps on its events (API Gateway's are random ids). */
export const LOCAL_API_ID = 'gateway-auth-local'

interface ClientInput {
  readonly sourceIp: string
  readonly apiId: string | undefined
  readonly headers: Record<string, string | undefined>
}

const compiled = new Map<string, (address: string, hop: number) => boolean>()
function trustFunction(trustProxy: readonly string[]) {
  const key = trustProxy.join(',')
  let trust = compiled.get(key)
  if (!trust) {
    trust = trustProxy.length ? proxyAddr.compile([...trustProxy]) : () => false
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
  const ip = proxyAddr(request, trust)
  const peerTrusted = trust(input.sourceIp, 0)
  // as Express does: the first X-Forwarded-Proto value, believed only from a trusted peer
  const forwardedProto = input.headers['x-forwarded-proto']?.split(',')[0]?.trim().toLowerCase()
  return { ip, secure: peerTrusted && forwardedProto === 'https' }
}

/** True when the socket's peer is a proxy named in TRUST_PROXY (never on Lambda: no proxy of ours there). */
export function isTrustedProxy(sourceIp: string, apiId: string | undefined, trustProxy: readonly string[]): boolean {
  return apiId === LOCAL_API_ID && trustFunction(trustProxy)(sourceIp, 0)
}
