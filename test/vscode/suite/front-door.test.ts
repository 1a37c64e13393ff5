// Connect Agent's front door in a real VS Code: the engine (an Ollama replay) moves one port up, Headroom's proxy
// takes its usual port, and Check says it worked only once the usual address really relays the moved engine.
// A chat sent to the usual address — no client config changed — then shows the model's context in the tooltip.
import * as assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import { engineRoutes, startServer, type Routes, type TestServer } from '../../support/fixture-server';
import { quickPickRows, releaseEngine, useEngine } from '../support/commands';
import { headroom, sleep, waitFor, freePort } from '../support/host';
import { PROBE_URL, probe } from '../support/probe';

async function portFree(port: number): Promise<boolean> {
  const s = createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function ollama(): { routes: Routes; notFound: ReturnType<typeof engineRoutes>['notFound'] } {
  const { routes, notFound } = engineRoutes('ollama');
  routes['POST /api/chat'] = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.end('{"model":"gemma4","done":true,"done_reason":"stop","prompt_eval_count":2500,"prompt_eval_duration":13074791,"eval_count":18,"eval_duration":52479709}\n');
  };
  return { routes, notFound };
}

async function messages(): Promise<string[]> {
  await vscode.commands.executeCommand('notifications.showList');
  await sleep(300);
  return (await probe<{ messages: { message: string }[] }>('notifications')).messages.map((m) => m.message);
}

describe('Connect Agent: front door (engine moves one port up, the proxy takes its port)', function () {
  let first: TestServer | undefined;
  let moved: TestServer | undefined;
  let usual = 0;
  const cfg = () => vscode.workspace.getConfiguration('headroom');

  before(async function () {
    if (!PROBE_URL) this.skip();
    await headroom();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('notifications.clearAll');
    // An engine on a port whose next one is free (where it will move).
    for (let i = 0; i < 20 && !first; i++) {
      const s = await startServer(ollama().routes, ollama().notFound);
      if (await portFree(s.port + 1)) first = s;
      else await s.close();
    }
    assert.ok(first, 'no port with a free neighbour');
    usual = first.port;
    await cfg().update('proxy.port', await freePort(), vscode.ConfigurationTarget.Global);
    await useEngine(first.url);
  });

  after(async () => {
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('notifications.hideList');
    for (const k of ['proxy.enabled', 'proxy.port', 'proxy.target']) await cfg().update(k, undefined, vscode.ConfigurationTarget.Global);
    await first?.close();
    await releaseEngine(moved);
  });

  it('says what to set, then — once the engine has moved — puts the proxy on its port and says it worked', async () => {
    void vscode.commands.executeCommand('headroom.connectAgent');
    await quickPickRows(3);
    await probe('pickRow', { contains: 'Front door' });
    const rows = await waitFor('the front-door steps', async () => {
      const q = await probe<{ visible: boolean; rows: string[] }>('quickInput');
      return q.visible && q.rows.some((r) => /Check now/.test(r)) ? q.rows : undefined;
    });
    assert.ok(rows.some((r) => r.includes(`Copy OLLAMA_HOST=127.0.0.1:${usual + 1}`)), JSON.stringify(rows));

    // Checking before the move: the engine still sits on its usual port → a warning, nothing switched.
    await probe('pickRow', { contains: 'Check now' });
    await waitFor('the not-moved warning', async () => (await messages()).find((m) => /still answers on/.test(m)));
    assert.notEqual(cfg().get('proxy.enabled'), true);

    // The user restarts the engine with OLLAMA_HOST=127.0.0.1:<usual+1>.
    await first!.close();
    first = undefined;
    const { routes, notFound } = ollama();
    moved = await startServer(routes, notFound, usual + 1);
    await waitFor('the steps again', async () => (await probe<{ visible: boolean; rows: string[] }>('quickInput')).rows.some((r) => /Check now/.test(r)));
    await probe('pickRow', { contains: 'Check now' });
    const worked = await waitFor('"it worked"', async () => (await messages()).find((m) => /It worked/.test(m)));
    assert.match(worked, new RegExp(`every client of http://127\\.0\\.0\\.1:${usual} now goes through Headroom's proxy to the engine on http://127\\.0\\.0\\.1:${usual + 1}`));
    assert.equal(cfg().get('proxy.port'), usual);
    assert.equal(cfg().get('proxy.target'), moved.url);
    const direct = await (await fetch(`${moved.url}/api/tags`)).text();
    assert.equal(await (await fetch(`http://127.0.0.1:${usual}/api/tags`)).text(), direct);
  });

  it('a chat to the usual address, no client changed, is metered: the tooltip shows the context in use', async () => {
    const seen = moved!.requests.length;
    const res = await fetch(`http://127.0.0.1:${usual}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'gemma4', stream: false, messages: [{ role: 'user', content: 'hi' }] }) });
    await res.text();
    assert.ok(moved!.requests.slice(seen).includes('POST /api/chat'));
    await vscode.commands.executeCommand('headroom.detectEngines');
    const text = await waitFor('the tooltip with the metered context', async () => {
      const t = (await probe<{ text: string }>('hoverStatus')).text;
      return /Context: 2,518 used/.test(t) ? t : undefined;
    });
    assert.doesNotMatch(text, /not visible/);
  });
});
