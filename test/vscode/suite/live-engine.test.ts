// Against a live engine: recorded Ollama responses replayed by a real HTTP server on 127.0.0.1, given to
// Headroom through the `headroom.endpoints` setting. The status bar, its tooltip and the panel must show
// what the engine reported.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import { engineRoutes, FIXTURES, startServer, type TestServer } from '../../support/fixture-server';
import { formatBytes } from '../../../src/estimator/format';
import { headroom, sleep, waitFor } from '../support/host';
import { chooseModel, runAndDismiss, releaseEngine, useEngine } from '../support/commands';
import { ownScripts, PROBE_URL, probe, waitForStatus, type WebviewInfo } from '../support/probe';

interface PsModel { name: string; size: number; size_vram: number; context_length: number }

describe('live engine (Ollama fixture replay on 127.0.0.1)', function () {
  let engine: TestServer;
  /** Bodies of the load requests Headroom sent (POST /api/generate with no prompt). */
  const loads: { model: string; keep_alive?: string; options?: { num_ctx?: number } }[] = [];
  const ps = (JSON.parse(readFileSync(join(FIXTURES, 'ollama', 'api_ps.json'), 'utf8')) as { models: PsModel[] }).models[0]!;

  before(async function () {
    if (!PROBE_URL) this.skip();
    await headroom();
    const { routes, notFound } = engineRoutes('ollama');
    // Ollama's answer to a load-only request (docs/api.md "Load a model").
    routes['POST /api/generate'] = (_req, res, body) => {
      loads.push(JSON.parse(body) as (typeof loads)[number]);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ model: ps.name, created_at: '2025-01-01T00:00:00Z', response: '', done: true, done_reason: 'load' }));
    };
    engine = await startServer(routes, notFound);
    await useEngine(engine.url);
  });

  after(async () => {
    await releaseEngine(engine);
  });

  it('polls the endpoint it was given', () => {
    assert.ok(engine.requests.some((r) => r === 'GET /api/ps'), `requests: ${engine.requests.join(', ')}`);
  });

  it('shows the loaded model\'s memory, as the engine reported it, in the status bar', async () => {
    const used = formatBytes(ps.size).replace(/ GB$/, '');
    // `6.1 / 23 GB`, or `6.1+2.3 / 23 GB` with what other processes on this machine hold now (live reading).
    const item = await waitForStatus(`showing ${used} GB in use`, (i) => i.text.includes(`${used} /`) || i.text.includes(`${used}+`));
    assert.match(item.text, /\d+(\.\d)?(\+\d+(\.\d)?)? \/ \d+(\.\d)? GB/);
  });

  it('flags the partial offload the engine reports (size_vram < size) with the warning background', async () => {
    assert.ok(ps.size_vram < ps.size, 'the fixture no longer spills; this test needs a model that does');
    const item = await waitForStatus('with the warning background', (i) => /\bwarning-kind\b/.test(i.classes));
    assert.doesNotMatch(item.classes, /\berror-kind\b/);
  });

  it('breaks the numbers down in the tooltip, with where each came from', async () => {
    const item = await waitForStatus('present', () => true);
    const { text } = await probe<{ text: string }>('hoverStatus', { idContains: item.id || 'headroom' });
    assert.ok(text.includes(ps.name), `tooltip lacks the model name: ${text}`);
    assert.match(text, /engine/i, 'tooltip does not say which numbers the engine reported');
    assert.ok(text.includes('4k') || text.includes('4,096') || text.includes('4096'), `tooltip lacks the configured context: ${text}`);
  });

  it('renders the panel for the model chosen in Choose Model: strict CSP, nonce\'d scripts only, the chart', async () => {
    await runAndDismiss('headroom.openPanel');
    const rows = await chooseModel(ps.name);
    assert.ok(rows.some((r) => r.includes(ps.name)));
    const view = await probe<WebviewInfo>('webview', { waitForText: ps.name });
    assert.ok(view.csp, 'no Content-Security-Policy meta');
    assert.match(view.csp!, /default-src 'none'/);
    const scripts = ownScripts(view);
    assert.ok(scripts.length > 0 && scripts.every((s) => s.nonce && s.src), `scripts (each must be a nonce'd file): ${JSON.stringify(view.scripts)}`);
    // Local files only: served through the webview resource origin, from the extension's media folder.
    assert.ok(scripts.every((s) => /vscode-resource/.test(s.src!) && /\/media\//.test(s.src!)), `script sources: ${JSON.stringify(scripts)}`);
    assert.ok(view.svgCount > 0, `no chart rendered; panel text: ${view.text.slice(0, 600)}`);
    assert.ok(view.text.includes(ps.name), `panel text lacks ${ps.name}`);
  });

  it('sorts the alternatives from the keyboard, keeps focus, and keeps the sort across hide/show', async () => {
    type Query = { focusedId: string; marked: boolean; elements: { text: string; attrs: Record<string, string | null> }[] };
    const headers = () => probe<Query>('webviewQuery', { selector: 'table.alternatives th', attrs: ['aria-sort'] });
    const sortOf = (q: Query, label: string) => q.elements.find((e) => e.text.startsWith(label))?.attrs['aria-sort'];
    await runAndDismiss('headroom.openPanel');
    await chooseModel(ps.name);
    const before = await waitFor('the alternatives table', async () => {
      const q = await headers().catch(() => undefined);
      return q && q.elements.length > 0 ? q : undefined;
    }, 20_000);
    assert.ok(before.elements.length >= 3, `alternatives table headers: ${JSON.stringify(before)}`);

    await probe('webviewPress', { selector: '#sort-decodeTokPerSec', key: 'Enter' });
    const afterEnter = await waitFor('the Decode column sorted', async () => {
      const q = await headers();
      return sortOf(q, 'Decode') !== 'none' ? q : undefined;
    }, 10_000);
    assert.equal(afterEnter.focusedId, 'sort-decodeTokPerSec', 'keyboard focus was lost on re-render');
    const order = sortOf(afterEnter, 'Decode');

    // Hide the panel behind another editor, then bring it back: the webview is rebuilt from its saved state.
    await probe('webviewMark');
    await vscode.commands.executeCommand('workbench.action.files.newUntitledFile');
    await sleep(500);
    await runAndDismiss('headroom.openPanel');
    const restored = await waitFor('the panel back with its table', async () => {
      const q = await headers().catch(() => undefined);
      return q && !q.marked && q.elements.length > 0 ? q : undefined;
    }, 20_000);
    assert.equal(sortOf(restored, 'Decode'), order, `sort not kept across hide/show: ${JSON.stringify(restored.elements.map((e) => e.attrs))}`);
  });

  it('a context row of an Ollama model reloads it with that context after a Yes in the quick pick', async () => {
    await runAndDismiss('headroom.openPanel');
    await chooseModel(ps.name);
    // The window Ollama reports is far below what fits here: the panel offers to raise it through Ollama's API.
    const button = await waitFor('a reload button in the alternatives', async () => {
      const q = await probe<{ elements: { text: string }[] }>('webviewQuery', { selector: 'table.alternatives button.action' }).catch(() => undefined);
      return q?.elements.find((e) => /^Reload with \d+k$/.test(e.text));
    }, 20_000);
    const ctx = Number(/(\d+)k/.exec(button.text)![1]) * 1024;
    assert.ok(ctx > ps.context_length, `${button.text} vs ${ps.context_length}`);
    await probe('webviewPress', { selector: `table.alternatives button.action[title="${button.text}"]`, key: 'Enter' });
    const rows = await waitFor('the Yes / No pick', async () => {
      const q = await probe<{ visible: boolean; rows: string[] }>('quickInput');
      return q.visible && q.rows.some((r) => r.includes('Yes, reload')) ? q.rows : undefined;
    });
    assert.ok(rows.some((r) => /No/.test(r)), JSON.stringify(rows));
    assert.ok(rows.some((r) => /OLLAMA_CONTEXT_LENGTH=\d+/.test(r)), `no lasting fix offered: ${JSON.stringify(rows)}`);
    assert.equal(loads.length, 0, 'loaded before the Yes');
    await probe('pickRow', { contains: 'Yes, reload' });
    const sent = await waitFor('the load request', () => loads[0]);
    assert.deepEqual(sent, { model: ps.name, keep_alive: '30m', options: { num_ctx: ctx } });
    await vscode.commands.executeCommand('notifications.clearAll');
  });
});
