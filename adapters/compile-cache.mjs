// Preloaded by `npm start` (node --import ./adapters/compile-cache.mjs …): Node's on-disk compile
// cache, which also keeps the JavaScript that type stripping makes of our .ts files. With it a
// start after the first neither loads the TypeScript stripper (about 18 MB RSS and 100–200 ms)
// nor recompiles anything. Plain JavaScript so that it runs before any TypeScript does.
// The cache lives in NODE_COMPILE_CACHE when set, else in the system's temporary directory; entries
// are keyed by content and Node version, so a stale one is never used.
import module from 'node:module'

module.enableCompileCache?.()
