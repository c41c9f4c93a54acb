// What the image must hold, from the code itself: every project file the service and the admin CLI
// import (esbuild's metafile over the import graph from the image's CMD — the sources of its bundle —
// and the CLI, dynamic imports of the route modules included), and every file or folder the code names
// beside itself with `new URL('…', import.meta.url)` (templates, migrations, package.json).
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import * as esbuild from 'esbuild'
import { bundleEntries } from '../../bench/process.ts'
import { readDockerfile, ROOT } from './dockerfile.ts'

/** The image's entry points, read from the Dockerfile: CMD's script and its --import, the CLI it links onto PATH. */
export async function imageEntries(): Promise<string[]> {
  const last = (await readDockerfile()).at(-1)!
  const cmd = JSON.parse(last.find(({ op }) => op === 'CMD')!.args) as string[]
  const imported = cmd.flatMap((arg, i) => (cmd[i - 1] === '--import' ? [arg] : []))
  // the bundle the image runs (dist/server, made in the image) stands for the sources it is made of
  const script = cmd.flatMap((arg) =>
    !/\.(ts|m?js)$/.test(arg) || imported.includes(arg) ? [] : arg.startsWith('dist/server/') ? [] : [arg],
  )
  if (cmd.some((arg) => arg.startsWith('dist/server/'))) script.push(...(await bundleEntries()))
  const linked = last.flatMap(({ op, args }) => (op === 'RUN' ? [...args.matchAll(/ln -s \/app\/(\S+)/g)] : []))
  return [...imported, ...script, ...linked.map((match) => match[1]!)].map((file) => path.normalize(file))
}

const NAMED_BESIDE = /new URL\(\s*'([^']+)'\s*,\s*import\.meta\.url\s*\)/g

/** Project paths (relative to the repository root) the code imports or names, sorted. */
export async function filesTheCodeNeeds(entries?: readonly string[]): Promise<string[]> {
  const needed = new Set<string>(['package.json']) // "type": "module" and the #lib/* imports map
  let pending = [...(entries ?? (await imageEntries()))]
  const walked = new Set<string>()
  while (pending.length) {
    for (const entry of pending) walked.add(entry)
    const result = await esbuild.build({
      entryPoints: pending.map((entry) => path.join(ROOT, entry)),
      absWorkingDir: ROOT,
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      outdir: path.join(ROOT, 'dist/code-files'),
      splitting: true,
      logLevel: 'silent',
    })
    const next: string[] = []
    for (const input of Object.keys(result.metafile.inputs)) {
      needed.add(input)
      const source = await readFile(path.join(ROOT, input), 'utf8')
      for (const [, reference] of source.matchAll(NAMED_BESIDE)) {
        const named = path.relative(ROOT, path.resolve(ROOT, path.dirname(input), reference!))
        needed.add(named)
        if (named.endsWith('.ts') && !walked.has(named)) next.push(named)
      }
    }
    pending = next
  }
  return [...needed].sort()
}

/** The top-level folders and files those paths live in: what the image's COPY lines must name. */
export const topLevelOf = (paths: readonly string[]) => [...new Set(paths.map((file) => file.split('/')[0]!))].sort()
