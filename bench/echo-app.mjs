// The protected app of the front-door bench: a bare node:http server answering a small page, as
// its own process on PORT (so its time can be measured directly and subtracted).
import { createServer } from 'node:http'

createServer((request, response) => {
  response.setHeader('content-type', 'text/plain')
  response.end(`app page for ${request.headers['remote-user'] ?? 'nobody'}\n`)
}).listen(Number(process.env.PORT), '127.0.0.1')
