import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where a Chromium is on this machine, or undefined: CHROMIUM_PATH if set, then the OS package
 * (Debian's /usr/bin/chromium, Ubuntu's chromium-browser), then the newest Chromium Playwright
 * installed (`npx playwright install chromium`, under PLAYWRIGHT_BROWSERS_PATH or its cache).
 */
export function findChromium(): string | undefined {
  if (process.env.CHROMIUM_PATH)
    return existsSync(process.env.CHROMIUM_PATH) ? process.env.CHROMIUM_PATH : undefined;
  const system = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/snap/bin/chromium'].find((path) =>
    existsSync(path),
  );
  return system ?? playwrightChromium();
}

function playwrightChromium(): string | undefined {
  const roots = [
    process.env.PLAYWRIGHT_BROWSERS_PATH,
    join(homedir(), '.cache', 'ms-playwright'),
    join(homedir(), 'Library', 'Caches', 'ms-playwright'),
  ].filter((root): root is string => !!root && root !== '0' && existsSync(root));
  for (const root of roots) {
    const builds = readdirSync(root)
      .filter((name) => /^chromium-\d+$/.test(name))
      .sort((a, b) => Number(b.split('-')[1]) - Number(a.split('-')[1]));
    for (const build of builds) {
      const binary = [
        'chrome-linux64/chrome',
        'chrome-linux/chrome',
        'chrome-mac/Chromium.app/Contents/MacOS/Chromium',
      ]
        .map((path) => join(root, build, path))
        .find((path) => existsSync(path));
      if (binary) return binary;
    }
  }
  return undefined;
}

/** One line for a machine without Chromium: what is missing and how to get it. */
export const NO_CHROMIUM =
  'Chromium not found (the browser tests need it): apt-get install chromium, or npx playwright install chromium, or set CHROMIUM_PATH';
