// `npm run package:lambda`: one bundle per Lambda function in dist/lambda/<name>/, ready to zip.
//   dist/lambda/login/functions/login.mjs   ESM, node24, everything it imports, nothing else
//   dist/lambda/login/templates/…           the files its code reads beside itself
// Handler setting: functions/login.handler (lambda/functions.ts). Runtime nodejs24.x, arm64.
//
// The code finds its templates and migrations from import.meta.url ('../templates' from lib/).
// A bundle is one file, so each source file's import.meta.url is rewritten to where that file
// would sit under the bundle's root, and the folders it names are copied there: the layout the
// code expects holds whatever the nesting, and a bundle only gets the folders its code names.
import { cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'
import { lambdaFunctions, type LambdaFunction } from './functions.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const OUT = path.join(ROOT, 'dist/lambda')
const DIR_REFERENCE = /new URL\(\s*'(\.\.?\/[^']+)'\s*,\s*import\.meta\.url\s*\)/g

// There is no embedded PostgreSQL on Lambda (lib/platform/config.ts refuses to start without DATABASE_URL),
// so its launcher is replaced by a stub that says so: the bundle carries none of it.
const noEmbeddedPostgres: esbuild.Plugin = {
  name: 'no-embedded-postgres',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\/.*embedded-postgres\/server(\.ts)?$/ }, (args) =>
      args.importer.endsWith(path.join('lib', 'platform', 'database.ts'))
        ? { path: args.path, namespace: 'no-embedded-postgres' }
        : undefined,
    )
    build.onLoad({ filter: /.*/, namespace: 'no-embedded-postgres' }, () => ({
      contents: `export function startEmbeddedPostgres() {
        throw new Error('this Lambda bundle has no embedded PostgreSQL: set DATABASE_URL')
      }`,
      loader: 'js',
    }))
  },
}

// import.meta.url of each of our source files → the URL it would have under the bundle's root
const sourceUrls = (fn: LambdaFunction): esbuild.Plugin => ({
  name: 'source-import-meta-url',
  setup(build) {
    const depth = fn.entry.split('/').length - 1
    const root = `new URL('${'../'.repeat(depth) || './'}', import.meta.url)`
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined
      const source = await readFile(args.path, 'utf8')
      const relative = path.relative(ROOT, args.path).split(path.sep).join('/')
      return { contents: source.replaceAll('import.meta.url', `new URL('${relative}', ${root}).href`), loader: 'ts' }
    })
  },
})

/** Bundles one function; returns its folder's size in bytes. */
async function bundle(fn: LambdaFunction): Promise<{ bytes: number; folders: string[] }> {
  const dir = path.join(OUT, fn.name)
  const outfile = path.join(dir, fn.entry.replace(/\.ts$/, '.mjs'))
  const result = await esbuild.build({
    // the environment is checked while Lambda initialises the function, so a missing DATABASE_URL or
    // JWT_SECRET fails the deployment's first call with Runtime.InitError and the variable's name
    stdin: {
      contents: [
        `import { loadConfig } from './lib/platform/config.ts'`,
        'loadConfig()',
        `export { handler } from './${fn.entry}'`,
      ].join('\n'),
      resolveDir: ROOT,
      sourcefile: `lambda-entry:${fn.name}`,
      loader: 'ts',
    },
    // code loaded with import() (node-pg-migrate) goes to a chunk beside the entry, read only when
    // used; beside it, so its import.meta.url has the entry's depth
    outdir: path.dirname(outfile),
    entryNames: path.basename(outfile, '.mjs'),
    chunkNames: '[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    splitting: true,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    minify: true,
    sourcemap: false,
    metafile: true,
    legalComments: 'none',
    // error class names (ConfigError) stay readable in CloudWatch
    keepNames: true,
    // CommonJS dependencies (pg, express's kin) call require(): give the ESM bundle one
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module';const require = __createRequire(import.meta.url);",
    },
    // pg-native is an optional alternative driver pg only loads when asked for
    external: ['pg-native'],
    logLevel: 'warning',
    plugins: [noEmbeddedPostgres, sourceUrls(fn)],
  })
  const folders = new Set<string>()
  for (const input of Object.keys(result.metafile.inputs)) {
    if (input.includes('node_modules') || input.includes(':') || !input.endsWith('.ts')) continue
    const source = await readFile(path.join(ROOT, input), 'utf8')
    for (const [, reference] of source.matchAll(DIR_REFERENCE)) {
      folders.add(path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, input)), reference!)))
    }
  }
  // a folder inside another is copied with it
  const top = [...folders].filter((f) => ![...folders].some((other) => other !== f && f.startsWith(`${other}/`)))
  for (const folder of top) await cp(path.join(ROOT, folder), path.join(dir, folder), { recursive: true })
  await writeFile(path.join(dir, 'package.json'), '{"type":"module"}\n')
  return { bytes: await sizeOf(dir), folders: top.sort() }
}

async function sizeOf(target: string): Promise<number> {
  const info = await stat(target)
  if (!info.isDirectory()) return info.size
  const { readdir } = await import('node:fs/promises')
  let total = 0
  for (const entry of await readdir(target)) total += await sizeOf(path.join(target, entry))
  return total
}

await rm(OUT, { recursive: true, force: true })
await mkdir(OUT, { recursive: true })
const started = performance.now()
const functions = lambdaFunctions()
const results = await Promise.all(functions.map(async (fn) => ({ fn, ...(await bundle(fn)) })))
for (const { fn, bytes, folders } of results) {
  const with_ = folders.length ? ` + ${folders.join(', ')}` : ''
  console.log(
    `${fn.name.padEnd(13)} ${(bytes / 1024).toFixed(0).padStart(6)} KiB  ${fn.entry.replace(/\.ts$/, '.mjs')}${with_}`,
  )
}
console.log(`${functions.length} bundles in dist/lambda/ (${((performance.now() - started) / 1000).toFixed(1)} s)`)
