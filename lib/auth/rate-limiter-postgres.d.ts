// The types of the one rate-limiter-flexible module lib/auth/throttle.ts imports by its path (the
// package's index would load every store it supports): the package's own, re-exported.
declare module 'rate-limiter-flexible/lib/RateLimiterPostgres.js' {
  import { RateLimiterPostgres } from 'rate-limiter-flexible'
  export default RateLimiterPostgres
}
