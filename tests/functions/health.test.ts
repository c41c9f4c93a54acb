import { afterEach, describe, expect, it, vi } from 'vitest'
import { handler } from '#functions/health.ts'
import { invoke, jsonBody } from '../helpers/events.ts'
import { header, HTML } from '../helpers/handlers.ts'
import { useService } from '../helpers/service.ts'

const service = useService({ transport: 'lambda' })

describe('GET /health', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('answers 200 with status ok and database ok', async () => {
    const result = await invoke(handler, { path: '/health', headers: { accept: 'application/json' } })
    expect(result.statusCode).toBe(200)
    expect(header(result, 'content-type')).toMatch(/^application\/json/)
    expect(jsonBody(result)).toEqual({ status: 'ok', database: 'ok' })
  })

  it('answers in JSON even when a browser asks for HTML', async () => {
    const result = await invoke(handler, { path: '/health', headers: HTML })
    expect(result.statusCode).toBe(200)
    expect(jsonBody(result)).toEqual({ status: 'ok', database: 'ok' })
  })

  it('answers 503 with database unavailable while the database cannot be reached, without the error text', async () => {
    const db = service.runtime.healthDb
    vi.spyOn(db, 'one').mockRejectedValueOnce(new Error('connect ECONNREFUSED 127.0.0.1:5432 password=hunter2'))
    const result = await invoke(handler, { path: '/health' })
    expect(result.statusCode).toBe(503)
    expect(jsonBody(result)).toMatchObject({ database: 'unavailable' })
    expect(result.body).not.toMatch(/ECONNREFUSED|hunter2/)
    // and it recovers as soon as the database answers again
    expect((await invoke(handler, { path: '/health' })).statusCode).toBe(200)
  })
})
