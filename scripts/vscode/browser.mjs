// Headless Debian chromium driven by playwright-core (which never downloads a browser of its own).
import { chromium } from 'playwright-core';

const ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-dev-shm-usage',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export async function launchBrowser(tc, { headless = true } = {}) {
  return chromium.launch({ executablePath: tc.chromium, headless, args: ARGS });
}

/** Waits for the workbench and returns the status bar item locator with the given extension item id. */
export async function waitForWorkbench(page, timeout = 60_000) {
  await page.locator('.monaco-workbench').waitFor({ timeout });
  await page.locator('#workbench\\.parts\\.statusbar').waitFor({ timeout });
}

/**
 * Runs a command from the palette by its title, the way a user does.
 * Waits until the focused row shows the title, since the list filters asynchronously.
 */
export async function runFromPalette(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: title }).waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
}

/** The frame inside the active webview whose body contains `text` (webviews nest: iframe.webview → #active-frame). */
export async function webviewFrame(page, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    for (const f of page.frames()) {
      if (f.name() === 'active-frame' || f.url().includes('fake.html')) {
        try { if (await f.locator('body *').count() > 0) return f; } catch { /* detached */ }
      }
    }
    if (Date.now() > deadline) throw new Error('no webview frame appeared');
    await new Promise((r) => setTimeout(r, 250));
  }
}
