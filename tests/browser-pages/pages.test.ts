// Every page (tests/helpers/page-tour.ts) in a real Chromium, with its page script and without
// JavaScript: no console error, no CSP violation, and axe-core finds nothing serious or critical
// in the light or the dark colour scheme. Slow (a minute): `npm run test:browser`, from .ci/run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { stopRuntime } from '#lib/platform/runtime.ts'
import { HAS_CHROMIUM, launchChromium, seriousAxeViolations, watchPage, type AxeViolation } from '../helpers/browser.ts'
import { prepareTour, tourPages, type TourNames, type TourStop } from '../helpers/page-tour.ts'
import { RAK_FLEET, startFakeSupervisor, type FakeSupervisor } from '../helpers/fake-supervisor.ts'
import { startService, type TestService } from '../helpers/service.ts'

const MAX_FAILURES = 3
const EXPECTED: Record<string, number> = {
  'sign-in': 200,
  register: 200,
  'register-errors': 400,
  'sign-in-error': 401,
  dashboard: 200,
  'gateway-forwarder-running': 200,
  'gateway-forwarder-stopped': 200,
  'dashboard-password-errors': 400,
  security: 200,
  'security-enrol': 200,
  'security-recovery-codes': 200,
  'second-factor': 200,
  'second-factor-error': 401,
  'error-403': 403,
  'error-404': 404,
  'error-405': 405,
  'error-429': 429,
  'error-500': 500,
  'signed-out': 200,
  'error-503': 503,
}

describe.skipIf(!HAS_CHROMIUM)('every page in Chromium', () => {
  let service: TestService
  let browser: Browser
  let supervisor: FakeSupervisor
  const savedEnv = { ...process.env }

  beforeAll(async () => {
    // a RAK gateway on balena: the card reads these from the environment when it is shown
    supervisor = await startFakeSupervisor()
    Object.assign(process.env, RAK_FLEET, supervisor.env)
    ;[service, browser] = await Promise.all([
      startService({
        env: {
          LOGIN_MAX_FAILURES: String(MAX_FAILURES),
          LOGIN_CLIENT_MAX_FAILURES: '1000',
        },
      }),
      launchChromium(),
    ])
  })
  afterAll(async () => {
    process.env = savedEnv
    await browser?.close()
    await service?.stop()
    await supervisor?.close()
  })

  /** Walks the tour in a fresh context; `look` runs at each stop. Returns the stops and what the pages complained of. */
  async function walk(
    javaScriptEnabled: boolean,
    names: TourNames,
    look: (stop: TourStop, page: Page) => Promise<void>,
  ) {
    const context = await browser.newContext({ javaScriptEnabled, viewport: { width: 390, height: 844 } })
    const page = await context.newPage()
    const watch = watchPage(page)
    const stops: TourStop[] = []
    const unexpected: string[] = []
    const accounts = await prepareTour(service.baseUrl, MAX_FAILURES, names)
    // the gateway card is for admins, and only the first walk's account is the gateway's first
    await service.runtime.db.none("UPDATE users SET groups = '{admins}' WHERE username = $1", [names.account])
    const tour = tourPages(page, {
      baseUrl: service.baseUrl,
      db: service.runtime.db,
      ...accounts,
      supervisor,
      // the last stop: the runtime stops, and starting it again finds no database (a real 503)
      stopDatabase: javaScriptEnabled
        ? undefined
        : async () => {
            await stopRuntime()
            const nowhere = 'postgres://gateway@127.0.0.1:9/none'
            Object.assign(process.env, { DATA_DIR: service.dataDir, LOG_LEVEL: 'silent', DATABASE_URL: nowhere })
          },
    })
    for await (const stop of tour) {
      stops.push(stop)
      // a key among the fleet variables never reaches a page
      expect(await page.content(), stop.name).not.toContain(RAK_FLEET.TTS_PERSONAL_KEY)
      await look(stop, page)
      // an error status makes Chromium log the document's own load as failed: that one is expected
      const loadFailure = `Failed to load resource: the server responded with a status of ${stop.status}`
      for (const error of watch.consoleErrors.splice(0)) {
        if (!(stop.status >= 400 && error.text.startsWith(loadFailure))) unexpected.push(`${stop.name}: ${error.text}`)
      }
    }
    await context.close()
    return { stops, watch, unexpected }
  }

  it('(self-check) axe does report a serious violation: grey text on grey', async () => {
    const page = await browser.newPage()
    await page.goto(`${service.baseUrl}/login`)
    await page.evaluate(() => {
      const document = (globalThis as any).document
      const text = document.createElement('p')
      text.textContent = 'hard to read'
      text.style.color = '#777'
      text.style.background = '#888'
      document.querySelector('main').append(text)
    })
    expect((await seriousAxeViolations(page)).map((v) => v.id)).toContain('color-contrast')
    await page.close()
  })

  it('with the page script: every page loads with its status, axe finds nothing serious in light or dark, no console error', async () => {
    const violations: Record<string, AxeViolation[]> = {}
    let toggles = 0
    let copied = ''
    const names = { account: 'js-operator', other: 'js-other', locked: 'js-locked' }
    const { stops, watch, unexpected } = await walk(true, names, async (stop, page) => {
      for (const colorScheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme })
        const found = await seriousAxeViolations(page)
        if (found.length) violations[`${stop.name} (${colorScheme})`] = found
      }
      if (stop.name === 'gateway-forwarder-running') {
        // the copy button selects the EUI and copies the selection (the browser says it did)
        const copy = page.getByRole('button', { name: `Copy ${RAK_FLEET.GATEWAY_EUI}` })
        await copy.click()
        await expect.poll(() => copy.textContent()).toBe('Copied')
        copied = await page.evaluate(() => String((globalThis as any).getSelection()))
      }
      if (stop.name === 'dashboard') {
        toggles = await page.locator('button.reveal').count()
        // the countdown is live: it shows the seconds and they move
        const first = await page.locator('[data-countdown]').textContent()
        await expect.poll(() => page.locator('[data-countdown]').textContent(), { timeout: 3_000 }).not.toBe(first)
      }
    })
    expect(Object.fromEntries(stops.map((s) => [s.name, s.status]))).toEqual(
      Object.fromEntries(Object.entries(EXPECTED).filter(([name]) => name !== 'error-503')),
    )
    expect(violations).toEqual({})
    expect(toggles).toBe(2) // current and new password
    expect(copied).toBe(RAK_FLEET.GATEWAY_EUI)
    expect(watch.cspViolations).toEqual([])
    expect(watch.pageErrors).toEqual([])
    expect(unexpected).toEqual([])
  })

  it('without JavaScript: every page works the same, down to a real 503, with no console error or CSP violation', async () => {
    const names = { account: 'nojs-operator', other: 'nojs-other', locked: 'nojs-locked' }
    const { stops, watch, unexpected } = await walk(false, names, async (stop, page) => {
      // without the script no show-password or copy button appears, and the page stays usable
      expect(await page.locator('button.reveal, button.copy').count(), stop.name).toBe(0)
      if (stop.name === 'gateway-forwarder-stopped') {
        // the EUI is still there to select and copy by hand
        expect(await page.locator('#gateway-eui').textContent()).toBe(RAK_FLEET.GATEWAY_EUI)
        expect(
          await page.locator('#gateway-eui').evaluate((e) => (globalThis as any).getComputedStyle(e).userSelect),
        ).toBe('all')
      }
    })
    expect(Object.fromEntries(stops.map((s) => [s.name, s.status]))).toEqual(EXPECTED)
    expect(watch.cspViolations).toEqual([])
    expect(unexpected).toEqual([])
  })
})
