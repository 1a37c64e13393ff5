// The metering proxy as a user turns it on: `headroom.proxy.enabled` with a port and a target (an Ollama replay
// on 127.0.0.1 that, like Ollama, exposes no metrics). Requests an agent sends through the proxy must give the
// status bar its live tok/s, a prompt the engine cut must raise the truncation notification, and turning the
// setting off must free the port.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import { engineRoutes, FIXTURES, startServer, type TestServer } from '../../support/fixture-server';
import { headroom, sleep, waitFor, freePort } from '../support/host';
import { releaseEngine, useEngine } from '../support/commands';
import { PROBE_URL, probe, waitForStatus } from '../support/probe';

interface Note { message: string; source: string; buttons: string[] }

const final = JSON.parse(readFileSync(join(FIXTURES, 'ollama', 'api_chat_final.json'), 'utf8')) as { model: string; eval_count: number; eval_duration: number };
const chunk = JSON.parse(readFileSync(join(FIXTURES, 'ollama', 'api_generate_stream_chunk.json'), 'utf8')) as Record<string, unknown>;

async function notifications(): Promise<Note[]> {
  await vscode.commands.executeCommand('notifications.showList');
  await sleep(300);
  const { messages } = await probe<{ messages: Note[] }>('notifications');
  return messages.filter((m) => /headroom/i.test(m.source) || /headroom/i.test(m.message));
}

describe('metering proxy (setting on, Ollama replay behind it)', function () {
  let engine: TestServer;
  let proxyUrl = '';
  let slowBody = '';
  const cfg = () => vscode.workspace.getConfiguration('headroom');

  before(async function () {
    if (!PROBE_URL) this.skip();
    await headroom();
    await vscode.commands.executeCommand('notifications.clearAll');
    const { routes, notFound } = engineRoutes('ollama');
    // Ollama's /api/chat stream: like Ollama, the prompt is cut to num_ctx (here at most 2048) and the final
    // line counts only what was kept.
    routes['POST /api/chat'] = (_req, res, body) => {
      const sent = JSON.parse(body) as { options?: { num_ctx?: number; seed?: number } };
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(`${JSON.stringify({ ...chunk, model: final.model })}\n`);
      // seed 7: a slow reply (the guard's warning must be up before it ends).
      const end = () => res.end(`${JSON.stringify({ ...final, prompt_eval_count: Math.min(sent.options?.num_ctx ?? 4096, 2048) })}\n`);
      if (sent.options?.seed === 7) {
        slowBody = body;
        setTimeout(end, 6000);
      }
      else end();
    };
    engine = await startServer(routes, notFound);
    await useEngine(engine.url);
    const port = await freePort();
    await cfg().update('proxy.port', port, vscode.ConfigurationTarget.Global);
    await cfg().update('proxy.target', engine.url, vscode.ConfigurationTarget.Global);
    await cfg().update('proxy.enabled', true, vscode.ConfigurationTarget.Global);
    proxyUrl = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('notifications.hideList');
    for (const k of ['proxy.enabled', 'proxy.port', 'proxy.target']) await cfg().update(k, undefined, vscode.ConfigurationTarget.Global);
    await releaseEngine(engine);
  });

  it('listens on the configured port and relays the engine byte for byte', async () => {
    const viaProxy = await waitFor('the proxy answering', async () => {
      try {
        return await (await fetch(`${proxyUrl}/api/tags`)).text();
      } catch {
        return undefined;
      }
    });
    const direct = await (await fetch(`${engine.url}/api/tags`)).text();
    assert.equal(viaProxy, direct);
  });

  it('a chat sent through it gives the status bar the engine-reported decode tok/s', async () => {
    const idle = await waitForStatus('present', () => true);
    assert.doesNotMatch(idle.text, /\d tok\/s/, `a decode speed before anything went through the proxy: ${idle.text}`);
    const res = await fetch(`${proxyUrl}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'gemma4', messages: [{ role: 'user', content: 'hi' }] }) });
    assert.equal(res.status, 200);
    await res.text();
    const expected = Math.round(final.eval_count / (final.eval_duration / 1e9));
    const item = await waitForStatus(`showing ${expected} tok/s`, (i) => i.text.includes(`${expected} tok/s`));
    assert.match(item.text, /tok\/s/);
  });

  it('a prompt the engine cut to num_ctx raises the truncation notification with the numbers', async () => {
    const system = 'function f(x) { return x * 2; } // helper\n'.repeat(860); // ~36k characters, ~9k tokens
    const res = await fetch(`${proxyUrl}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'gemma4', options: { num_ctx: 2048 }, messages: [{ role: 'system', content: system }, { role: 'user', content: 'fix the bug' }] }) });
    await res.text();
    const raised = await waitFor('a truncation notification', async () => (await notifications()).find((n) => /silently cut the prompt/.test(n.message)));
    assert.match(raised.message, /gemma4/);
    assert.match(raised.message, /window 2(\.0)?k|window 2,048|window 2048/);
    assert.ok(!raised.message.includes('function f(x)'), 'prompt text leaked into the notification');
    // Ollama can apply the fix itself: the toast offers a reload with a window that holds the prompt (asked again first).
    assert.ok(raised.buttons.some((b) => /^Reload with \d+k context$/.test(b)), `buttons: ${JSON.stringify(raised.buttons)}`);
  });

  it('guard warn (the default): an over-long prompt is forwarded byte-exact and the warning is up before the reply ends', async () => {
    await vscode.commands.executeCommand('notifications.clearAll');
    // /api/ps says gemma4 is loaded with a 4096 window; ~9k tokens of system prompt cannot fit.
    const system = 'const total = items.reduce((s, i) => s + i.price, 0); // sum\n'.repeat(600);
    const body = JSON.stringify({ model: 'gemma4', options: { seed: 7 }, messages: [{ role: 'system', content: system }, { role: 'user', content: 'go' }] });
    let ended = false;
    const reply = fetch(`${proxyUrl}/api/chat`, { method: 'POST', body }).then(async (r) => {
      const text = await r.text();
      ended = true;
      return { status: r.status, text };
    });
    const raised = await waitFor('the guard warning', async () => (await notifications()).find((n) => /may be cut silently/.test(n.message)));
    assert.equal(ended, false, 'the warning came only after the reply ended');
    assert.match(raised.message, /prompt ≈ [\d,]+ tokens/);
    assert.match(raised.message, /4,096-token window/);
    assert.ok(!raised.message.includes('items.reduce'), 'prompt text leaked into the notification');
    const { status } = await reply;
    assert.equal(status, 200);
    assert.equal(slowBody, body, 'the engine got something other than what was sent');
    // Leave no toast behind for the suites that follow.
    await waitFor('the guard warning cleared', async () => {
      await vscode.commands.executeCommand('notifications.clearAll');
      return (await notifications()).length === 0 ? true : undefined;
    });
  });

  it('turning the setting off closes the port', async () => {
    await cfg().update('proxy.enabled', false, vscode.ConfigurationTarget.Global);
    await waitFor('the port to close', async () => {
      try {
        await fetch(`${proxyUrl}/api/tags`, { signal: AbortSignal.timeout(1000) });
        return undefined;
      } catch {
        return true;
      }
    });
  });
});
