// A real Chromium (Debian's) driven by playwright-core, for tests of what a browser does with the
// pages: forms, cookies, redirects, CSP. No downloads: playwright-core ships no browser.
import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** The browser tests run only where Debian's Chromium is installed (global-setup says so once when not). */
export const HAS_CHROMIUM = existsSync(CHROMIUM)

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless', '--no-sandbox', '--disable-background-networking', '--disable-gpu',
      '--disable-component-update', '--no-first-run', '--disable-sync',
    ],
  })
}

/** Console messages that report a Content-Security-Policy violation, and uncaught page errors. */
export function watchPage(page: Page): { cspViolations: string[]; pageErrors: string[] } {
  const cspViolations: string[] = []
  const pageErrors: string[] = []
  page.on('console', (message) => {
    if (/Content[ -]Security[ -]Policy/i.test(message.text())) cspViolations.push(message.text())
  })
  page.on('pageerror', (error) => pageErrors.push(error.message))
  return { cspViolations, pageErrors }
}
