// Open Panel follows the model the engine has loaded *now*. An Ollama replay on 127.0.0.1 first reports
// model A; the panel is opened on it and closed; the engine then swaps A for B (its /api/ps answer changes).
// After Detect Engines, Open Panel must chart B — not keep the stale subject A and say
// "That model is no longer loaded".
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import { engineRoutes, startServer, type Reply, type TestServer } from '../../support/fixture-server';
import { headroom, waitFor } from '../support/host';
import { runAndDismiss, releaseEngine, useEngine } from '../support/commands';
import { PROBE_URL, probe, waitForStatus, type WebviewInfo } from '../support/probe';

type OllamaModel = Record<string, unknown> & { name: string; model: string; details?: Record<string, unknown> };

/**
 * Ollama's recorded responses, with a switchable /api/ps: `swap()` makes the engine report B (`swap('a')` back to A) (a llama
 * model: the replay's /api/show answers non-gemma names with the recorded llama `model_info`) in A's place.
 */
async function swappingOllama(): Promise<TestServer & { a: string; b: string; swap(to?: 'a' | 'b'): void }> {
  const { routes, notFound } = engineRoutes('ollama');
  const recorded = routes['GET /api/ps'] as Reply;
  const a = (JSON.parse(recorded.body) as { models: OllamaModel[] }).models[0]!;
  const b: OllamaModel = {
    ...a,
    name: 'llama3.1:8b',
    model: 'llama3.1:8b',
    // The llama fixture's own details, so /api/ps and /api/show agree about B.
    details: { parent_model: '', format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '8.0B', quantization_level: 'Q4_0' },
  };
  let ps = recorded;
  routes['GET /api/ps'] = (_req, res) => {
    res.writeHead(ps.status ?? 200, { 'content-type': 'application/json' });
    res.end(ps.body);
  };
  // Both are installed throughout; only which one is loaded changes.
  const tags = JSON.parse((routes['GET /api/tags'] as Reply).body) as { models: OllamaModel[] };
  tags.models.push({ ...tags.models[0]!, name: b.name, model: b.model, details: b.details });
  routes['GET /api/tags'] = { body: JSON.stringify(tags) };
  const server = await startServer(routes, notFound);
  return {
    ...server,
    a: a.name,
    b: b.name,
    swap: (to: 'a' | 'b' = 'b') => { ps = { body: JSON.stringify({ models: [to === 'a' ? a : b] }) }; },
  };
}

const panelTabs = () =>
  vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.includes('headroom.panel'));

describe('Open Panel follows the model loaded now (Ollama replay swaps A for B)', function () {
  let engine: Awaited<ReturnType<typeof swappingOllama>>;

  before(async function () {
    if (!PROBE_URL) this.skip();
    await headroom();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    engine = await swappingOllama();
    await useEngine(engine.url);
    await waitForStatus('showing the engine', (i) => /GB/.test(i.text));
  });

  after(async () => {
    await releaseEngine(engine);
  });

  it('charts A, then — after the engine swaps A for B and Detect Engines — charts B, not "no longer loaded"', async () => {
    await runAndDismiss('headroom.openPanel');
    const first = await probe<WebviewInfo>('webview', { waitForText: engine.a });
    assert.ok(first.text.includes(engine.a), `panel does not show ${engine.a}: ${first.text.slice(0, 600)}`);
    assert.ok(first.svgCount > 0, `no chart for ${engine.a}: ${first.text.slice(0, 600)}`);

    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await waitFor('the panel closed', () => panelTabs().length === 0, 10_000);

    engine.swap();
    const served = engine.requests.length;
    await runAndDismiss('headroom.detectEngines');
    assert.ok(engine.requests.slice(served).includes('GET /api/ps'), `Detect Engines did not ask the engine again: ${engine.requests.slice(served).join(', ')}`);
    // The status bar tooltip names what the engine reports now: Headroom has seen the swap.
    const item = await waitForStatus('present', () => true);
    const { text: tooltip } = await probe<{ text: string }>('hoverStatus', { idContains: item.id || 'headroom' });
    assert.ok(tooltip.includes(engine.b), `tooltip does not name ${engine.b} after the swap: ${tooltip}`);

    await runAndDismiss('headroom.openPanel');
    const view = await probe<WebviewInfo>('webview', { waitForText: engine.b });
    assert.doesNotMatch(view.text, /no longer loaded/i, `Open Panel kept the unloaded ${engine.a}: ${view.text.slice(0, 600)}`);
    assert.ok(view.text.includes(engine.b), `panel does not show ${engine.b}: ${view.text.slice(0, 600)}`);
    assert.ok(view.svgCount > 0, `no chart for ${engine.b}: ${view.text.slice(0, 600)}`);
  });

  it('while the panel stays open, a swap back to A re-renders it on A at the next poll', async () => {
    // The panel from the previous case is still open on B.
    assert.ok(panelTabs().length > 0, 'the panel should still be open');
    engine.swap('a');
    await runAndDismiss('headroom.detectEngines');
    const view = await probe<WebviewInfo>('webview', { waitForText: engine.a });
    assert.doesNotMatch(view.text, /no longer loaded/i, `the open panel kept the unloaded ${engine.b}: ${view.text.slice(0, 600)}`);
    assert.ok(view.text.includes(engine.a), `open panel does not follow to ${engine.a}: ${view.text.slice(0, 600)}`);
  });
});
