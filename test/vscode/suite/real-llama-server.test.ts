// Against a REAL llama-server (built by scripts/build-llama-server.mjs) serving the tiny test GGUF:
// the status bar must show what that server really reports, and live decode speed once it generates.
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import { llamaServerAvailable, startLlamaServer, type RunningServer } from '../../support/llama-server';
import { tinyModelPath } from '../../support/tiny-model';
import { headroom } from '../support/host';
import { runAndDismiss } from '../support/commands';
import { PROBE_URL, probe, waitForStatus } from '../support/probe';

const CTX = 2048;

describe('live engine (real llama-server, tiny model)', function () {
  let srv: RunningServer | undefined;

  before(async function () {
    const avail = llamaServerAvailable();
    if (!avail.ok) {
      console.log(`    skipped: ${avail.reason}`);
      this.skip();
    }
    if (!PROBE_URL) this.skip();
    await headroom();
    srv = await startLlamaServer({ model: tinyModelPath(), ctx: CTX, parallel: 1, extraArgs: ['--metrics', '--slots'] });
    const cfg = vscode.workspace.getConfiguration('headroom');
    await cfg.update('pollIntervalSeconds', 1, vscode.ConfigurationTarget.Global);
    await cfg.update('endpoints', [srv.url], vscode.ConfigurationTarget.Global);
    await runAndDismiss('headroom.detectEngines');
  });

  after(async () => {
    const cfg = vscode.workspace.getConfiguration('headroom');
    await cfg.update('endpoints', undefined, vscode.ConfigurationTarget.Global);
    await cfg.update('pollIntervalSeconds', undefined, vscode.ConfigurationTarget.Global);
    await srv?.stop();
  });

  it('shows the server\'s memory in the status bar', async () => {
    const item = await waitForStatus('showing memory in use', (i) => /\d+(\.\d+)? ?(MB|GB)? \/ \d+(\.\d+)? GB/.test(i.text));
    assert.doesNotMatch(item.text, /no engine/i);
  });

  it('tooltip names the model and the configured context the server reports', async () => {
    const item = await waitForStatus('present', () => true);
    const { text } = await probe<{ text: string }>('hoverStatus', { idContains: item.id || 'headroom' });
    assert.match(text, /tiny-llama/, `tooltip: ${text}`);
    assert.ok(/2k|2,048|2048/.test(text), `tooltip lacks the ${CTX}-token context: ${text}`);
  });

  it('shows live decode tok/s after the server generates (and none before)', async () => {
    const idle = await waitForStatus('present', () => true);
    assert.doesNotMatch(idle.text, /\d tok\/s/, `a decode speed before anything was generated: ${idle.text}`);
    const res = await fetch(`${srv!.url}/completion`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Once upon a time', n_predict: 128, temperature: 0, ignore_eos: true }),
      signal: AbortSignal.timeout(60_000),
    });
    const body = (await res.json()) as { timings?: { predicted_per_second?: number } };
    assert.ok(body.timings?.predicted_per_second, 'the server reported no decode timing');
    const item = await waitForStatus('showing tok/s', (i) => /\d+(\.\d+)? tok\/s/.test(i.text), 30_000);
    assert.match(item.text, /tok\/s/);
  });
});
