// `npm run screenshots`: the packaged extension in code-server (no smoke driver, so toasts show) against a
// replay of recorded Ollama responses on 127.0.0.1; headless chromium saves docs/screenshots/*.png:
// status-bar, tooltip (hover), quick-pick (Choose Model), panel (+ its alternatives table). Not part of `npm test`.
// Run with tsx (it reuses test/support/fixture-server.ts): node --import tsx scripts/vscode/screenshots.mjs
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './paths.mjs';
import { ensureToolchain } from './setup.mjs';
import { packageVsix } from './package.mjs';
import { installVsix, makeRunDir, startCodeServer } from './code-server.mjs';
import { launchBrowser, runFromPalette, waitForWorkbench, webviewFrame } from './browser.mjs';
import { startFixtureServer } from '../../test/support/fixture-server.ts';

const OUT = join(ROOT, 'docs', 'screenshots');
const ENGINE = process.env.HEADROOM_SCREENSHOT_ENGINE ?? 'ollama';
const HEADROOM_ITEM = '#workbench\\.parts\\.statusbar .statusbar-item:has([aria-label^="Headroom"]), #workbench\\.parts\\.statusbar .statusbar-item[aria-label^="Headroom"]';

/** A clip around `box` padded by `pad`, kept inside the viewport. */
function around(box, vp, pad = { x: 24, y: 24 }) {
  const x = Math.max(0, box.x - pad.x);
  const y = Math.max(0, box.y - pad.y);
  return { x, y, width: Math.min(vp.width - x, box.width + 2 * pad.x), height: Math.min(vp.height - y, box.height + 2 * pad.y) };
}

async function main() {
  const tc = await ensureToolchain();
  const { vsix } = packageVsix({ quiet: true });
  const engine = await startFixtureServer(ENGINE);
  const dir = makeRunDir('shots', {
    'headroom.autoDetect': false,
    'headroom.endpoints': [engine.url],
    'chat.disableAIFeatures': true,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'workbench.colorTheme': 'Default Dark Modern',
    // The run's folder sits inside this repo: keep Git from asking about the parent repository in every shot.
    'git.enabled': false,
  });
  installVsix(tc, dir, vsix);
  const server = await startCodeServer(tc, dir);
  const browser = await launchBrowser(tc);
  mkdirSync(OUT, { recursive: true });
  const saved = [];
  const shot = async (page, name, opts) => { const path = join(OUT, `${name}.png`); await page.screenshot({ path, ...opts }); saved.push(path); };
  try {
    const vp = { width: 1280, height: 800 };
    const page = await browser.newPage({ viewport: vp, deviceScaleFactor: 1 });
    await page.goto(`${server.url}/?folder=${encodeURIComponent(join(dir, 'workspace'))}`);
    await waitForWorkbench(page);
    const item = page.locator(HEADROOM_ITEM).first();
    await item.waitFor({ timeout: 60_000 });
    // Wait until detection has finished and the item shows the engine's numbers.
    await page.waitForFunction((sel) => /GB/.test(document.querySelector(sel)?.textContent ?? ''), HEADROOM_ITEM, { timeout: 60_000 });
    await page.waitForTimeout(1000);
    const statusbar = await page.locator('#workbench\\.parts\\.statusbar').boundingBox();
    const ib = await item.boundingBox();
    // The right half of the status bar with a strip of editor above it, so the item is seen in place.
    const left = Math.max(0, Math.min(ib.x - 200, vp.width - 640));
    await shot(page, 'status-bar', { clip: { x: left, y: statusbar.y - 60, width: vp.width - left, height: statusbar.height + 60 } });

    await item.hover();
    const hover = page.locator('.workbench-hover, .monaco-hover').filter({ visible: true }).first();
    await hover.waitFor({ timeout: 15_000 });
    await page.waitForTimeout(500);
    const hb = await hover.boundingBox();
    const union = { x: Math.min(hb.x, ib.x), y: hb.y, width: Math.max(hb.x + hb.width, ib.x + ib.width) - Math.min(hb.x, ib.x), height: ib.y + ib.height - hb.y };
    await shot(page, 'tooltip', { clip: around(union, vp, { x: 16, y: 16 }) });
    await page.mouse.move(vp.width / 2, vp.height / 3);
    await page.keyboard.press('Escape');

    await runFromPalette(page, 'Headroom: Choose Model');
    const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
    await rows.first().waitFor({ timeout: 30_000 });
    await page.waitForTimeout(800);
    const qb = await page.locator('.quick-input-widget').boundingBox();
    await shot(page, 'quick-pick', { clip: around(qb, vp, { x: 16, y: 16 }) });
    await page.keyboard.press('Escape');

    await runFromPalette(page, 'Headroom: Open Panel');
    await page.setViewportSize({ width: vp.width, height: 1000 });
    const frame = await webviewFrame(page, 30_000);
    await frame.locator('svg').first().waitFor({ timeout: 30_000 });
    await page.waitForTimeout(1500);
    await shot(page, 'panel');
    // The alternatives table sits below the chart: scroll the webview to it.
    const table = frame.locator('table').last();
    if (await table.count()) {
      await table.scrollIntoViewIfNeeded();
      await page.waitForTimeout(500);
      await shot(page, 'panel-alternatives');
    }
  } finally {
    await browser.close().catch(() => {});
    server.stopSync();
    await engine.close();
    if (!process.env.HEADROOM_VSCODE_KEEP) rmSync(dir, { recursive: true, force: true });
  }
  for (const p of saved) console.log(p);
}

main().catch((err) => { console.error(`screenshots failed: ${err?.stack ?? err}`); process.exit(1); });
