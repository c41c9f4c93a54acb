// The second factor in a real Chromium, as a person does it at 360 px wide: set up the
// authenticator app from the security page (the key read off the page, the codes computed here as
// the app would), sign out, sign in with the password and a code typed with the keyboard alone,
// then with a recovery code, which says how many are left. No page scrolls sideways at 360 px; no
// CSP violation or console error. axe in light and dark on these pages: tests/browser-pages/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { TOTP } from 'otpauth'
import { databaseKinds } from '../helpers/runtime.ts'
import { strongPassword } from '../helpers/factories.ts'
import { HAS_CHROMIUM, launchChromium, watchPage, type PageWatch } from '../helpers/browser.ts'
import { startService, type TestService } from '../helpers/service.ts'

declare const document: any
const kind = databaseKinds()[0]!

describe.skipIf(!HAS_CHROMIUM)('the second factor in Chromium', () => {
  let service: TestService
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let watched: PageWatch
  let secret = ''
  let recoveryCodes: string[] = []
  const password = strongPassword()
  let username = ''

  beforeAll(async () => {
    ;[service, browser] = await Promise.all([startService({ kind }), launchChromium()])
    username = (await service.register('Phone', password)).username
    context = await browser.newContext({ baseURL: service.baseUrl, viewport: { width: 360, height: 740 } })
    page = await context.newPage()
    watched = watchPage(page)
  })
  afterAll(async () => {
    await browser?.close()
    await service?.stop()
  })

  const code = (offsetMs = 0) => new TOTP({ secret }).generate({ timestamp: Date.now() + offsetMs })
  const fitsWidth = async () =>
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360)
  const signInWithPassword = async () => {
    await page.goto('/')
    await page.locator('#username').fill(username)
    await page.locator('#password').fill(password)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.waitForURL('**/login/second-factor')
    await fitsWidth()
  }
  const signOut = async () => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL('**/')
  }

  it('sets up the app from the dashboard: a QR code and the key, confirmed with its first code; ten codes shown', async () => {
    await page.goto('/')
    await page.locator('#username').fill(username)
    await page.locator('#password').fill(password)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.waitForURL(`**/dashboard/${username}`)
    await page.getByRole('link', { name: 'Sign-in security' }).click()
    await page.waitForURL('**/security')
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click()
    await page.waitForURL('**/security')
    expect(await page.getByRole('img', { name: 'QR code of the key below' }).count()).toBe(1)
    await fitsWidth()
    secret = (await page.locator('#totp-key').innerText()).replace(/\s/g, '')
    expect(secret).toMatch(/^[A-Z2-7]{32}$/)
    await page.locator('#code').fill(code())
    await page.locator('#current_password').fill(password)
    await page.getByRole('button', { name: 'Turn on' }).click()
    await expect.poll(() => page.locator('.recovery-codes li').count()).toBe(10)
    recoveryCodes = await page.locator('.recovery-codes code').allInnerTexts()
    expect(await page.getByRole('region', { name: 'Authenticator app' }).innerText()).toMatch(/Recovery codes left: 10/)
    await fitsWidth()
  })

  it('signs out, then in with the password and a code typed with the keyboard alone', async () => {
    await signOut()
    await signInWithPassword()
    await page.locator('#code').focus()
    // the code of the next step: the one shown now may be the one the setup just used (once only)
    await page.keyboard.type(code(30_000))
    await page.keyboard.press('Enter')
    await page.waitForURL(`**/dashboard/${username}`)
    const sessions = await page.locator('ul.sessions').innerText()
    expect(sessions).toContain('with the password and the app')
  })

  it('signs in with a recovery code: sent to the security page, which says a code was used and how many are left', async () => {
    await signOut()
    await signInWithPassword()
    await page.locator('#code').fill(recoveryCodes[0]!)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.waitForURL('**/security')
    expect(await page.getByRole('status').innerText()).toContain('You signed in with a recovery code')
    expect(await page.getByRole('region', { name: 'Authenticator app' }).innerText()).toMatch(/Recovery codes left: 9/)
    await fitsWidth()
  })

  it('a used recovery code does not work twice; the page says so and keeps the form', async () => {
    await signOut()
    await signInWithPassword()
    await page.locator('#code').fill(recoveryCodes[0]!)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Invalid code')
    expect(page.url()).toMatch(/\/login\/second-factor$/)
  })

  it('no page reported a CSP violation, a script error or a console error but the refused code', () => {
    expect(watched.cspViolations).toEqual([])
    expect(watched.pageErrors).toEqual([])
    expect(watched.consoleErrors.filter((e) => !/status of 401/.test(e.text))).toEqual([])
  })
})
