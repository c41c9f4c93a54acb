// GET /static/<file>: the stylesheet, the optional page script, the icon and any other assets in
// templates/static. Pages link them with a content hash in the query (lib/http/render.ts
// assetUrl), so a year-long cache is safe.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { route, type RouteEvent } from '#lib/http/route.ts'
import { STATIC_DIR } from '#lib/http/render.ts'
import { Problem } from '#lib/problem.ts'

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
}
// the whole directory is known at start: a request can only name one of these files
const ASSETS = new Map(
  readdirSync(STATIC_DIR)
    .filter((file) => TYPES[path.extname(file)])
    .map((file) => [file, readFileSync(path.join(STATIC_DIR, file))]),
)

async function serveStatic(event: RouteEvent) {
  const file = event.pathParameters?.file ?? ''
  const content = ASSETS.get(file)
  if (!content) throw new Problem('not_found', { detail: 'No such file.' })
  const text = TYPES[path.extname(file)]!.startsWith('text/')
  return {
    statusCode: 200,
    headers: { 'content-type': TYPES[path.extname(file)]!, 'cache-control': 'public, max-age=31536000, immutable' },
    body: text ? content.toString('utf8') : content.toString('base64'),
    isBase64Encoded: !text,
  }
}

export const handler = route(serveStatic)
