// GET /static/<file>: the stylesheet, the optional page script, the icon and any other assets in
// templates/static. Pages link them with a content hash in the query (lib/http/render.ts
// assetUrl), so a year-long cache is safe.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { defineRoute, route } from '#lib/http/route.ts'
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

const binary = (mediaType: string) => ({ type: 'string', contentMediaType: mediaType })
export const spec = defineRoute({
  keys: ['GET /static/{file}'],
  summary: 'The stylesheet, the page script and the icons, cached for a year',
  description: 'Pages link them with a content hash in the query (`/static/style.css?v=<hash>`).',
  tag: 'service',
  answers: 'file',
  params: { file: { schema: { type: 'string', examples: ['style.css'] } } },
  responses: {
    200: {
      description: 'The file.',
      headers: ['Cache-Control'],
      content: Object.fromEntries(Object.values(TYPES).map((type) => [type.split(';')[0]!, binary(type)])),
    },
  },
  problems: ['not_found'],
})

export const handler = route(spec, async (event) => {
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
})
