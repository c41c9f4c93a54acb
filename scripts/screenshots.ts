// npm run screenshots: every page (tests/helpers/page-tour.ts) in Debian's Chromium at a phone's
// 390×844 and a laptop's 1280×800, light and dark, into docs/screenshots/<page>-<width>-<scheme>.png.
// The service runs here on a fresh embedded database, as on a balena device (BALENA_* set) with a
// RAK packet forwarder (fleet variables, and a stand-in supervisor: tests/helpers/fake-supervisor.ts).
// A stop about one element (the gateway card with the forwarder running, stopped) is shot alone.
import { mkdtemp, mkdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { writeFile } from 'node:fs/promises'
import sharp from 'sharp'
import { loadConfig } from '#lib/platform/config.ts'
import { startRuntime, stopRuntime } from '#lib/platform/runtime.ts'
import { createApp } from '../adapters/express-app.ts'
import { launchChromium } from '../tests/helpers/browser.ts'
import { prepareTour, tourPages } from '../tests/helpers/page-tour.ts'
import { RAK_FLEET, startFakeSupervisor } from '../tests/helpers/fake-supervisor.ts'

const OUT = path.resolve(import.meta.dirname, '../docs/screenshots')
const VIEWPORTS = [
  { width: 390, height: 844 },
  { width: 1280, height: 800 },
] as const
const SCHEMES = ['light', 'dark'] as const
const MAX_FAILURES = 3

const supervisor = await startFakeSupervisor()
Object.assign(process.env, RAK_FLEET, supervisor.env, {
  BALENA: '1',
  BALENA_DEVICE_NAME_AT_INIT: 'north-field-7268',
  BALENA_DEVICE_TYPE: 'raspberrypi4-64',
  BALENA_APP_NAME: 'lora-gateways',
})
const dataDir = await mkdtemp(path.join(tmpdir(), 'ga-shots-'))
// the portal: two apps of the gateway behind the front door (docs/front-door.md)
const accessRules = path.join(dataDir, 'access-rules.yml')
await writeFile(
  accessRules,
  `rules:
  - { name: ChirpStack, host: gateway.local, path: /chirpstack/, allow: signed_in }
  - { name: Node-RED, host: gateway.local, path: /nodered/, allow: signed_in }
`,
)
const env = {
  ACCESS_RULES: accessRules,
  DATA_DIR: dataDir,
  LOG_LEVEL: 'silent',
  LOGIN_MAX_FAILURES: String(MAX_FAILURES),
  LOGIN_CLIENT_MAX_FAILURES: '1000',
  // the tour signs several people up (the default, first, would close registration after one)
  REGISTRATION: 'open',
}
const runtime = await startRuntime(loadConfig(env))
const server = (await createApp()).listen(0, '127.0.0.1')
await new Promise((resolve) => server.once('listening', resolve))
// localhost, not 127.0.0.1: a secure context at a name, where the security page offers passkeys
const baseUrl = `http://localhost:${(server.address() as AddressInfo).port}`
const browser = await launchChromium()
try {
  await mkdir(OUT, { recursive: true })
  const page = await browser.newPage({ viewport: VIEWPORTS[0] })
  const tour = tourPages(page, {
    baseUrl,
    db: runtime.db,
    ...(await prepareTour(baseUrl, MAX_FAILURES)),
    supervisor,
    stopDatabase: async () => {
      await stopRuntime()
      // the next request starts the runtime again and finds nothing listening: a real 503
      Object.assign(process.env, env, { DATABASE_URL: 'postgres://gateway@127.0.0.1:9/none' })
    },
  })
  for await (const stop of tour) {
    for (const viewport of VIEWPORTS) {
      await page.setViewportSize(viewport)
      for (const colorScheme of SCHEMES) {
        await page.emulateMedia({ colorScheme })
        const file = path.join(OUT, `${stop.name}-${viewport.width}-${colorScheme}.png`)
        // a 256-colour palette: the flat colours of the pages survive, the files shrink to a third
        const png = stop.element
          ? await page.locator(stop.element).screenshot()
          : await page.screenshot({ fullPage: true })
        const small = await sharp(png).png({ palette: true, quality: 90, effort: 10, compressionLevel: 9 }).toBuffer()
        await writeFile(file, small)
      }
    }
    console.log(`${stop.status} ${stop.name}`)
  }
} finally {
  await browser.close()
  server.closeAllConnections()
  server.close()
  await stopRuntime()
  await supervisor.close()
  await rm(dataDir, { recursive: true, force: true })
}
