// REGISTRATION=first in a real Chromium: the owner follows the register link on an unclaimed
// gateway and creates the first account; after that the link is gone and /register says that
// registration is closed, without a form.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { HAS_CHROMIUM, launchChromium } from '../helpers/browser.ts'
import { startService, type TestService } from '../helpers/service.ts'

describe.skipIf(!HAS_CHROMIUM)('registration policy "first" in Chromium', () => {
  let service: TestService
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    ;[service, browser] = await Promise.all([
      startService({ kind: 'embedded', env: { REGISTRATION: 'first' } }),
      launchChromium(),
    ])
    page = await (await browser.newContext({ baseURL: service.baseUrl })).newPage()
  })
  afterAll(async () => {
    await browser?.close()
    await service?.stop()
  })

  it('the owner claims the gateway through the register link; then the link is gone and registration closed', async () => {
    await page.goto('/')
    await expect.poll(() => page.locator('.aside').first().textContent()).toContain('the first one owns it')
    await page.getByRole('link', { name: 'Create one' }).click()
    await page.waitForURL('**/register')
    await page.locator('#username').fill(uniqueUsername('owner'))
    await page.locator('#password').fill(strongPassword())
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.waitForURL('**/login')

    expect(await page.getByRole('link', { name: 'Create one' }).count()).toBe(0)
    const closed = await page.goto('/register')
    expect(closed?.status()).toBe(403)
    expect(await page.locator('h1').textContent()).toBe('Registration is closed')
    expect(await page.locator('form[action="/register"]').count()).toBe(0)
    expect(await page.title()).toMatch(/^Registration closed/)
  })
})
