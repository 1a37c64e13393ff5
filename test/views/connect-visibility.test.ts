// "Say when it's blind": an Ollama model (no token counts in /api/ps) shows "context use not visible — Connect
// Agent" in the tooltip until a request for it passes the real metering proxy; then the tooltip shows the context
// the proxy counted. Also the front-door check against real listeners, and the paste values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config';
import { startMeteringProxy } from '../../src/providers/proxy/server';
import { Session } from '../../src/views/session';
import { blindLine, statusTooltip, TOOLTIP_COMMANDS } from '../../src/views/status';
import { checkFrontDoor, frontDoorPlan, type Prober } from '../../src/connect/front-door';
import { PASTE_AGENTS, pasteInstructions } from '../../src/connect/paste';
import { engineRoutes, FIXTURES, startServer } from '../support/fixture-server';

const final = JSON.parse(readFileSync(join(FIXTURES, 'ollama', 'api_chat_final.json'), 'utf8')) as Record<string, unknown>;

async function ollamaWithChat() {
  const { routes, notFound } = engineRoutes('ollama');
  routes['POST /api/chat'] = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.end(`${JSON.stringify({ ...final, prompt_eval_count: 1843 })}\n`);
  };
  return startServer(routes, notFound);
}

test('tooltip: blind hint for an Ollama model nobody metered; gone, with the counted context, once a chat passes the proxy', async (t) => {
  const engine = await ollamaWithChat();
  t.after(() => engine.close());
  const s = new Session({ config: () => parseConfig({ autoDetect: false, hardwareProfile: 'rtx-4090', endpoints: [engine.url] }).config });
  await s.refresh();
  const m = s.state.models[0]!;
  assert.equal(m.engine, 'ollama');
  assert.equal(m.context.used, undefined);
  const before = statusTooltip(s.state);
  assert.match(before, /Context use not visible — ollama reports no token counts.*\[\$\(plug\) Connect Agent\]\(command:headroom\.connectAgent\)/);
  assert.ok(TOOLTIP_COMMANDS.includes('headroom.connectAgent'), 'the tooltip may run the link');

  const proxy = await startMeteringProxy({ target: engine.url, onRecord: (r) => s.ingestProxyRecord(r, proxy.url) });
  t.after(() => proxy.close());
  const res = await fetch(`${proxy.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'gemma4', stream: false, messages: [{ role: 'user', content: 'hi' }] }) });
  await res.text();
  for (let i = 0; i < 50 && !s.state.models[0]!.metered; i++) await new Promise((r) => setTimeout(r, 20));
  const after = s.state.models[0]!;
  assert.equal(after.metered, true);
  assert.deepEqual(after.context.used, { value: 1843 + 18, source: 'measured' });
  const tip = statusTooltip(s.state);
  assert.doesNotMatch(tip, /not visible/);
  assert.match(tip, /Context: 1,861 used of 4k configured \(45 %\) _measured_/);
  // A poll afterwards keeps it (the engine still reports nothing).
  await s.refresh();
  assert.equal(blindLine(s.state.models[0]!), undefined);
});

test('front door: the engine seen through the proxy (detection at the proxy address) is metered under that same key', async (t) => {
  const engine = await ollamaWithChat();
  t.after(() => engine.close());
  let s: Session | undefined;
  const proxy = await startMeteringProxy({ target: engine.url, onRecord: (r) => s!.ingestProxyRecord(r, proxy.url) });
  t.after(() => proxy.close());
  s = new Session({ config: () => parseConfig({ autoDetect: false, hardwareProfile: 'rtx-4090', endpoints: [proxy.url] }).config });
  // The chat comes before the first detection (the engine just moved): the record must still land on the model.
  await (await fetch(`${proxy.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'gemma4', stream: false, messages: [] }) })).text();
  await new Promise((r) => setTimeout(r, 100));
  await s.refresh();
  const m = s.state.models[0]!;
  assert.equal(m.endpoint, proxy.url);
  assert.equal(m.metered, true);
  assert.equal(m.context.used?.value, 1861);
});

test('front door: not moved → ready → working, judged from what answers where', async (t) => {
  const { routes, notFound } = engineRoutes('ollama');
  const moved = await startServer(routes, notFound);
  t.after(() => moved.close());
  const usualPort = moved.port - 1;
  const plan = { ...frontDoorPlan('ollama', `http://127.0.0.1:${usualPort}`, 'linux'), moved: moved.url };
  const probe: Prober = async (url) => {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      return { status: r.status, body: await r.text() };
    } catch {
      return undefined;
    }
  };
  // Nothing on the usual port, engine on the moved one: ready for the proxy to take over.
  assert.equal((await checkFrontDoor(plan, 'ollama', probe, false)).state, 'ready');
  // The engine still on its usual port (an old process), nothing moved: not moved, with the setting to use.
  const usualEngine = await startServer(routes, notFound);
  t.after(() => usualEngine.close());
  const stuck = await checkFrontDoor({ ...plan, usual: usualEngine.url, moved: 'http://127.0.0.1:1' }, 'ollama', probe, false);
  assert.equal(stuck.state, 'not-moved');
  assert.match(stuck.message, /OLLAMA_HOST=127\.0\.0\.1:/);
  // The proxy on the "usual" address relays the moved engine: working.
  const proxy = await startMeteringProxy({ target: moved.url });
  t.after(() => proxy.close());
  const ok = await checkFrontDoor({ ...plan, usual: proxy.url }, 'ollama', probe, true);
  assert.equal(ok.state, 'working');
  assert.match(ok.message, /It worked/);
  assert.equal((await checkFrontDoor({ ...plan, moved: 'http://127.0.0.1:1', usual: 'http://127.0.0.1:2' }, 'ollama', probe, false)).state, 'no-engine');
});

test('front door plan: Ollama gets OLLAMA_HOST per platform; other engines a --port', () => {
  const p = frontDoorPlan('ollama', 'http://localhost:11434', 'linux');
  assert.equal(p.moved, 'http://127.0.0.1:11435');
  assert.equal(p.copy, 'OLLAMA_HOST=127.0.0.1:11435');
  assert.match(p.steps.join('\n'), /systemctl edit ollama\.service/);
  assert.match(frontDoorPlan('ollama', 'http://127.0.0.1:11434', 'darwin').steps[0]!, /launchctl setenv OLLAMA_HOST 127\.0\.0\.1:11435/);
  assert.equal(frontDoorPlan('llama.cpp', 'http://127.0.0.1:8080', 'linux').copy, '--port 8081');
});

test('paste values: Ollama provider takes the bare proxy URL, OpenAI-compatible engines get /v1', () => {
  const cline = PASTE_AGENTS.find((a) => a.id === 'cline')!;
  assert.deepEqual(pasteInstructions(cline, 'ollama', 'http://127.0.0.1:11435/'), { value: 'http://127.0.0.1:11435', where: 'Cline panel → ⚙ Settings → API Configuration → API Provider "Ollama" → Base URL (check "Use custom base URL" if shown)' });
  assert.equal(pasteInstructions(PASTE_AGENTS.find((a) => a.id === 'roo')!, 'llama.cpp', 'http://127.0.0.1:11435').value, 'http://127.0.0.1:11435/v1');
});
