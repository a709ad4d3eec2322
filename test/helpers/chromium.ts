import { type Browser, chromium } from 'playwright-core';

/**
 * Debian's Chromium, as `.ci/run` installs it; playwright-core never downloads a browser.
 * A test that needs it fails (never skips) when it is missing.
 */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Launches headless Chromium with the flags this closed network needs: without the
 * background-networking ones it keeps trying hosts it cannot reach.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
