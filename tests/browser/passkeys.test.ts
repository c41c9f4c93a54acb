// Passkeys in a real Chromium with its virtual authenticator (the DevTools protocol's WebAuthn
// domain, through playwright-core): at http://localhost, a secure context, a person adds a passkey on
// the security page, renames it, signs out, signs in with password + passkey, and removes it. The
// passkey pages pass axe in light and dark and fit 360 px; at 127.0.0.1 the page offers no passkey
// and says why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core'
import { databaseKinds } from '../helpers/runtime.ts'
import { HAS_CHROMIUM, launchChromium, seriousAxeViolations, watchPage, type PageWatch } from '../helpers/browser.ts'
import { startService, type TestService } from '../helpers/service.ts'

declare const document: any

const kind = databaseKinds()[0]!

describe.skipIf(!HAS_CHROMIUM)(`passkeys in Chromium (${kind} database)`, () => {
  let service: TestService
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let watched: PageWatch
  let cdp: CDPSession
  let authenticatorId: string
  let localhost: string
  let account: { username: string; password: string }

  beforeAll(async () => {
    ;[service, browser] = await Promise.all([startService({ kind }), launchChromium()])
    localhost = service.baseUrl.replace('127.0.0.1', 'localhost')
    account = await service.register('Keys')
    context = await browser.newContext({ baseURL: localhost, viewport: { width: 360, height: 780 } })
    page = await context.newPage()
    watched = watchPage(page)
    cdp = await context.newCDPSession(page)
    await cdp.send('WebAuthn.enable')
    ;({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    }))
  })
  afterAll(async () => {
    await browser?.close()
    await service?.stop()
  })

  const credentials = async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials
  const click = async (name: string) => {
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name, exact: true }).click()])
  }
  const signIn = async () => {
    await page.goto('/')
    await page.locator('#username').fill(account.username)
    await page.locator('#password').fill(account.password)
    await click('Sign in')
    await page.waitForURL(`**/dashboard/${account.username}`)
  }
  /** axe finds nothing serious in either scheme, and nothing is wider than the 360 px viewport. */
  async function expectAccessible(label: string) {
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme })
      expect(await seriousAxeViolations(page), `${label} (${colorScheme})`).toEqual([])
    }
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    expect(width, `${label} at 360 px`).toBeLessThanOrEqual(360)
  }

  it('adds a passkey from the security page: the browser creates it, the page lists it and says so', async () => {
    await signIn()
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Sign-in security' }).click()])
    expect(await page.getByText('You have no passkeys yet.').count()).toBe(1)
    await expectAccessible('passkeys, none yet')
    await page.locator('#name').fill('Laptop')
    await click('Add a passkey')
    expect(await page.locator('h1').innerText()).toContain('Laptop')
    await expectAccessible('passkey creation')
    await click('Create the passkey')
    await page.waitForURL('**/security')
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Your passkey was added')
    expect(await page.locator('.passkey-list').innerText()).toContain('Laptop')
    const [credential] = await credentials()
    expect(credential).toMatchObject({ rpId: 'localhost', isResidentCredential: true })
    await expectAccessible('passkeys, one listed')
  })

  it('renames it', async () => {
    await page.locator('.passkey-list summary', { hasText: 'Rename' }).click()
    await page.getByLabel('New name').fill('Work laptop')
    await click('Rename')
    await expect.poll(() => page.getByRole('status').textContent()).toContain('renamed')
    expect(await page.locator('.passkey-list strong').innerText()).toBe('Work laptop')
  })

  it('signs out, then in with the password and the passkey: the second step offers it', async () => {
    await click('Sign out')
    await page.goto('/')
    await page.locator('#username').fill(account.username)
    await page.locator('#password').fill(account.password)
    await click('Sign in')
    await page.waitForURL('**/login/second-factor')
    await expectAccessible('second step with a passkey')
    await click('Use a passkey')
    expect(await page.locator('h1').innerText()).toBe('Use your passkey')
    await expectAccessible('passkey sign-in')
    await click('Use the passkey')
    await page.waitForURL(`**/dashboard/${account.username}`)
    // the sessions list says how this one signed in
    expect(await page.locator('.sessions').innerText()).toContain('with the password and a passkey')
    const [credential] = await credentials()
    expect(credential!.signCount).toBeGreaterThan(0)
    await page.goto('/security')
    expect(await page.locator('.passkey-list strong').innerText()).toBe('Work laptop')
    expect(await page.locator('.passkey-list').innerText()).not.toContain('last used never')
  })

  it('removing it asks for the current password: a wrong one keeps it, the right one removes it', async () => {
    await page.locator('.passkey-list summary', { hasText: 'Remove' }).click()
    await page.locator('.passkey-list input[name="current_password"]').fill('not the password at all')
    await click('Remove Work laptop')
    expect(await page.getByRole('alert').innerText()).toContain('Some fields are invalid')
    expect(await page.locator('.passkey-list strong').innerText()).toBe('Work laptop')
    await page.locator('.passkey-list summary', { hasText: 'Remove' }).click()
    await page.locator('.passkey-list input[name="current_password"]').fill(account.password)
    await click('Remove Work laptop')
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Your passkey was removed')
    expect(await page.getByText('You have no passkeys yet.').count()).toBe(1)
  })

  it('at 127.0.0.1 (an address) offers no passkey and says why', async () => {
    const plain = await browser.newContext({ viewport: { width: 360, height: 780 } })
    const other = await plain.newPage()
    await other.goto(`${service.baseUrl}/`)
    await other.locator('#username').fill(account.username)
    await other.locator('#password').fill(account.password)
    await Promise.all([other.waitForNavigation(), other.getByRole('button', { name: 'Sign in', exact: true }).click()])
    await other.goto(`${service.baseUrl}/security`)
    expect(await other.getByRole('note').innerText()).toMatch(/opened by its address/)
    expect(await other.getByRole('button', { name: 'Add a passkey' }).count()).toBe(0)
    const previous = page
    page = other
    await expectAccessible('passkeys at an address')
    page = previous
    await plain.close()
  })

  it('no page complained: no CSP violation, no script error', () => {
    expect(watched.cspViolations).toEqual([])
    expect(watched.pageErrors).toEqual([])
  })
})
