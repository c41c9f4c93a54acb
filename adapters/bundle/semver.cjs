// semver for the image's bundle (`npm run bundle` aliases 'semver' to this file). In the service only
// jsonwebtoken asks it anything: whether the running Node is newer than 8, 15.7 and 16.9, once at load.
// semver compiles some forty regular expressions for that; the bundle runs on Node 24 (its target,
// the image's base), where each answer is yes. A range not listed here fails the start, loudly:
// tests/bundle/stand-ins.test.ts reads jsonwebtoken's sources for the ranges it asks.
const NODE_24_SATISFIES = new Set(['^6.12.0 || >=8.0.0', '>=15.7.0', '>=16.9.0'])

exports.satisfies = (version, range) => {
  if (version === process.version && NODE_24_SATISFIES.has(range)) return true
  throw new Error(`the bundle's semver (adapters/bundle/semver.cjs) does not know "${range}" for ${version}`)
}
