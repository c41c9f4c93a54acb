// docs/security.md's ASVS table stays true: no blank row, and every "met" row names a test that
// exists under that name, so a renamed or deleted test cannot leave a claim without its proof.
import { readFile, readdir } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'

const ROOT = new URL('../../', import.meta.url)
const STATUSES = new Set(['met', 'n/a', 'gap'])
const LEVEL_3_ROWS = new Set(['6.3.8', '4.1.4', '6.7.1', '6.7.2'])

interface Row {
  id: string
  level: string
  requirement: string
  status: string
  how: string
  test: string
}

async function tableRows(): Promise<Row[]> {
  const doc = await readFile(new URL('docs/security.md', ROOT), 'utf8')
  const section = doc.slice(doc.indexOf('\n## ASVS'))
  return section
    .split('\n')
    .filter((line) => /^\|\s*\d+\.\d+\.\d+\s*\|/.test(line))
    .map((line) => {
      const cells = line
        .slice(1, line.trimEnd().length - 1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim())
      const [id = '', level = '', requirement = '', status = '', how = '', test = ''] = cells
      return { id, level, requirement, status, how, test }
    })
}

/**
 * Every test title under tests/ (any depth), by file: `it('…')` / `test('…')` titles, the `name: '…'`
 * of scenario rows (tests/helpers/scenarios.ts), and the labels opening table rows that become names.
 */
async function testTitles(): Promise<Map<string, string[]>> {
  const titles = new Map<string, string[]>()
  const files = (await readdir(new URL('tests', ROOT), { recursive: true })).filter((f) => f.endsWith('.test.ts'))
  for (const file of files) {
    const text = await readFile(new URL(`tests/${file}`, ROOT), 'utf8')
    // an it()/test() title, a scenario's name, or the label opening a table row (['label', …)
    const title = /(?:\b(?:(?:it|test)(?:\.\w+)*\(|name:)|^\s*\[)\s*(['"`])((?:\\.|(?!\1).)*)\1/gm
    titles.set(
      `tests/${file}`,
      [...text.matchAll(title)].map((m) => m[2]!),
    )
  }
  return titles
}

describe('docs/security.md ASVS table', () => {
  it('has a complete row for each requirement, each ID once', async () => {
    const rows = await tableRows()
    expect(rows.length).toBeGreaterThan(100)
    const seen = new Set<string>()
    for (const row of rows) {
      expect(seen.has(row.id), `${row.id} listed twice`).toBe(false)
      seen.add(row.id)
      // Level 3 rows appear only where an issue asks for the behaviour (6.3.8, 4.1.4; passkeys: 6.7.x)
      expect(row.level, row.id).toMatch(LEVEL_3_ROWS.has(row.id) ? /^L3$/ : /^L[12]$/)
      expect(STATUSES.has(row.status), `${row.id} status "${row.status}"`).toBe(true)
      expect(row.requirement, `${row.id} requirement`).not.toBe('')
      expect(row.how.replace(/^—$/, ''), `${row.id} says how, or why not`).not.toBe('')
    }
  })

  it('names, for every met requirement, a test that exists under that name', async () => {
    const rows = await tableRows()
    const titles = await testTitles()
    for (const row of rows.filter((r) => r.status === 'met')) {
      const refs = [...row.test.matchAll(/`([^`]+\.test\.ts)`\s*›\s*([^;]+?)(?=\s*(?:;|$))/g)]
      expect(refs.length, `${row.id} names a test`).toBeGreaterThan(0)
      for (const [, file, name] of refs) {
        const inFile = titles.get(file!)
        expect(inFile, `${row.id}: ${file} exists`).toBeDefined()
        const prefix = name!.replace(/…$/, '').trim()
        expect(
          inFile!.some((title) => title.startsWith(prefix)),
          `${row.id}: "${prefix}" in ${file}`,
        ).toBe(true)
      }
    }
  })

  it('sees every test file, nested folders included', async () => {
    const titles = await testTitles()
    for (const file of ['tests/http/contract/routing.test.ts', 'tests/functions/logout.test.ts'])
      expect(titles.get(file)?.length, file).toBeGreaterThan(0)
  })

  it('lists every requirement the security suite tests', async () => {
    const listed = new Set((await tableRows()).map((row) => row.id))
    const titles = await testTitles()
    for (const [file, names] of titles) {
      if (!file.startsWith('tests/security/')) continue
      for (const name of names) {
        const id = /^(\d+\.\d+\.\d+)\s/.exec(name)?.[1]
        if (id) expect(listed.has(id), `${id} (${file}) is in the table`).toBe(true)
      }
    }
  })
})
