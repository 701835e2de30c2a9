/**
 * A real headless browser for the console's tests: Debian's chromium driven by puppeteer-core (the project's
 * scripts/delivery/check-tools.sh installs chromium where it is missing; CHROMIUM_PATH names another).
 */
import { existsSync } from 'node:fs'
import puppeteer, { type Browser } from 'puppeteer-core'

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']

export const chromiumPath = (): string => {
  const path = process.env.CHROMIUM_PATH ?? CANDIDATES.find((p) => existsSync(p))
  if (!path || !existsSync(path))
    throw new Error(
      'chromium not found: scripts/delivery/check-tools.sh installs it (apt-get install chromium), or set CHROMIUM_PATH',
    )
  return path
}

export const launchBrowser = (): Promise<Browser> =>
  puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    // As root (CI machines) chromium needs --no-sandbox; /dev/shm is small in containers.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  })
