// The Dockerfile, reproduced without Docker: its instructions are read from the file itself (so the
// tests follow it when it changes), the build context is filtered by .dockerignore, each stage's
// COPY and RUN are replayed in a clean directory, and CMD, ENV, USER and HEALTHCHECK are returned
// for the caller to run. RUN lines run on this machine's shell, which is why only the build stages'
// (npm ci, the symlink loop and the bundle: plain POSIX shell, npm and Node) are replayed.
import { execFile } from 'node:child_process'
import { cp, mkdir, readFile, readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { createRequire } from 'node:module'
import type { Ignore } from '@balena/dockerignore'

// a CommonJS factory whose types claim an ES default export
const ignore = createRequire(import.meta.url)('@balena/dockerignore') as () => Ignore

export const ROOT = path.resolve(import.meta.dirname, '../..')

export interface Instruction {
  readonly op: string
  readonly args: string
}

export interface Image {
  readonly env: Record<string, string>
  readonly cmd: string[]
  readonly healthcheck: string[] | undefined
  readonly user: string | undefined
  readonly workdir: string
  /** What the last stage copies into its WORKDIR, by destination (`node_modules`, `lib`, …). */
  readonly copied: string[]
}

/** The Dockerfile's instructions, continuation lines joined and comment lines dropped, per stage. */
export async function readDockerfile(file = path.join(ROOT, 'Dockerfile')): Promise<Instruction[][]> {
  const lines = (await readFile(file, 'utf8')).split('\n').filter((line) => !/^\s*#/.test(line))
  const joined = lines.join('\n').replace(/\\\n/g, ' ')
  const stages: Instruction[][] = []
  for (const line of joined.split('\n')) {
    const match = /^\s*([A-Z]+)\s+(.*)$/.exec(line)
    if (!match) continue
    if (match[1] === 'FROM') stages.push([])
    stages.at(-1)!.push({ op: match[1]!, args: match[2]!.trim() })
  }
  return stages
}

/** ENV's KEY=value pairs (values may be double-quoted). */
export function parseEnv(args: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [, key, quoted, plain] of args.matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/g)) {
    env[key!] = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : plain!
  }
  return env
}

/** The build context's files as Docker sends them: everything not matched by .dockerignore. */
export async function contextFilter(): Promise<(relative: string) => boolean> {
  const patterns = (await readFile(path.join(ROOT, '.dockerignore'), 'utf8')).split('\n')
  const ig = ignore().add(patterns)
  return (relative: string) => relative === '' || !ig.ignores(relative)
}

async function copyFromContext(sources: string[], destination: string, included: (relative: string) => boolean) {
  for (const source of sources) {
    const from = path.join(ROOT, source)
    const info = await stat(from)
    // COPY dir ./dir copies the directory's contents; COPY a b ./ copies the files into ./
    const to =
      info.isDirectory() || !destination.endsWith('/') ? destination : path.join(destination, path.basename(source))
    await cp(from, to, {
      recursive: true,
      filter: (file) => included(path.relative(ROOT, file)),
    })
  }
}

const run = promisify(execFile)

/**
 * Builds the image's /app into `dir` (which must be empty): each stage's COPY from the context and
 * from earlier stages, and the RUN lines of every stage but the last, with `npmEnv` added where a
 * stage installs packages from scratch (npm_config_cpu=arm64 … to install another architecture's
 * packages, as the image would there).
 */
export async function buildImageDirectory(dir: string, npmEnv: Record<string, string> = {}): Promise<Image> {
  const stages = await readDockerfile()
  const included = await contextFilter()
  const stageDirs: Record<string, string> = {}
  let image: Image = { env: {}, cmd: [], healthcheck: undefined, user: undefined, workdir: '/', copied: [] }
  for (const [index, stage] of stages.entries()) {
    const last = index === stages.length - 1
    const alias = /\bAS\s+(\S+)/i.exec(stage[0]!.args)?.[1] ?? String(index)
    const stageDir = last ? dir : path.join(dir, '..', `${path.basename(dir)}.stage-${alias}`)
    await mkdir(stageDir, { recursive: true })
    // FROM an earlier stage starts with its files
    const base = stageDirs[stage[0]!.args.split(/\s+/)[0]!]
    if (base) await cp(base, stageDir, { recursive: true, verbatimSymlinks: true })
    stageDirs[alias] = stageDir
    // another architecture's packages are what `npm ci` installs; a stage built FROM one (the bundle)
    // runs its tools on this machine, and what it makes is JavaScript, the same on every architecture
    const stageNpmEnv = base ? {} : npmEnv
    const env: Record<string, string> = {}
    for (const { op, args } of stage) {
      if (op === 'COPY') {
        const from = /^--from=(\S+)\s+/.exec(args)
        const parts = args.replace(/^--\S+\s+/, '').split(/\s+/)
        const destination = parts.pop()!
        const target = path.join(stageDir, destination) + (destination.endsWith('/') ? '/' : '')
        if (last) {
          const names = destination.endsWith('/')
            ? parts.map((part) => path.basename(part))
            : // the top-level entry it lands in (./proxy/access-rules.yml: proxy)
              [path.normalize(destination).split(path.sep)[0]!]
          image = { ...image, copied: [...image.copied, ...names] }
        }
        if (from) {
          await cp(path.join(stageDirs[from[1]!]!, parts[0]!.replace(/^\/app\/?/, '')), target, { recursive: true })
        } else {
          await copyFromContext(parts, target, included)
        }
      } else if (op === 'RUN' && !last) {
        await run('sh', ['-c', args], {
          cwd: stageDir,
          env: { ...process.env, ...env, ...stageNpmEnv },
          maxBuffer: 16 * 1024 * 1024,
        })
      } else if (op === 'ENV') {
        Object.assign(env, parseEnv(args))
      } else if (last && op === 'CMD') {
        image = { ...image, cmd: JSON.parse(args) as string[] }
      } else if (last && op === 'HEALTHCHECK') {
        const command = /\bCMD\s+(.*)$/.exec(args)![1]!
        image = { ...image, healthcheck: ['sh', '-c', command] }
      } else if (last && op === 'USER') {
        image = { ...image, user: args }
      } else if (last && op === 'WORKDIR') {
        image = { ...image, workdir: args }
      }
    }
    if (last) image = { ...image, env }
  }
  return image
}

/** Every file under dir, relative, for asserting what the image holds. */
export async function listFiles(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((entry) => !entry.isDirectory())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
}
