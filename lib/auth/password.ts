// Password hashing with bcryptjs. An unknown user still costs one bcrypt comparison (against a
// dummy hash of the same cost), so "no such user" and "wrong password" take about the same time.
import bcrypt from 'bcryptjs'

const dummyHashes = new Map<number, Promise<string>>()
function dummyHash(cost: number): Promise<string> {
  let hash = dummyHashes.get(cost)
  if (!hash) {
    hash = bcrypt.hash('gateway-auth timing equaliser', cost)
    dummyHashes.set(cost, hash)
  }
  return hash
}

/** bcrypt hash at the configured cost. The caller has already refused passwords over 72 bytes. */
export function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(password, cost)
}

/** True when `password` matches `hash`; with no hash, compares against a dummy and returns false. */
export async function verifyPassword(password: string, hash: string | undefined, cost: number): Promise<boolean> {
  if (hash === undefined) {
    await bcrypt.compare(password, await dummyHash(cost))
    return false
  }
  return bcrypt.compare(password, hash)
}

/** A stored hash made at another cost than configured: rehash it at the next successful login. */
export const needsRehash = (hash: string, cost: number) => bcrypt.getRounds(hash) !== cost
