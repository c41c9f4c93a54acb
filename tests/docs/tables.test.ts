// The README and docs/api.md describe the code's own tables; these tests keep them equal, so a
// route or a variable added in code without its line in the docs (or the reverse) fails here.
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { ROUTES } from '#lib/http/routes.ts'
import { ENVIRONMENT_VARIABLES, defaultValue } from '#lib/platform/config.ts'

const read = (file: string) => readFile(new URL(`../../${file}`, import.meta.url), 'utf8')

/** The rows of the first markdown table under `## heading`, as arrays of cells. */
function tableUnder(markdown: string, heading: string): string[][] {
  const start = markdown.indexOf(`\n## ${heading}\n`)
  expect(start, `a "## ${heading}" section`).toBeGreaterThan(-1)
  const section = markdown.slice(start + 1).split(/\n## /)[0]!
  return section
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|\s*-/.test(line))
    .slice(1)
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    )
}

/** Every `METHOD /path` in backticks in the first column, with <param> written as {param}. */
function routeKeysIn(rows: string[][]): string[] {
  return rows.flatMap(([first]) =>
    [...(first ?? '').matchAll(/`(GET|POST) (\/[^`]*)`/g)].map(
      ([, method, path]) => `${method} ${path!.replace(/<(\w+)>/g, '{$1}')}`,
    ),
  )
}

describe('the route tables', () => {
  it.each([
    ['README.md', 'API'],
    ['docs/api.md', 'Routes'],
  ])('%s lists exactly the routes of lib/http/routes.ts', async (file, heading) => {
    const documented = routeKeysIn(tableUnder(await read(file), heading))
    expect(new Set(documented)).toEqual(new Set(Object.keys(ROUTES)))
  })
})

describe('the configuration table', () => {
  it('the README lists every variable the schema reads, and no other', async () => {
    const rows = tableUnder(await read('README.md'), 'Configuration')
    const documented = rows.map(([variable]) => variable!.replace(/`/g, ''))
    expect(documented).toEqual(ENVIRONMENT_VARIABLES)
  })

  it('each documented default is the one the schema applies', async () => {
    const rows = tableUnder(await read('README.md'), 'Configuration')
    for (const [variable, documented] of rows) {
      const name = variable!.replace(/`/g, '') as (typeof ENVIRONMENT_VARIABLES)[number]
      const value = defaultValue(name)
      expect(documented, name).toBe(value === undefined ? 'unset' : `\`${String(value)}\``)
    }
  })

  it('docs/api.md points at the README instead of keeping a second table', async () => {
    const rows = tableUnder(await read('docs/api.md'), 'Configuration')
    expect(rows).toEqual([])
    expect(await read('docs/api.md')).toContain('../README.md#configuration')
  })
})
