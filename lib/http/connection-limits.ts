// How many connections and how many body bytes the HTTP server holds at once (docs/decisions/012):
// the rules, kept apart from the sockets (adapters/http-server.ts applies them).
// - One client (a peer address; an IPv6 /64, as throttling counts it) holds at most
//   `connectionsPerClient` connections. A trusted proxy (TRUST_PROXY) carries many clients, so it
//   may hold three quarters of all connections; the last quarter stays for direct clients (a
//   health check, the LAN) whatever the proxy forwards.
// - All clients together hold at most `connections`. When they do, a newcomer still gets in if
//   some client holds at least two more than it: that client's oldest connection that is not being
//   answered (idle, or its request still arriving) is closed for it. So a flood from many addresses
//   cannot keep out a client that holds few connections, such as a health check.
// - While the heap is short, a client that already holds a connection gets no other: a flood cannot
//   grow, and a client arriving for the first time still gets in.
// - A body is admitted against a budget of declared bytes before a byte of it is read.
import type { ConnectionLimits } from '../platform/config.ts'
import { MAX_BODY_BYTES } from './body.ts'

/** Why a connection or a body was turned away (the log's `reason`). */
export type Refusal = 'connections' | 'client_connections' | 'proxy_connections' | 'heap' | 'body_budget'

/** The connections a trusted proxy may hold: three quarters of all, at least one. */
export const proxyConnectionCap = (limits: ConnectionLimits) => Math.max(1, Math.floor((limits.connections * 3) / 4))

export type Admission<C> =
  | { readonly admitted: true; readonly evict?: C }
  | { readonly admitted: false; readonly refusal: Refusal }

/** What is known of a new connection's peer when it arrives. */
export interface Arriving {
  /** The heap is short now (lib/platform/heap-gauge.ts). */
  readonly heapShort: boolean
  /** The peer is a proxy named in TRUST_PROXY. */
  readonly trustedProxy: boolean
}

/** Open connections (any value standing for one: a socket) by client, oldest first. */
export class ConnectionTable<C> {
  readonly #open = new Map<string, Set<C>>()
  #total = 0
  readonly #limits: ConnectionLimits
  readonly #evictable: (connection: C) => boolean

  /** `evictable`: whether a connection may be closed for a newcomer (it is not being answered). */
  constructor(limits: ConnectionLimits, evictable: (connection: C) => boolean) {
    this.#limits = limits
    this.#evictable = evictable
  }

  /** Counts `connection` from `peer` in (with, when full, the one to close for it), or says why not. */
  admit(peer: string, connection: C, { heapShort, trustedProxy: proxy }: Arriving): Admission<C> {
    const held = this.heldBy(peer)
    const refuse = (refusal: Refusal) => ({ admitted: false, refusal }) as const
    if (heapShort && held > 0) return refuse('heap')
    if (proxy && held >= proxyConnectionCap(this.#limits)) return refuse('proxy_connections')
    if (!proxy && held >= this.#limits.connectionsPerClient) return refuse('client_connections')
    let evict: C | undefined
    if (this.#total >= this.#limits.connections) {
      const eviction = this.#evictionFor(held)
      if (!eviction) return refuse('connections')
      // out of the table now, not at its close: the next newcomer must not choose it again
      this.release(...eviction)
      evict = eviction[1]
    }
    this.#add(peer, connection)
    return evict === undefined ? { admitted: true } : { admitted: true, evict }
  }

  /** A connection `admit` counted in has closed (evicted ones included). */
  release(peer: string, connection: C): void {
    const set = this.#open.get(peer)
    if (!set?.delete(connection)) return
    this.#total--
    if (set.size === 0) this.#open.delete(peer)
  }

  /** Connections `peer` holds now. */
  heldBy(peer: string): number {
    return this.#open.get(peer)?.size ?? 0
  }

  get total(): number {
    return this.#total
  }

  #add(peer: string, connection: C): void {
    let set = this.#open.get(peer)
    if (!set) this.#open.set(peer, (set = new Set()))
    set.add(connection)
    this.#total++
  }

  // the oldest evictable connection of the peer holding the most, if that is two more than `held`
  #evictionFor(held: number): [peer: string, connection: C] | undefined {
    let largest: [string, Set<C>] | undefined
    for (const entry of this.#open) if (!largest || entry[1].size > largest[1].size) largest = entry
    if (!largest || largest[1].size < held + 2) return undefined
    for (const connection of largest[1]) if (this.#evictable(connection)) return [largest[0], connection]
    return undefined
  }
}

/**
 * The bytes a request's body takes while it is read: its declared length; MAX_BODY_BYTES + 1 for a
 * chunked body (the adapter reads no more); 0 when it has none, or one over MAX_BODY_BYTES, which is
 * refused with 413 unread.
 */
export function bodyBytesToRead(headers: { 'content-length'?: string; 'transfer-encoding'?: string }): number {
  if (headers['transfer-encoding'] !== undefined) return MAX_BODY_BYTES + 1
  const declared = Number(headers['content-length'] ?? 0)
  return declared > 0 && declared <= MAX_BODY_BYTES ? declared : 0
}

/** The declared bytes of all bodies being read at once, against `limitBytes`. */
export class BodyBudget {
  #reserved = 0
  readonly limitBytes: number

  constructor(limitBytes: number) {
    this.limitBytes = limitBytes
  }

  /** True if `bytes` more fit now. */
  fits(bytes: number): boolean {
    return this.#reserved + bytes <= this.limitBytes
  }

  /** Takes `bytes` from the budget if they fit; false (and nothing taken) if they do not. */
  reserve(bytes: number): boolean {
    if (!this.fits(bytes)) return false
    this.#reserved += bytes
    return true
  }

  /** Gives back what `reserve` took. */
  release(bytes: number): void {
    this.#reserved = Math.max(0, this.#reserved - bytes)
  }

  get reservedBytes(): number {
    return this.#reserved
  }
}
