// mime-db for the image's bundle (`npm run bundle` aliases 'mime-db' to this file): mime-db's own entries for
// the media types this service sends or reads. mime-types turns the whole database (2,500 types) into
// its lookup maps when Express loads: a seventh of a start's CPU, for lookups the service never makes
// (it sets every Content-Type itself). tests/bundle/stand-ins.test.ts keeps the entries mime-db's.
module.exports = {
  'text/html': { source: 'iana', compressible: true, extensions: ['html', 'htm', 'shtml'] },
  'application/json': { source: 'iana', charset: 'UTF-8', compressible: true, extensions: ['json', 'map'] },
  'application/problem+json': { source: 'iana', compressible: true },
  'application/x-www-form-urlencoded': { source: 'iana', compressible: true },
  'text/plain': {
    source: 'iana',
    compressible: true,
    extensions: ['txt', 'text', 'conf', 'def', 'list', 'log', 'in', 'ini'],
  },
  'application/octet-stream': {
    source: 'iana',
    compressible: true,
    extensions: [
      'bin',
      'dms',
      'lrf',
      'mar',
      'so',
      'dist',
      'distz',
      'pkg',
      'bpk',
      'dump',
      'elc',
      'deploy',
      'exe',
      'dll',
      'deb',
      'dmg',
      'iso',
      'img',
      'msi',
      'msp',
      'msm',
      'buffer',
    ],
  },
  'text/css': { source: 'iana', charset: 'UTF-8', compressible: true, extensions: ['css'] },
  'text/javascript': { source: 'iana', charset: 'UTF-8', compressible: true, extensions: ['js', 'mjs'] },
  'image/svg+xml': { source: 'iana', compressible: true, extensions: ['svg', 'svgz'] },
  'image/png': { source: 'iana', compressible: false, extensions: ['png'] },
  'image/x-icon': { source: 'apache', compressible: true, extensions: ['ico'] },
  'font/woff2': { source: 'iana', extensions: ['woff2'] },
}
