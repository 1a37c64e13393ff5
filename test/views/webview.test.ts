// The real panel bundle (esbuild → media/build/panel.js), run in Node against a mini DOM: it renders validated
// data as text only (a hostile model name stays text), ignores invalid messages, sorts by keyboard-reachable
// buttons, posts only protocol messages, and restores its state after hide/show. Also type-checks the
// webview sources with their DOM tsconfig.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { parseWebviewMessage } from '../../src/views/protocol';
import { samplePanelData } from './fixtures';
import { MiniDocument, MiniElement, serialize } from './mini-dom';

const ROOT = join(__dirname, '..', '..');
const BUNDLE = join(ROOT, 'media', 'build', 'panel.js');

function build(): string {
  execFileSync(process.execPath, [join(ROOT, 'esbuild.mjs')], { cwd: ROOT, stdio: 'pipe' });
  return readFileSync(BUNDLE, 'utf8');
}
const code = build();

function boot(saved?: unknown) {
  const doc = new MiniDocument();
  const app = doc.createElement('main');
  app.setAttribute('id', 'app');
  doc.body.append(app);
  const posted: unknown[] = [];
  const warnings: string[] = [];
  let stored: unknown = saved;
  const listeners: ((e: { data: unknown }) => void)[] = [];
  const window = { addEventListener: (t: string, fn: (e: { data: unknown }) => void) => t === 'message' && listeners.push(fn) };
  runInNewContext(code, {
    window,
    document: doc,
    console: { warn: (m: string) => warnings.push(m), log() {}, error() {} },
    acquireVsCodeApi: () => ({ postMessage: (m: unknown) => posted.push(structuredClone(m)), getState: () => stored, setState: (s: unknown) => (stored = structuredClone(s)) }),
  });
  const send = (data: unknown) => listeners.forEach((fn) => fn({ data: structuredClone(data) }));
  return { doc, app, posted, warnings, send, state: () => stored };
}

const HOSTILE = '<img src=x onerror=alert(1)>';

test('webview sources type-check against the DOM lib', () => {
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', join(ROOT, 'src', 'views', 'webview')], { cwd: ROOT, stdio: 'pipe' });
});

