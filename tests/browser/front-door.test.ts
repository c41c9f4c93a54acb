// The front door in a real Chromium through Debian's Caddy (proxy/Caddyfile as shipped): open an
// app, register and sign in on the way, land back at the app's exact URL with the identity the app
// sees; the portal links the app; signing out closes it again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { HAS_CHROMIUM, launchChromium } from '../helpers/browser.ts'
import { serverDatabaseUrl } from '../helpers/runtime.ts'
import { startBehindProxy, type FrontDoor } from '../helpers/front-door.ts'
import { skipNotice, startCaddy, type RunningProxy } from '../helpers/proxies.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'

declare const document: { body: { innerText: string } }

const missing = !HAS_CHROMIUM || !serverDatabaseUrl() || skipNotice('caddy')

describe.skipIf(missing)('the front door in Chromium through Caddy', () => {
  let door: FrontDoor
  let proxy: RunningProxy
  let browser: Browser
  let page: Page
  const username = uniqueUsername('owner')
  const password = strongPassword()

  beforeAll(async () => {
    door = await startBehindProxy(startCaddy)
    proxy = door.proxy
    browser = await launchChromium()
    page = await (await browser.newContext()).newPage()
  })
  afterAll(async () => {
    await browser?.close()
    await door?.stop()
  })

  const seenByApp = async () => JSON.parse(await page.evaluate(() => document.body.innerText))

  it('opens the app → signs in (registering first) → is back at the app’s exact URL as that account', async () => {
    const wanted = `${proxy.baseUrl}/chirpstack/devices/0102?tab=frames`
    await page.goto(wanted)
    expect(page.url()).toBe(`${proxy.baseUrl}/login?return_to=${encodeURIComponent(wanted)}`)

    await page.getByRole('link', { name: 'Create one' }).click()
    await page.locator('#username').fill(username)
    await page.locator('#password').fill(password)
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.waitForURL('**/login?return_to=*')

    await page.locator('#username').fill(username)
    await page.locator('#password').fill(password)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.waitForURL(wanted)
    expect(page.url()).toBe(wanted)
    const seen = await seenByApp()
    expect(seen.path).toBe('/chirpstack/devices/0102?tab=frames')
    expect(seen.headers['remote-user']).toBe(username)
    expect(seen.headers['remote-groups']).toBe('admins')
  })

  it('lists the apps on the portal; signing out there closes the app again', async () => {
    await page.goto(`${proxy.baseUrl}/dashboard/${username}`)
    const links = page.locator('.app-list a')
    expect(await links.allInnerTexts()).toEqual(['ChirpStack', 'Node-RED'])
    await page.getByRole('button', { name: 'Sign out' }).first().click()
    await page.waitForURL(`${proxy.baseUrl}/`)
    await page.goto(`${proxy.baseUrl}/nodered/`)
    expect(page.url()).toBe(`${proxy.baseUrl}/login?return_to=${encodeURIComponent(`${proxy.baseUrl}/nodered/`)}`)
  })
})
