// Connect Agent end to end in a real VS Code: a temp HOME holding a commented Continue config.yaml (two models on
// the engine — an Ollama replay — and one on a remote API). Before: the tooltip says context use is not visible.
// Connect Agent (agent pick → consent pick listing each change) rewrites exactly the two apiBase values and turns the proxy on; a chat
// sent where the rewritten config says reaches the engine through the proxy and the tooltip shows the context in
// use; Undo restores the file byte for byte, and refuses to silently drop someone else's later edit.
import * as assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import { parse } from 'yaml';
import { engineRoutes, startServer, type TestServer } from '../../support/fixture-server';
import { quickPickRows, releaseEngine, useEngine } from '../support/commands';
import { headroom, sleep, waitFor, freePort } from '../support/host';
import { PROBE_URL, probe } from '../support/probe';

const config = (engine: string) => `# Continue config — comments must survive Connect Agent.
name: Local agents
version: 0.0.1
schema: v1

models:
  # The coder, on the local Ollama.
  - name: Qwen Coder
    provider: ollama
    model: qwen2.5-coder:7b
    apiBase: ${engine.replace('127.0.0.1', 'localhost')}   # localhost spelling
    roles: [chat, edit]

  - name: Gemma
    provider: ollama
    model: gemma4
    apiBase: "${engine}"  # explicit, double-quoted

  # Cloud model: must stay as it is.
  - name: GPT-4o
    provider: openai
    model: gpt-4o
    apiBase: https://api.openai.com/v1
`;

async function hoverText(): Promise<string> {
  return (await probe<{ text: string }>('hoverStatus')).text;
}

