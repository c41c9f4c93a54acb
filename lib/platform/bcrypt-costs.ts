// The bcrypt work factors this service allows: 10 (OWASP's floor for bcrypt) to 15 (2^5 = 32 times
// the work of 10, the most one sign-in may hold a worker for). BCRYPT_COST is clamped to it,
// `gateway-auth import` refuses a hash outside it, and a stored hash of a higher cost is never run:
// bcrypt's time doubles with each step, so one cost-31 hash would hold a worker for days
// (docs/security.md#password-hashes, issue 15).
export const MIN_BCRYPT_COST = 10
export const MAX_BCRYPT_COST = 15

/** The cost a bcrypt hash was made at ("$2b$10$…" → 10); NaN when it is not a bcrypt hash. */
export const hashCost = (hash: string) => Number(hash.split('$')[2])
