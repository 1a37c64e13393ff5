// A stored speed measurement in the real extension host: an Ollama replay on 127.0.0.1 and a bench store
// (as `headroom bench` or Measure Speed writes it) holding Ollama's recorded timing for that exact stack.
// Detect Engines picks the store up; with no live reading the tooltip's decode line is the calibrated
// prediction, and the panel shows "Measured" next to the predicted "Decode".
// (Measure Speed itself asks a modal question, which VS Code refuses to show in tests; its save path is
// covered by test/providers/bench-store-append.test.ts.)
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import { FIXTURES, startFixtureServer, type TestServer } from '../../support/fixture-server';
import { headroom } from '../support/host';
import { chooseModel, runAndDismiss } from '../support/commands';
import { PROBE_URL, probe, waitForStatus } from '../support/probe';

describe('stored speed measurement (Ollama replay + bench store)', function () {
  let engine: TestServer;
  let dir: string;
  const previous = process.env.HEADROOM_BENCH_STORE;

  before(async function () {
    if (!PROBE_URL) this.skip();
    await headroom();
    engine = await startFixtureServer('ollama');
    const g = JSON.parse(readFileSync(join(FIXTURES, 'ollama', 'api_generate_final.json'), 'utf8')) as Record<string, number>;
    dir = mkdtempSync(join(tmpdir(), 'measured-speed-'));
    const store = join(dir, 'bench-results.json');
    const run = { targetDepth: 0, promptTokens: g.prompt_eval_count, cachedTokens: 0, outputTokens: g.eval_count, decodeTokPerSec: (g.eval_count! / g.eval_duration!) * 1e9, wallMs: g.total_duration! / 1e6, timing: 'engine' };
    const result = { key: { endpoint: engine.url, model: 'gemma4', quant: 'Q4_K_M', hardwareId: 'rtx-4090' }, engine: 'ollama', measuredAt: '2026-11-23T09:00:00.000Z', runs: [run] };
    writeFileSync(store, JSON.stringify({ version: 1, results: [result] }));
    // The controller reads the variable when it loads the store, in this same extension-host process.
    process.env.HEADROOM_BENCH_STORE = store;
    const cfg = vscode.workspace.getConfiguration('headroom');
    await cfg.update('hardwareProfile', 'rtx-4090', vscode.ConfigurationTarget.Global);
    await cfg.update('endpoints', [engine.url], vscode.ConfigurationTarget.Global);
    await runAndDismiss('headroom.detectEngines');
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const cfg = vscode.workspace.getConfiguration('headroom');
    await cfg.update('endpoints', undefined, vscode.ConfigurationTarget.Global);
    await cfg.update('hardwareProfile', undefined, vscode.ConfigurationTarget.Global);
    if (previous === undefined) delete process.env.HEADROOM_BENCH_STORE;
    else process.env.HEADROOM_BENCH_STORE = previous;
    // Forget the store again so later suites see predictions only.
    await runAndDismiss('headroom.detectEngines');
    await engine?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the tooltip decode line is the prediction calibrated by the stored run (no live reading)', async () => {
    const item = await waitForStatus('showing gemma4', (i) => /GB/.test(i.text));
    const { text } = await probe<{ text: string }>('hoverStatus', { idContains: item.id || 'headroom' });
    // 18 tokens in 52.48 ms = 343 tok/s, measured at 11 tokens of prompt; Ollama reports no depth → 0.
    assert.match(text, /Decode \(bandwidth-bound\): ~343 tok\/s \(fast\) predicted, calibrated by Measure Speed \(×\d+\.\d\d\)/, text);
  });

  it('the panel shows "Measured" next to the predicted decode', async () => {
    await runAndDismiss('headroom.openPanel');
    await chooseModel('gemma4');
    const view = await probe<{ text: string }>('webview', { waitForText: 'calibrated: prediction' });
    assert.match(view.text, /Decode\s+≈ \d+ tok\/s \([\d.]+–[\d.]+\) \(fast\), bandwidth-bound[\s\S]{0,40}Measured\s+343 tok\/s \(fast\) at 0 tokens — calibrated: prediction × \d+\.\d\d from the run at 11 tokens, 2026-11-23/, view.text.slice(0, 2000));
  });
});