describe('Connect Agent (temp HOME, Continue config.yaml, Ollama replay)', function () {
  let engine: TestServer;
  let file = '';
  let original = '';
  let proxyPort = 0;
  const saved = { HOME: process.env.HOME, XDG_STATE_HOME: process.env.XDG_STATE_HOME };
  const cfg = () => vscode.workspace.getConfiguration('headroom');

  before(async function () {
    if (!PROBE_URL) this.skip();
    await headroom();
    const home = mkdtempSync(join(tmpdir(), 'headroom-connect-home-'));
    process.env.HOME = home;
    process.env.XDG_STATE_HOME = join(home, '.local', 'state');
    const { routes, notFound } = engineRoutes('ollama');
    routes['POST /api/chat'] = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end('{"model":"gemma4","done":true,"done_reason":"stop","prompt_eval_count":1843,"prompt_eval_duration":13074791,"eval_count":18,"eval_duration":52479709}\n');
    };
    engine = await startServer(routes, notFound);
    mkdirSync(join(home, '.continue'));
    file = join(home, '.continue', 'config.yaml');
    original = config(engine.url);
    writeFileSync(file, original);
    proxyPort = await freePort();
    await cfg().update('proxy.port', proxyPort, vscode.ConfigurationTarget.Global);
    await useEngine(engine.url);
  });

  after(async () => {
    process.env.HOME = saved.HOME;
    if (saved.XDG_STATE_HOME === undefined) delete process.env.XDG_STATE_HOME;
    else process.env.XDG_STATE_HOME = saved.XDG_STATE_HOME;
    await vscode.commands.executeCommand('notifications.clearAll');
    for (const k of ['proxy.enabled', 'proxy.port', 'proxy.target']) await cfg().update(k, undefined, vscode.ConfigurationTarget.Global);
    await releaseEngine(engine);
  });

  it('before: the tooltip says context use is not visible, with Connect Agent', async () => {
    const text = await waitFor('the tooltip describing gemma4', async () => {
      const t = await hoverText();
      return /gemma4/.test(t) ? t : undefined;
    });
    assert.match(text, /Context use not visible/);
    assert.match(text, /Connect Agent/);
  });

  it('rewrites exactly the two apiBase values on the engine (after consent), keeps comments, turns the proxy on', async () => {
    void vscode.commands.executeCommand('headroom.connectAgent');
    const rows = await quickPickRows(3);
    assert.ok(rows.some((r) => /Continue/.test(r) && /2 base URLs/.test(r)), JSON.stringify(rows));
    await probe('pickRow', { contains: 'Continue' });
    const ask = await waitFor('the consent pick', async () => {
      const q = await probe<{ visible: boolean; rows: string[] }>('quickInput');
      return q.visible && q.rows.some((r) => /rewrite 2 values/.test(r)) ? q.rows : undefined;
    });
    const port = engine.url.split(':').pop();
    assert.ok(ask.some((r) => r.includes('models[0].apiBase') && r.includes(`http://localhost:${port} → http://127.0.0.1:${proxyPort}`)), JSON.stringify(ask));
    assert.ok(ask.some((r) => r.includes('models[1].apiBase') && r.includes(`${engine.url} → http://127.0.0.1:${proxyPort}`)), JSON.stringify(ask));
    assert.ok(!ask.some((r) => r.includes('models[2]')), 'the remote model is not offered for rewriting');
    assert.equal(readFileSync(file, 'utf8'), original, 'nothing written before consent');
    await probe('pickRow', { contains: 'rewrite 2 values' });
    const now = await waitFor('the config rewritten', () => {
      const t = readFileSync(file, 'utf8');
      return t !== original ? t : undefined;
    });
    const before = original.split('\n');
    const after = now.split('\n');
    assert.equal(after.length, before.length);
    const changed = before.map((l, i) => [l, after[i]!] as const).filter(([a, b]) => a !== b);
    const proxy = `http://127.0.0.1:${proxyPort}`;
    assert.deepEqual(changed, [
      [`    apiBase: ${engine.url.replace('127.0.0.1', 'localhost')}   # localhost spelling`, `    apiBase: ${proxy}   # localhost spelling`],
      [`    apiBase: "${engine.url}"  # explicit, double-quoted`, `    apiBase: "${proxy}"  # explicit, double-quoted`],
    ]);
    assert.equal(cfg().get('proxy.enabled'), true);
    assert.equal(cfg().get('proxy.target'), engine.url);
    await vscode.commands.executeCommand('notifications.clearAll');
  });

  it('a chat through the rewritten config reaches the engine via the proxy; the tooltip shows the context in use', async () => {
    const conf = parse(readFileSync(file, 'utf8')) as { models: { name: string; apiBase: string }[] };
    const gemma = conf.models.find((m) => m.name === 'Gemma')!;
    assert.equal(new URL(gemma.apiBase).port, String(proxyPort));
    const seen = engine.requests.length;
    const res = await fetch(`${gemma.apiBase}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'gemma4', stream: false, messages: [{ role: 'user', content: 'hi' }] }) });
    assert.equal(res.status, 200);
    await res.text();
    assert.ok(engine.requests.slice(seen).includes('POST /api/chat'), 'the engine got the chat');
    const text = await waitFor('the tooltip with the metered context', async () => {
      const t = await hoverText();
      return /Context: 1,861 used/.test(t) ? t : undefined;
    });
    assert.match(text, /Context: 1,861 used of 4k configured \(45 %\) _?measured/);
    assert.doesNotMatch(text, /not visible/);
  });

  it('Undo Connect Agent restores the file byte-identical', async () => {
    await vscode.commands.executeCommand('headroom.undoConnectAgent');
    await waitFor('the original back', () => readFileSync(file, 'utf8') === original);
    assert.ok(readFileSync(file).equals(Buffer.from(original)));
    await vscode.commands.executeCommand('notifications.clearAll');
  });

  it('Cline (settings in its own storage): the exact URL to paste and where, copied to the clipboard', async () => {
    void vscode.commands.executeCommand('headroom.connectAgent');
    await quickPickRows(3);
    await probe('pickRow', { contains: 'Cline' });
    const rows = await waitFor('the paste pick', async () => {
      const q = await probe<{ visible: boolean; rows: string[] }>('quickInput');
      return q.visible && q.rows.some((r) => /Copy http/.test(r)) ? q.rows : undefined;
    });
    const copy = rows.find((r) => /Copy http/.test(r))!;
    assert.ok(copy.includes(`Copy http://127.0.0.1:${proxyPort}`), copy);
    assert.match(copy, /API Provider "Ollama" → Base URL/);
    await probe('pickRow', { contains: 'Copy http' });
    assert.equal(await waitFor('the clipboard', async () => ((await vscode.env.clipboard.readText()).startsWith('http') ? vscode.env.clipboard.readText() : undefined)), `http://127.0.0.1:${proxyPort}`);
    await vscode.commands.executeCommand('notifications.clearAll');
  });

  it('Undo asks before overwriting a config someone changed since; cancelling leaves their edit', async () => {
    void vscode.commands.executeCommand('headroom.connectAgent');
    await quickPickRows(3);
    await probe('pickRow', { contains: 'Continue' });
    await waitFor('the consent pick', async () => (await probe<{ rows: string[] }>('quickInput')).rows.some((r) => /rewrite 2 values/.test(r)));
    await probe('pickRow', { contains: 'rewrite 2 values' });
    await waitFor('the config rewritten', () => readFileSync(file, 'utf8') !== original);
    await vscode.commands.executeCommand('notifications.clearAll');
    const theirs = `${readFileSync(file, 'utf8')}# added by hand afterwards\n`;
    writeFileSync(file, theirs);
    const undo = vscode.commands.executeCommand('headroom.undoConnectAgent');
    const rows = await waitFor('the conflict question', async () => {
      const q = await probe<{ visible: boolean; rows: string[] }>('quickInput');
      return q.visible && q.rows.some((r) => /Restore Original/.test(r)) ? q.rows : undefined;
    });
    assert.ok(rows.some((r) => /your current version is kept aside/.test(r)), JSON.stringify(rows));
    await probe('press', { key: 'Escape' });
    await undo;
    await sleep(300);
    assert.equal(readFileSync(file, 'utf8'), theirs);
  });
});
