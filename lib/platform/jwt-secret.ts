// The key that signs session tokens. JWT_SECRET wins; unset, 48 random bytes (384 bits, 64 characters
// of base64url) are generated once
// and kept in DATA_DIR/jwt-secret (mode 0600), so tokens survive a restart without anyone
// having to invent a secret. Created with O_EXCL so two instances starting together agree.
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile, chmod, stat } from 'node:fs/promises'
import path from 'node:path'
import type { Config } from './config.ts'

const SECRET_FILE = 'jwt-secret'
const MIN_SECRET_BYTES = 32

/** Returns JWT_SECRET, or the secret kept in DATA_DIR (creating it on first use). */
export async function loadJwtSecret(config: Config): Promise<string> {
  if (config.jwt.secret) return config.jwt.secret
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const file = path.join(config.dataDir, SECRET_FILE)
  try {
    await writeFile(file, randomBytes(48).toString('base64url'), { flag: 'wx', mode: 0o600 })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
  // a copied or restored file may have come back world-readable
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600)
  const secret = (await readFile(file, 'utf8')).trim()
  if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) {
    throw new Error(`${file} holds fewer than ${MIN_SECRET_BYTES} bytes: delete it to have a new secret generated`)
  }
  return secret
}
