// HTML rendering with nunjucks. Autoescaping is on for every template, so anything a user typed
// is escaped wherever it is shown; `| safe` is never used on user data.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import nunjucks from 'nunjucks'
import type { RouteResult } from './event.ts'

export const TEMPLATES_DIR = fileURLToPath(new URL('../../templates', import.meta.url))
export const STATIC_DIR = fileURLToPath(new URL('../../templates/static', import.meta.url))

const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(TEMPLATES_DIR), {
  autoescape: true,
  throwOnUndefined: false,
})

const assetVersions = new Map<string, string>()
/** /static/<file>?v=<content hash>: the URL changes with the file, so it can be cached for a year. */
export function assetUrl(file: string): string {
  let version = assetVersions.get(file)
  if (!version) {
    version = createHash('sha256')
      .update(readFileSync(`${STATIC_DIR}/${file}`))
      .digest('hex')
      .slice(0, 12)
    assetVersions.set(file, version)
  }
  return `/static/${encodeURIComponent(file)}?v=${version}`
}
env.addGlobal('asset', assetUrl)
env.addFilter('datetime', (value: Date | string | null | undefined) => {
  if (!value) return 'never'
  return new Date(value)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')
})
env.addFilter('isodate', (value: Date | string | null | undefined) => (value ? new Date(value).toISOString() : ''))

/** Renders templates/<name>.njk into an HTML result with the given status. */
export function renderHtml(name: string, view: object, statusCode = 200): RouteResult {
  return {
    statusCode,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: env.render(`${name}.njk`, view),
  }
}
