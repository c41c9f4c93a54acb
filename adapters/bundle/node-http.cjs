// node:http for the image's bundle (`npm run bundle` aliases 'node:http' to this file). An ES import of
// node:http builds its ES facade, which reads every export, and the WebSocket and fetch classes among
// them load undici: 3 MB and milliseconds at every start, for a client this server never uses. Middy
// imports node:http that way (for STATUS_CODES); a require returns the module without reading them.
// biome-ignore lint/style/useNodejsImportProtocol: 'node:http' would be aliased back onto this file
module.exports = require('http')
