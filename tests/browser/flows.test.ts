// The main flow in a real Chromium, as a person does it: register, sign in, see the gateway and
// the account, change the password, sign out; the back button then shows nothing of the account,
// and a keyboard alone signs in. The forms, CSP, cookies and redirects are the service's own.
// Every page with axe, with and without JavaScript: tests/browser-pages/ (npm run test:browser).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { databaseKinds } from '../helpers/runtime.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { HAS_CHROMIUM, launchChromium, watchPage, type PageWatch } from '../helpers/browser.ts'
import { startService, type TestService } from '../helpers/service.ts'

// Functions given to page.evaluate run in the page; the project compiles without the DOM lib,
// so the few browser globals they use are declared here, for this module only.
declare const document: any
declare function getComputedStyle(element: unknown): { backgroundColor: string }

// the server database when there is one: it starts in milliseconds, the embedded one in seconds
const kind = databaseKinds()[0]!

describe.skipIf(!HAS_CHROMIUM)(`the pages in Chromium (${kind} database)`, () => {
  let service: TestService
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let watched: PageWatch
  const username = uniqueUsername('Browser')
  const password = strongPassword()
  const newPassword = strongPassword()

  beforeAll(async () => {
    ;[service, browser] = await Promise.all([startService({ kind }), launchChromium()])
    context = await browser.newContext({ baseURL: service.baseUrl, viewport: { width: 390, height: 844 } })
    page = await context.newPage()
    watched = watchPage(page)
  })
  afterAll(async () => {
    await browser?.close()
    await service?.stop()
  })

  const sessionCookie = async () => (await context.cookies()).find((c) => c.name === 'session')
  const signIn = async (name: string, secret: string) => {
    await page.locator('#username').fill(name)
    await page.locator('#password').fill(secret)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  }

  it('registers through the form, the rules shown before typing, and lands on sign-in saying the account was created', async () => {
    await page.goto('/')
    await page.getByRole('link', { name: 'Create one' }).click()
    await page.waitForURL('**/register')
    // the password rules are on the page before anything is typed, and read with the field
    expect(await page.locator('#password-hint').innerText()).toMatch(/At least 15 characters/)
    expect(await page.locator('#password').getAttribute('aria-describedby')).toBe('password-hint')
    await page.locator('#username').fill(username)
    await page.locator('#password').fill(password)
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.waitForURL('**/login')
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Your account was created')
  })

  it('a wrong password: the error in the alert summary, the username kept, the password empty', async () => {
    await signIn(username, `${password}-wrong`)
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Invalid username or password')
    expect(await page.locator('#username').inputValue()).toBe(username)
    expect(await page.locator('#password').inputValue()).toBe('')
    expect(await sessionCookie()).toBeUndefined()
  })

  it('signs in to the dashboard: the gateway card, then the account card with this sign-in and the session end', async () => {
    await signIn(username.toLowerCase(), password)
    await page.waitForURL(`**/dashboard/${username}`)
    expect(await page.locator('h1').textContent()).toContain(username)
    const gateway = page.getByRole('region', { name: 'Gateway' })
    expect(await gateway.locator('.status').innerText()).toMatch(/Gateway and service are healthy\.|Needs attention: /)
    const facts = await gateway.locator('dl').innerText()
    for (const label of ['Hostname', 'Up for', 'Load', 'CPU', 'Memory', 'Storage', 'Database', 'Software'])
      expect(facts).toContain(label)
    expect(facts).toContain(kind === 'embedded' ? 'Embedded PostgreSQL, healthy' : 'PostgreSQL server, healthy')
    const account = await page.getByRole('region', { name: 'Your account' }).innerText()
    expect(account).toMatch(/This sign-in\s+\S/)
    expect(account).toMatch(/Sign-in before\s+none: this is the first/)
    // the script counts down to the end of the session
    expect(account).toMatch(/Session ends[\s\S]*in 5\d min \d\d s/)
    const cookie = await sessionCookie()
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/', secure: false })
    expect(await page.evaluate(() => document.cookie)).not.toContain('session=')
    // the stylesheet applied
    expect(await page.evaluate(() => getComputedStyle(document.querySelector('.card')).backgroundColor)).not.toBe(
      'rgba(0, 0, 0, 0)',
    )
  })

  it('changes the password from the dashboard, with the show-password toggle, and says so', async () => {
    await page.locator('details.change-password summary').click()
    await page.locator('#current_password').fill(password)
    await page.locator('#new_password').fill(newPassword)
    const show = page.getByRole('button', { name: 'Show new password' })
    await show.click()
    expect(await page.locator('#new_password').getAttribute('type')).toBe('text')
    expect(await show.getAttribute('aria-pressed')).toBe('true')
    await page.getByRole('button', { name: 'Change password' }).click()
    await page.waitForURL(`**/dashboard/${username}`)
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Your password was changed')
    expect(await page.content()).not.toContain(newPassword)
  })

  it('signs out: back at /, the dashboard URL sends to /, and Back shows nothing of the account', async () => {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click()
    await page.waitForURL((url) => url.pathname === '/')
    await expect.poll(() => page.getByRole('status').textContent()).toContain('You are signed out')
    expect(await sessionCookie()).toBeUndefined()
    // Back: the dashboard was no-store, so the browser asks again and is sent to sign-in
    await page.goBack()
    await page.waitForURL((url) => url.pathname === '/')
    expect(await page.content()).not.toContain(username)
    expect(await page.locator('form[action="/login"]').count()).toBe(1)
    const response = await page.goto(`/dashboard/${username}`)
    expect(new URL(page.url()).pathname).toBe('/')
    expect(response?.request().redirectedFrom()?.url()).toContain(`/dashboard/${username}`)
    expect(await page.content()).not.toContain(username)
  })

  it('signs in with the keyboard alone: Tab to the fields, type, Enter', async () => {
    await page.goto('/')
    for (
      let presses = 0;
      presses < 10 && (await page.evaluate(() => document.activeElement?.id)) !== 'username';
      presses++
    ) {
      await page.keyboard.press('Tab')
    }
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('username')
    await page.keyboard.type(username)
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('password')
    // the old password no longer signs in; the new one does
    await page.keyboard.type(password)
    await page.keyboard.press('Enter')
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Invalid username or password')
    await page.locator('#password').focus()
    await page.keyboard.type(newPassword)
    await page.keyboard.press('Enter')
    await page.waitForURL(`**/dashboard/${username}`)
    expect(await page.getByRole('region', { name: 'Your account' }).innerText()).toMatch(/Sign-in before\s+\S+/)
  })

  it('no page reported a Content-Security-Policy violation, a script error or a console error', () => {
    expect(watched.cspViolations).toEqual([])
    expect(watched.pageErrors).toEqual([])
    // an error status (the wrong password's 401) makes Chromium log the page load itself as failed
    expect(watched.consoleErrors.filter((e) => !/^Failed to load resource: .* status of 40[01]/.test(e.text))).toEqual(
      [],
    )
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
