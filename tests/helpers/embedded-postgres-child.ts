// A separate Node process that owns an embedded server, so tests can SIGKILL the owner or race
// two owners. Prints one JSON line: { pid, connection } or { error, name }. Stops the server and
// exits when stdin closes.

import { startEmbeddedPostgres } from '#lib/embedded-postgres/server.ts'

const dataDir = process.argv[2]
if (!dataDir) throw new Error('usage: embedded-postgres-child.ts <dataDir>')

try {
  const server = await startEmbeddedPostgres({ dataDir })
  console.log(JSON.stringify({ pid: server.pid, connection: server.connection }))
  process.stdin.resume()
  process.stdin.on('end', () => void server.stop().then(() => process.exit(0)))
} catch (error) {
  console.log(JSON.stringify({ error: (error as Error).message, name: (error as Error).name }))
  process.exit(1)
}
