// Context warnings against a REAL llama-server: fill most of a small window and Headroom must raise one
// notification for that model (with its actions), and not repeat it while the episode lasts.
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import { llamaServerAvailable, startLlamaServer, type RunningServer } from '../../support/llama-server';
import { tinyModelPath } from '../../support/tiny-model';
import { headroom, sleep, waitFor } from '../support/host';
import { runAndDismiss } from '../support/commands';
import { PROBE_URL, probe, waitForStatus } from '../support/probe';

const CTX = 512;
interface Note { message: string; source: string; buttons: string[] }

async function notifications(): Promise<Note[]> {
  await vscode.commands.executeCommand('notifications.showList');
  await sleep(300);
  const { messages } = await probe<{ messages: Note[] }>('notifications');
  return messages.filter((m) => /headroom/i.test(m.source) || /headroom/i.test(m.message));
}

/** A prompt of about `n` tokens, measured with the server's own tokenizer. */
async function promptOf(url: string, n: number): Promise<string> {
  let text = 'the quick brown fox jumps over the lazy dog ';
  for (;;) {
    const r = await fetch(`${url}/tokenize`, { method: 'POST', body: JSON.stringify({ content: text }) });
    const { tokens } = (await r.json()) as { tokens: number[] };
    if (tokens.length >= n) return text;
    text += text.slice(0, Math.max(8, Math.round(((n - tokens.length) / Math.max(1, tokens.length)) * text.length)));
  }
}

describe('context warning (real llama-server, 512-token window)', function () {
  let srv: RunningServer | undefined;

  before(async function () {
    const avail = llamaServerAvailable();
    if (!avail.ok) { console.log(`    skipped: ${avail.reason}`); this.skip(); }
    if (!PROBE_URL) this.skip();
    await headroom();
    await vscode.commands.executeCommand('notifications.clearAll');
    srv = await startLlamaServer({ model: tinyModelPath(), ctx: CTX, parallel: 1, extraArgs: ['--metrics', '--slots'] });
    const cfg = vscode.workspace.getConfiguration('headroom');
    await cfg.update('pollIntervalSeconds', 1, vscode.ConfigurationTarget.Global);
    await cfg.update('endpoints', [srv.url], vscode.ConfigurationTarget.Global);
    await runAndDismiss('headroom.detectEngines');
    await waitForStatus('showing the server', (i) => /\/ \d+(\.\d+)? GB/.test(i.text));
  });

  after(async () => {
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('notifications.hideList');
    const cfg = vscode.workspace.getConfiguration('headroom');
    await cfg.update('endpoints', undefined, vscode.ConfigurationTarget.Global);
    await cfg.update('pollIntervalSeconds', undefined, vscode.ConfigurationTarget.Global);
    await srv?.stop();
  });

  it('raises one notification with actions when the prompt fills ~90 % of the window, and does not repeat it', async () => {
    assert.deepEqual(await notifications(), [], 'a Headroom notification before anything filled the window');
    const prompt = await promptOf(srv!.url, Math.round(CTX * 0.9));
    const res = await fetch(`${srv!.url}/completion`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt, n_predict: 8, temperature: 0, cache_prompt: true }), signal: AbortSignal.timeout(60_000),
    });
    assert.equal(res.status, 200, await res.text());
    const raised = await waitFor('a Headroom notification', async () => {
      const n = await notifications();
      return n.length > 0 ? n : undefined;
    }, 30_000, 1000);
    assert.equal(raised.length, 1, JSON.stringify(raised));
    assert.match(raised[0]!.message, /tiny-llama/, `the warning does not name the model: ${raised[0]!.message}`);
    console.log(`      notification: ${raised[0]!.message} [${raised[0]!.buttons.join(' | ')}]`);
    assert.ok(raised[0]!.buttons.some((b) => /alternative/i.test(b)), `actions: ${JSON.stringify(raised[0]!.buttons)}`);
    assert.ok(raised[0]!.buttons.some((b) => /snooze/i.test(b)), `actions: ${JSON.stringify(raised[0]!.buttons)}`);
    // Several more polls of the same, still-full window: still one.
    await sleep(5000);
    assert.equal((await notifications()).length, 1);
  });
});