test('bundle: no HTML-string sinks and no eval in the code we ship to the webview', () => {
  for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(']) assert.ok(!code.includes(sink), sink);
});

test('says ready on load; renders a hostile model name as text, never as an element', () => {
  const w = boot();
  assert.deepEqual(w.posted, [{ type: 'ready' }]);
  const data = samplePanelData({ title: HOSTILE, subtitle: `ollama · ${HOSTILE}` });
  data.alternatives[1]!.label = HOSTILE;
  data.facts.push({ label: HOSTILE, value: HOSTILE, source: HOSTILE });
  w.send({ type: 'show', data });
  const tags = new Set(w.app.all().map((e) => e.tagName));
  assert.ok(!tags.has('img') && !tags.has('script'), [...tags].join(','));
  const html = serialize(w.app);
  assert.ok(!html.includes('<img'), 'no img element');
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'), 'the name is visible as text');
  assert.equal(w.doc.querySelector('h1')!.textContent, HOSTILE);
  // No attribute came from data except the fixed ones (class/id/type/scope/aria/title of copy buttons).
  for (const e of w.app.all()) for (const k of e.attrs.keys()) assert.ok(!k.startsWith('on'), k);
  // The chart and the sparkline rendered as SVG.
  assert.equal(w.app.all().filter((e) => e.tagName === 'svg').length, 2);
  assert.equal(w.app.all().filter((e) => e.tagName === 'path').length, 3);
});

test('invalid host messages are ignored with a warning and change nothing', () => {
  const w = boot();
  w.send({ type: 'show', data: samplePanelData() });
  const before = serialize(w.app);
  w.send({ type: 'show', data: { ...samplePanelData(), curve: 'lots' } });
  w.send({ type: 'evil', html: HOSTILE });
  w.send(HOSTILE);
  assert.equal(serialize(w.app), before);
  assert.equal(w.warnings.length, 3);
  assert.match(w.warnings[0]!, /ignored an invalid message \(data\.curve/);
});

test('sortable headers are buttons; sorting re-renders, keeps focus, and persists', () => {
  const w = boot();
  w.send({ type: 'show', data: samplePanelData() });
  const rowIds = () => w.app.all().filter((e) => e.tagName === 'tbody')[0]!.children.map((tr) => ((tr as MiniElement).children[0] as MiniElement).textContent);
  assert.deepEqual(rowIds(), ['Q3_K_M', 'KV cache q8_0', 'Q4_K_M, 32k (now)', 'Q8_0']); // memory ascending (default)
  // A predicted speed shows its band; one without a band is still marked approximate.
  const cells = (label: string) => (w.app.all().filter((e) => e.tagName === 'tbody')[0]!.children as MiniElement[]).find((tr) => (tr.children[0] as MiniElement).textContent === label)!.children as MiniElement[];
  assert.equal(cells('Q3_K_M')[2]!.textContent, '≈ 140 tok/s (112–161)');
  assert.equal(cells('KV cache q8_0')[2]!.textContent, '≈ 122 tok/s');
  const decode = w.doc.getElementById('sort-decodeTokPerSec')!;
  assert.equal(decode.tagName, 'button');
  decode.click();
  assert.deepEqual(rowIds(), ['Q3_K_M', 'KV cache q8_0', 'Q4_K_M, 32k (now)', 'Q8_0']); // decode descending, Q8 (no estimate) last
  assert.equal(w.doc.activeElement?.getAttribute('id'), 'sort-decodeTokPerSec');
  const th = w.doc.activeElement!.parent!;
  assert.equal(th.getAttribute('aria-sort'), 'descending');
  w.doc.getElementById('sort-decodeTokPerSec')!.click();
  assert.deepEqual(rowIds(), ['Q4_K_M, 32k (now)', 'KV cache q8_0', 'Q3_K_M', 'Q8_0']);
  assert.deepEqual((w.state() as { sort: unknown }).sort, { key: 'decodeTokPerSec', dir: 'asc' });
  // New data from the host re-renders everything; the keyboard user stays on the same control.
  w.send({ type: 'show', data: samplePanelData({ title: 'updated' }) });
  assert.equal(w.doc.querySelector('h1')!.textContent, 'updated');
  assert.equal(w.doc.activeElement?.getAttribute('id'), 'sort-decodeTokPerSec');
  assert.ok(w.app.all().includes(w.doc.activeElement!), 'focus is on the new button, not a detached one');
});

test('row actions and empty-state buttons post protocol messages naming only ids', () => {
  const w = boot();
  w.send({ type: 'show', data: samplePanelData() });
  const actions = w.app.all().filter((e) => e.tagName === 'button' && e.getAttribute('class') === 'action');
  assert.equal(actions.length, 2);
  actions[0]!.click();
  w.send({ type: 'empty', message: 'No engine found.', actions: ['checkModelFit', 'detectEngines'] });
  const buttons = w.app.all().filter((e) => e.tagName === 'button');
  assert.deepEqual(buttons.map((b) => b.textContent), ['Check Model Fit', 'Detect Engines']);
  buttons[0]!.click();
  assert.deepEqual(w.posted.slice(1), [{ type: 'rowAction', rowId: 'q3' }, { type: 'command', command: 'checkModelFit' }]);
  for (const m of w.posted) assert.equal(parseWebviewMessage(m).ok, true);
});

test('live speed points extend the sparkline; state is restored after hide/show without the host', () => {
  const w = boot();
  w.send({ type: 'show', data: samplePanelData() });
  w.send({ type: 'speed', point: { t: 4000, tokPerSec: 45 } });
  const poly = w.app.all().find((e) => e.tagName === 'polyline')!;
  assert.equal(poly.getAttribute('points')!.split(' ').length, 4);
  assert.match(w.doc.querySelector('section.speed')!.textContent, /45 tok\/s \(comfortable\) — 24 % of the 190 tok\/s bandwidth ceiling/);
  // Hidden → the webview is destroyed (retainContextWhenHidden false); shown again → a fresh script with the saved state.
  const again = boot(w.state());
  assert.equal(again.doc.querySelector('h1')!.textContent, 'qwen3:30b-a3b');
  assert.equal(again.app.all().find((e) => e.tagName === 'polyline')!.getAttribute('points')!.split(' ').length, 4);
  // A tampered saved state is dropped, not rendered.
  const tampered = boot({ last: { type: 'show', data: { title: HOSTILE } }, sort: { key: 'label', dir: 'asc' } });
  assert.equal(tampered.app.children.length, 0);
});
