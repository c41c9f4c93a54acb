// The image's bundle swaps two dependencies for smaller stand-ins (adapters/bundle/, ADR 021). They
// must answer what the real ones answer for every question the service asks of them; a new question
// (another media type served, another range jsonwebtoken checks) fails here rather than in the image.
import { readdir, readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const require = createRequire(import.meta.url)
const ROOT = path.resolve(import.meta.dirname, '../..')
const standIn = (name: string) => require(path.join(ROOT, 'adapters/bundle', name))

describe("the bundle's mime-db", () => {
  const db = standIn('mime-db.cjs') as Record<string, unknown>
  const real = require('mime-db') as Record<string, unknown>

  it("holds mime-db's own entries, unchanged", () => {
    for (const [type, entry] of Object.entries(db)) expect([type, entry]).toEqual([type, real[type]])
  })

  it('holds every media type the service sends: its pages, JSON, problems and static files', async () => {
    const sources = await Promise.all(
      ['functions', 'lib'].map(async (folder) =>
        Promise.all(
          (await readdir(path.join(ROOT, folder), { recursive: true }))
            .filter((file) => file.endsWith('.ts'))
            .map((file) => readFile(path.join(ROOT, folder, file), 'utf8')),
        ),
      ),
    )
    const sent = new Set(
      sources
        .flat()
        .flatMap((text) => [...text.matchAll(/'((?:text|application|image|font)\/[\w.+-]+)/g)].map((m) => m[1]!)),
    )
    expect(sent.size).toBeGreaterThan(5)
    expect([...sent].filter((type) => !(type in db))).toEqual([])
  })
})

describe("the bundle's semver", () => {
  const semver = standIn('semver.cjs') as { satisfies(version: string, range: string): boolean }

  it('answers every range jsonwebtoken asks as semver does on this Node', async () => {
    const lib = path.join(path.dirname(require.resolve('jsonwebtoken')), 'lib')
    const asked = (
      await Promise.all((await readdir(lib)).map((file) => readFile(path.join(lib, file), 'utf8')))
    ).flatMap((text) => [...text.matchAll(/semver\.satisfies\(process\.version, '([^']+)'\)/g)].map((m) => m[1]!))
    expect(asked.length).toBeGreaterThan(0)
    const real = require('semver') as typeof semver
    for (const range of asked)
      expect([range, semver.satisfies(process.version, range)]).toEqual([range, real.satisfies(process.version, range)])
  })

  it('refuses a range it was not written for, so the start fails instead of guessing', () => {
    expect(() => semver.satisfies(process.version, '>=30.0.0')).toThrow(/does not know ">=30.0.0"/)
  })
})
