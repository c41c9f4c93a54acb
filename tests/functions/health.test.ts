// GET /health: up or down, in JSON whatever the client asks for, and never why.
import { expect, vi } from 'vitest'
import { runScenarios } from '../helpers/scenarios.ts'

const health = (accept: string) => () => ({ path: '/health', headers: { accept } })
const UP = { status: 200, json: { status: 'ok', database: 'ok' }, headers: { 'content-type': /^application\/json/ } }

runScenarios('GET /health', [
  { name: 'JSON: 200 with status ok and database ok', request: health('application/json'), expect: UP },
  { name: 'a browser asking for HTML gets the same JSON', request: health('text/html'), expect: UP },
  {
    name: '503 database unavailable while the database cannot be reached, without the error text; then 200 again',
    given: async ({ service }) =>
      vi
        .spyOn(service.runtime.healthDb, 'one')
        .mockRejectedValueOnce(new Error('connect ECONNREFUSED 127.0.0.1:5432 password=hunter2')),
    request: health('application/json'),
    expect: { status: 503, json: { database: 'unavailable' }, absent: ['ECONNREFUSED', 'hunter2'] },
    async after({ service }) {
      vi.restoreAllMocks()
      expect((await service.http.getJson('/health')).status).toBe(200)
    },
  },
])
