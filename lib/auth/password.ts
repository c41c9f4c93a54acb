// Password hashing: bcryptjs in the worker pool (lib/auth/hash-pool.ts). An unknown user still costs one
// bcrypt comparison, against a dummy hash of the configured cost, in the same pool and the same
// client's share, so "no such user" and "wrong password" take the same path and the same time.
// A stored hash of a cost over MAX_BCRYPT_COST (only an import from elsewhere could bring one) is
// never run: it is compared as an unknown user's would be, fails, and is logged for the operator.
import { randomInt } from 'node:crypto'
import type { Logger } from 'pino'
import type { HashPool } from './hash-pool.ts'
import { hashCost, MAX_BCRYPT_COST } from '../platform/bcrypt-costs.ts'

/** What a bcrypt step needs: the pool, the work factor, and whose share of the pool it uses. */
export interface HashContext {
  readonly pool: HashPool
  readonly cost: number
  /** The client's address (event.clientIp). */
  readonly client: string
}

/** A comparison also needs where to report a stored hash it refused to run (event.log). */
export interface VerifyContext extends HashContext {
  readonly log: Logger
}

// bcrypt's own base64 alphabet; a comparison costs the same whatever the salt and digest are
const BCRYPT_BASE64 = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const dummyHashes = new Map<number, string>()
function dummyHash(cost: number): string {
  let hash = dummyHashes.get(cost)
  if (!hash) {
    // 22 salt + 31 digest characters matching no password: made without hashing anything
    const body = Array.from({ length: 53 }, () => BCRYPT_BASE64[randomInt(BCRYPT_BASE64.length)]).join('')
    hash = `$2b$${String(cost).padStart(2, '0')}$${body}`
    dummyHashes.set(cost, hash)
  }
  return hash
}

/** bcrypt hash at the configured cost. The caller has already refused passwords over 72 bytes. */
export function hashPassword(ctx: HashContext, password: string): Promise<string> {
  return ctx.pool.run({ op: 'hash', password, cost: ctx.cost }, ctx.client)
}

/**
 * True when `password` matches `hash`. With no hash, or one of a cost over MAX_BCRYPT_COST,
 * compares against a dummy of the configured cost and returns false.
 */
export async function verifyPassword(ctx: VerifyContext, password: string, hash: string | undefined): Promise<boolean> {
  const usable = hash !== undefined && hashCost(hash) <= MAX_BCRYPT_COST
  if (hash !== undefined && !usable) {
    ctx.log.warn(
      { event: 'password_hash_refused', cost: hashCost(hash), maxCost: MAX_BCRYPT_COST },
      'stored password hash over the highest bcrypt cost allowed: not run, the sign-in fails; set a new password',
    )
  }
  const matches = await ctx.pool.run({ op: 'compare', password, hash: usable ? hash : dummyHash(ctx.cost) }, ctx.client)
  return usable && matches
}

/** A stored hash made at another cost than configured: rehash it at the next successful login. */
export const needsRehash = (hash: string, cost: number) => hashCost(hash) !== cost
