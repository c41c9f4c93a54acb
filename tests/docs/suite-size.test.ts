// ADR 022: the suite stays under twice the product it proves, counted as docs/testing.md counts it
// (`git ls-files <folders> | xargs wc -l`), so a repeat that creeps back in shows as lines here.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { expect, it } from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '../..')
const MAX_RATIO = 2

function linesIn(...folders: string[]): number {
  const files = execFileSync('git', ['ls-files', '-z', '--', ...folders], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean)
  return files.reduce((sum, file) => sum + readFileSync(path.join(ROOT, file), 'utf8').split('\n').length - 1, 0)
}

it(`the suite is under ${MAX_RATIO} × the product's lines`, () => {
  const product = linesIn('lib', 'functions', 'adapters', 'cli', 'lambda')
  const suite = linesIn('tests')
  expect(product).toBeGreaterThan(5000)
  expect(suite / product, `${suite} lines of tests, ${product} of product`).toBeLessThan(MAX_RATIO)
})
