import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Browser, chromium } from 'playwright-core';

/**
 * Chromium's path: CHROMIUM_PATH when set, else the headless build that `@sparticuz/chromium`
 * ships inside the npm package (unpacked once into the temp directory), so the browser tests
 * need no system package. The package is ESM-only, so a child Node asks it for the path.
 */
export async function chromiumPath(): Promise<string> {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  const script =
    "const { default: chromium } = await import('@sparticuz/chromium'); process.stdout.write(await chromium.executablePath());";
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: __dirname,
  });
  return stdout.trim();
}

/** A headless Chromium without the network chatter a closed machine refuses. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: await chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--no-zygote',
    ],
  });
}
