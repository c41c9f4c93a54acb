// The pages in a real Chromium: register, sign in, a wrong password, change the password, sign
// out — typing into the forms the service serves, with its CSP, cookies and redirects as they are.
// Screenshots for a human look: /tmp/login-error.png and /tmp/dashboard.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { startService, type TestService } from '../helpers/server.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { HAS_CHROMIUM, launchChromium, watchPage } from '../helpers/browser.ts'

// Functions given to page.evaluate run in the page; the project compiles without the DOM lib,
// so the few browser globals they use are declared here, for this module only.
declare const document: any
declare function getComputedStyle(element: unknown): { backgroundColor: string; maxWidth: string; borderTopLeftRadius: string }

describe.skipIf(!HAS_CHROMIUM)('the pages in Chromium (embedded database)', () => {
  let service: TestService
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let watched: ReturnType<typeof watchPage>
  const stylesheets: { url: string; status: number }[] = []
  const username = uniqueUsername('Browser')
  const password = strongPassword()
  const newPassword = strongPassword()

  beforeAll(async () => {
    ;[service, browser] = await Promise.all([startService('embedded'), launchChromium()])
    context = await browser.newContext({ baseURL: service.baseUrl, viewport: { width: 900, height: 700 } })
    page = await context.newPage()
    watched = watchPage(page)
    page.on('response', (response) => {
      if (new URL(response.url()).pathname.startsWith('/static/')) stylesheets.push({ url: response.url(), status: response.status() })
    })
  })
  afterAll(async () => {
    await browser?.close()
    await service?.stop()
  })

  const sessionCookie = async () => (await context.cookies()).find((c) => c.name === 'session')

  it('registers through the form and lands on the login page saying the account was created', async () => {
    await page.goto('/')
    await page.getByRole('link', { name: 'Create one' }).click()
    await page.waitForURL('**/register')
    await page.locator('#username').pressSequentially(username)
    await page.locator('#password').pressSequentially(password)
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.waitForURL('**/login')
    await expect.poll(() => page.locator('.notice').textContent()).toContain('Your account was created')
    // the notice is shown once: a reload does not repeat it
    await page.reload()
    expect(await page.locator('.notice').count()).toBe(0)
  })

  it('a wrong password shows the error, keeps the username and empties the password', async () => {
    await page.locator('#username').pressSequentially(username)
    await page.locator('#password').pressSequentially(`${password}-wrong`)
    const response = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/login'))
    await page.getByRole('button', { name: 'Sign in' }).click()
    expect((await response).status()).toBe(401)
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Invalid username or password')
    expect(await page.locator('#username').inputValue()).toBe(username)
    expect(await page.locator('#password').inputValue()).toBe('')
    expect(await sessionCookie()).toBeUndefined()
    await page.screenshot({ path: '/tmp/login-error.png', fullPage: true })
  })

  it('signs in and shows the dashboard: username, creation, last sign-in and expiry', async () => {
    await page.locator('#username').fill('')
    await page.locator('#username').pressSequentially(username.toLowerCase())
    await page.locator('#password').pressSequentially(password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(`**/dashboard/${username}`)
    // shown as registered, although typed in lower case
    expect(await page.locator('h1').textContent()).toContain(username)
    const facts = await page.locator('dl.facts').innerText()
    expect(facts).toMatch(/Account created\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/)
    expect(facts).toMatch(/Last sign-in\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/)
    expect(facts).toMatch(/Session expires\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/)
    const times = await page.locator('dl.facts time').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('datetime')))
    const [created, lastLogin, expires] = times.map((t) => Date.parse(t ?? ''))
    expect(lastLogin! - created!).toBeGreaterThanOrEqual(0)
    expect(expires! - lastLogin!).toBeGreaterThan(3599_000)
    expect(expires! - lastLogin!).toBeLessThanOrEqual(3600_000)

    const cookie = await sessionCookie()
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/', secure: false })
    // the cookie is HttpOnly: page script (were there any) could not read it
    expect(await page.evaluate(() => document.cookie)).not.toContain('session=')
    await page.screenshot({ path: '/tmp/dashboard.png', fullPage: true })
  })

  it('the stylesheet loads and applies', async () => {
    expect(stylesheets.length).toBeGreaterThan(0)
    for (const sheet of stylesheets) expect(sheet.status).toBe(200)
    const styles = await page.evaluate(() => {
      const root = getComputedStyle(document.documentElement)
      const card = getComputedStyle(document.querySelector('main.card')!)
      return { rootBackground: root.backgroundColor, cardMaxWidth: card.maxWidth, cardRadius: card.borderTopLeftRadius }
    })
    expect(styles.rootBackground).not.toBe('rgba(0, 0, 0, 0)')
    expect(styles.cardMaxWidth).not.toBe('none')
    expect(styles.cardRadius).not.toBe('0px')
  })

  it('changes the password from the dashboard form and says so', async () => {
    await page.locator('details.change-password summary').click()
    await page.locator('#current_password').pressSequentially(password)
    await page.locator('#new_password').pressSequentially(newPassword)
    await page.getByRole('button', { name: 'Change password' }).click()
    await page.waitForURL(`**/dashboard/${username}`)
    await expect.poll(() => page.locator('.notice').textContent()).toContain('Your password was changed')
    expect(await page.content()).not.toContain(newPassword)
  })

  it('signs out: back at /, and the dashboard now redirects to /', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL((url) => url.pathname === '/')
    await expect.poll(() => page.locator('.notice').textContent()).toContain('You are signed out')
    expect(await sessionCookie()).toBeUndefined()
    expect(await page.locator('form[action="/login"]').count()).toBe(1)
    const response = await page.goto(`/dashboard/${username}`)
    expect(new URL(page.url()).pathname).toBe('/')
    expect(response?.request().redirectedFrom()?.url()).toContain(`/dashboard/${username}`)
  })

  it('the new password signs in; the old one does not', async () => {
    await page.locator('#username').pressSequentially(username)
    await page.locator('#password').pressSequentially(password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Invalid username or password')
    await page.locator('#password').pressSequentially(newPassword)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(`**/dashboard/${username}`)
  })

  it('no page reported a Content-Security-Policy violation or a script error', () => {
    expect(watched.cspViolations).toEqual([])
    expect(watched.pageErrors).toEqual([])
  })

  it('(self-check) the CSP watcher does see a violation, and the CSP blocks inline styles', async () => {
    const other = await context.newPage()
    const seen = watchPage(other)
    await other.goto('/login')
    await other.evaluate(() => {
      const style = document.createElement('style')
      style.textContent = 'body { background: rgb(255, 0, 0) }'
      document.head.append(style)
    })
    await expect.poll(() => seen.cspViolations.length).toBeGreaterThan(0)
    expect(await other.evaluate(() => getComputedStyle(document.body).backgroundColor)).not.toBe('rgb(255, 0, 0)')
    await other.close()
  })
})
