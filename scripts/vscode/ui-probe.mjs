// A loopback HTTP endpoint through which extension-host tests ask the harness what the user would SEE:
// the rendered status bar, its hover, the quick-input rows, the webview's DOM. The extension API cannot
// read another item's rendered text, so the test asks the browser that renders it.
// Protocol: POST / with JSON { action, ...args } → JSON result, or { error } with status 500.
import { createServer } from 'node:http';
import { webviewFrame } from './browser.mjs';

const STATUS_ITEMS = '#workbench\\.parts\\.statusbar .statusbar-item';

export function startUiProbe(page) {
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push({ type: d.type(), message: d.message() }); void d.dismiss().catch(() => {}); });

  const actions = {
    async statusbar() {
      return page.locator(STATUS_ITEMS).evaluateAll((els) => els.map((el) => ({
        id: el.id,
        text: el.innerText.trim(),
        ariaLabel: el.querySelector('[aria-label]')?.getAttribute('aria-label') ?? el.getAttribute('aria-label') ?? '',
        classes: el.className,
        background: getComputedStyle(el).backgroundColor,
      })));
    },
    async hoverStatus({ idContains = 'headroom' } = {}) {
      // Headroom's item: its id names the extension, or its accessible label starts with "Headroom".
      const items = page.locator(STATUS_ITEMS);
      const index = await items.evaluateAll((els, needle) => els.findIndex((el) =>
        el.id.toLowerCase().includes(needle.toLowerCase()) ||
        /^Headroom/.test(el.querySelector('[aria-label]')?.getAttribute('aria-label') ?? el.getAttribute('aria-label') ?? '')), idContains);
      if (index < 0) throw new Error('no Headroom status bar item');
      const item = items.nth(index);
      await page.mouse.move(0, 0);
      await item.hover();
      const hover = page.locator('.workbench-hover, .monaco-hover').filter({ visible: true }).first();
      await hover.waitFor({ timeout: 10_000 });
      const text = await hover.innerText();
      await page.mouse.move(0, 0);
      return { text };
    },
    async quickInput() {
      const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
      return { visible: await page.locator('.quick-input-widget').isVisible(), rows: await rows.allInnerTexts() };
    },
    async webview({ timeoutMs = 20_000, waitForText } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const frame = await webviewFrame(page, Math.max(1000, deadline - Date.now()));
        const info = await frame.evaluate(() => ({
          text: document.body.innerText,
          title: document.title,
          csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? null,
          imgs: [...document.querySelectorAll('img')].map((i) => i.getAttribute('src')),
          scripts: [...document.querySelectorAll('script')].map((s) => ({ src: s.getAttribute('src'), nonce: s.nonce !== '', inline: s.src ? '' : s.textContent.trim().slice(0, 80) })),
          inlineHandlers: [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => a.name.startsWith('on'))).length,
          svgCount: document.querySelectorAll('svg').length,
        }));
        if (!waitForText || info.text.includes(waitForText) || Date.now() > deadline) return info;
        await new Promise((r) => setTimeout(r, 300));
      }
    },
    /** Attributes and text of the elements matching `selector` in the webview, plus the focused element's id. */
    async webviewQuery({ selector, attrs = [] }) {
      const frame = await webviewFrame(page, 20_000);
      return frame.evaluate(({ selector, attrs }) => ({
        focusedId: document.activeElement?.id ?? '',
        marked: Boolean(window.__headroomProbeMark),
        elements: [...document.querySelectorAll(selector)].map((el) => ({
          text: el.textContent.trim(),
          attrs: Object.fromEntries(attrs.map((a) => [a, el.getAttribute(a)])),
        })),
      }), { selector, attrs });
    },
    /** Marks the webview's current document, so a test can tell when VS Code has rebuilt it. */
    async webviewMark() {
      const frame = await webviewFrame(page, 20_000);
      await frame.evaluate(() => { window.__headroomProbeMark = true; });
      return {};
    },
    /** Keyboard only: focuses `selector` in the webview and presses `key` there. */
    async webviewPress({ selector, key }) {
      const frame = await webviewFrame(page, 20_000);
      const el = frame.locator(selector).first();
      await el.focus();
      await el.press(key);
      return {};
    },
    /** Messages in the notification center (the test opens it with `notifications.showList`). */
    async notifications() {
      const items = page.locator('.notifications-center .notification-list-item');
      return { messages: await items.evaluateAll((els) => els.map((el) => ({
        message: el.querySelector('.notification-list-item-message')?.textContent ?? '',
        source: el.querySelector('.notification-list-item-source')?.textContent ?? '',
        buttons: [...el.querySelectorAll('.monaco-button')].map((b) => b.textContent ?? ''),
      }))) };
    },
    async dialogs() { return { dialogs }; },
    /** The getting-started (walkthrough) editor as shown: its steps and which are checked off. */
    async walkthrough() {
      const steps = page.locator('.gettingStartedContainer button.getting-started-step');
      const visible = await page.locator('.gettingStartedContainer').filter({ visible: true }).count() > 0;
      return {
        visible,
        steps: visible ? await steps.evaluateAll((els) => els.map((el) => ({ id: el.getAttribute('data-step-id') ?? '', checked: el.getAttribute('aria-checked') === 'true', text: el.innerText.trim().split('\n')[0] ?? '' }))) : [],
      };
    },
    async press({ key }) { await page.keyboard.press(key); return {}; },
    async pickRow({ contains }) {
      const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: contains }).first();
      await row.click({ timeout: 15_000 });
      return {};
    },
    async screenshot({ path }) { await page.screenshot({ path }); return { path }; },
  };

  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; if (body.length > 1 << 20) req.destroy(); });
    req.on('end', async () => {
      try {
        const { action, ...args } = JSON.parse(body || '{}');
        const fn = actions[action];
        if (!fn) throw new Error(`unknown probe action ${action}`);
        const result = await fn(args);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
      } catch (err) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(err?.message ?? err) }));
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() });
  }));
}
