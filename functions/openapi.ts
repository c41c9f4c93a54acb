// GET /openapi.json: the OpenAPI 3.1 description of the API (docs/openapi.json), for programs and
// tools on the gateway. Always JSON, whatever Accept says: it is for machines.
import { route } from '#lib/http/route.ts'
import document from '../docs/openapi.json' with { type: 'json' }

// serialised once: the document is part of the code and never changes while the process runs
const body = JSON.stringify(document)

async function openapi() {
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body }
}

export const handler = route(openapi)
