// The Session against real HTTP servers on 127.0.0.1 replaying recorded llama.cpp responses: live decode speed
// from /metrics counter deltas, context tracking from proxy records, horizons and warnings with hysteresis.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../src/config';
import type { MeterRecord } from '../../src/providers/proxy/record';
import type { Warning } from '../../src/estimator/warnings';
import { Session } from '../../src/views/session';
import { statusText, statusTooltip } from '../../src/views/status';
import { engineRoutes, FIXTURES, startFixtureServer, startServer, type Reply } from '../support/fixture-server';
import { DATA } from '../support/data';

function config(over: Record<string, unknown> = {}) {
  return parseConfig({ autoDetect: false, hardwareProfile: 'rtx-4090', ...over }).config;
}

/** llama.cpp replay whose /metrics counters advance: metrics_before.txt (0 tokens) then metrics.txt (164 tokens in 6.31883 s). */
async function llamaWithMovingCounters() {
  const { routes, notFound } = engineRoutes('llama.cpp');
  const metrics = routes['GET /metrics'] as Reply;
  const bodies = [readFileSync(`${FIXTURES}/llama.cpp/metrics_before.txt`, 'utf8'), metrics.body];
  let n = 0;
  routes['GET /metrics'] = (_req, res) => {
    res.writeHead(200, metrics.headers);
    res.end(bodies[Math.min(n++, bodies.length - 1)]);
  };
  return startServer(routes, notFound);
}

test('live decode tok/s from llama.cpp /metrics counter deltas reaches the status bar', async (t) => {
  const server = await llamaWithMovingCounters();
  t.after(() => server.close());
  let now = 1_000_000;
  const s = new Session({ config: () => config({ endpoints: [server.url] }), now: () => now });
  assert.equal(s.state.phase, 'detecting');
  assert.equal(await s.refresh(), true);
  assert.equal(s.state.phase, 'ready');
  assert.equal(s.state.models[0]!.speed.decode, undefined); // one snapshot: no delta yet
  now += 5000;
  await s.refresh();
  const m = s.state.models[0]!;
  // (164 − 0) tokens / (6.31883 − 0) s = 25.95 tok/s, engine busy-time counters.
  assert.ok(Math.abs(m.speed.decode!.value - 164 / 6.31883) < 1e-6);
  assert.equal(m.speed.decode!.source, 'engine');
  assert.match(statusText(s.state, 'memory-and-speed'), / · 26 tok\/s$/);
  assert.deepEqual(s.history(m.key).map((p) => Math.round(p.tokPerSec)), [26]);
  const tip = statusTooltip(s.state);
  assert.match(tip, /Decode \(bandwidth-bound\): 26 tok\/s \(comfortable\) _engine_/);
  // This fixture is a 4-layer test model that neither the engine metadata nor the catalog describes.
  assert.match(tip, /\| KV cache \| — \| _architecture unknown_ \|/);
});

test('proxy records drive context growth → truncation warning raised once per episode, cleared after shrinking', async (t) => {
  // Ollama replay: /api/ps context_length 4096, /api/show model_info (gemma4.*) gives the architecture.
  const server = await startFixtureServer('ollama');
  t.after(() => server.close());
  let now = 2_000_000;
  const raised: Warning[] = [];
  const s = new Session({ config: () => config({ endpoints: [server.url] }), now: () => now });
  s.onWarnings((w) => raised.push(...w));
  await s.refresh();
  const key = s.state.models[0]!.key;
  const rec = (promptTokens: number, outputTokens = 100): MeterRecord => ({ endpoint: '/v1/chat/completions', target: server.url, method: 'POST', status: 200, model: s.state.models[0]!.name, promptTokens, outputTokens, durationMs: 1000, truncated: false, at: (now += 10_000) });
  const truncation = () => s.state.alerts.filter((a) => a.kind === 'truncation');
  // Window 4096 (num_ctx). Prompts 1000 → 1200 → 1400 (+100 out): 1500 used, growth 200/turn → 12 turns left.
  for (const p of [1000, 1200, 1400]) s.ingestProxyRecord(rec(p));
  let h = s.state.models[0]!.horizon!;
  assert.deepEqual([h.limit, h.tokensLeft, h.turnsLeft, h.growthPerTurn], ['window', 2596, 12, 200]);
  // A big file read: median growth stays 200; 3200 used → 896 left → 4 turns: still quiet.
  s.ingestProxyRecord(rec(3100));
  assert.equal(s.state.models[0]!.horizon!.turnsLeft, 4);
  assert.equal(raised.length, 0);
  // 3400 used → 696 left → 3 turns ≤ the 3-turn threshold: the warning enters, once.
  s.ingestProxyRecord(rec(3300));
  assert.equal(raised.length, 1);
  assert.equal(raised[0]!.kind, 'truncation');
  assert.equal(raised[0]!.modelKey, key);
  assert.match(raised[0]!.message, /~696 tokens \(~3 turns\) left before the 4k window truncates the prompt/);
  assert.equal(truncation().length, 1);
  // Still near on later polls and turns: no second notification in the same episode.
  await s.refresh();
  s.ingestProxyRecord(rec(3400));
  assert.equal(raised.length, 1);
  // New conversation (two small prompts in a row): the level drops below the exit margin → cleared.
  s.ingestProxyRecord(rec(500));
  s.ingestProxyRecord(rec(520));
  assert.equal(truncation().length, 0);
  // It fills up again: a new episode, a new notification.
  for (const p of [1500, 2500, 3500]) s.ingestProxyRecord(rec(p, 300));
  assert.equal(raised.length, 2);
  h = s.state.models[0]!.horizon!;
  assert.equal(h.tokensLeft, 4096 - 3800);
});

test('warnings disabled in settings: state still shows the alert, no notification is raised', async (t) => {
  const server = await startFixtureServer('ollama');
  t.after(() => server.close());
  let now = 3_000_000;
  const raised: Warning[] = [];
  const s = new Session({ config: () => config({ endpoints: [server.url], 'warnings.enabled': false }), now: () => now });
  s.onWarnings((w) => raised.push(...w));
  await s.refresh();
  const name = s.state.models[0]!.name;
  for (const p of [3000, 3300, 3600]) s.ingestProxyRecord({ endpoint: '/completion', target: server.url, method: 'POST', status: 200, model: name, promptTokens: p, durationMs: 1, truncated: false, at: (now += 1000) });
  assert.ok(s.state.alerts.some((a) => a.kind === 'truncation'));
  assert.equal(raised.length, 0);
});

test('hardware: setting wins; unknown id falls back to detection with a log line; capacity override applies', async () => {
  const logs: string[] = [];
  const detected = { profile: { id: 'cpu-x', name: 'This box', capacityBytes: 16 * 2 ** 30, usableFraction: 0.85, bandwidthGBps: 50, unifiedMemory: true, kind: 'cpu' as const, fp16Tflops: 1, backend: 'cpu' as const }, detail: 'test box', exact: false };
  let cfg = config({ hardwareProfile: 'nope' });
  const s = new Session({ config: () => cfg, detect: async () => [], localHardware: async () => detected, log: (_l, m) => logs.push(m) });
  await s.refresh();
  assert.equal(s.state.hardware.id, 'cpu-x');
  assert.equal(s.state.hardware.chosenBy, 'detected');
  assert.ok(logs.some((l) => /unknown profile 'nope'/.test(l)));
  assert.equal(s.state.phase, 'idle');
  cfg = config({ hardwareProfile: 'm4-pro-48', capacityGB: 64 });
  s.configChanged();
  await s.refresh();
  assert.equal(s.state.hardware.id, 'm4-pro-48');
  assert.equal(s.state.hardware.capacityBytes, 64 * 2 ** 30);
  assert.equal(s.state.hardware.capacityOverridden, true);
});

test('a local llama.cpp model file is read (header only): exact architecture, KV for 2 slots × 4096', async (t) => {
  const { gunzipSync } = await import('node:zlib');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'headroom-gguf-'));
  const path = join(dir, 'llama31-8b-shape-4L-Q4_K_M.gguf');
  writeFileSync(path, gunzipSync(readFileSync(`${DATA}/groundtruth/gguf-headers/llama31-8b-shape-4L-Q4_K_M.header.gguf.gz`)));
  const { routes, notFound } = engineRoutes('llama.cpp');
  const props = routes['GET /props'] as Reply;
  routes['GET /props'] = { ...props, body: JSON.stringify({ ...JSON.parse(props.body), model_path: path }) };
  const server = await startServer(routes, notFound);
  t.after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const logs: string[] = [];
  const s = new Session({ config: () => config({ endpoints: [server.url] }), log: (_l, m) => logs.push(m) });
  await s.refresh();
  const m = s.state.models[0]!;
  assert.equal(m.shapeUnknown, undefined);
  assert.equal(s.details(m.key)!.estimate!.specSource, 'gguf');
  // Llama-3.1-8B shape, 4 layers: K+V = 2 × 8 KV heads × 128 dims × 2 bytes × 4 layers = 16384 B per token;
  // 2 slots × 4096 (props n_ctx × total_slots, one cache per slot) = 8192 cells → 128 MiB.
  assert.deepEqual(m.memory.kv, { value: 8192 * 16384, source: 'estimated' });
  assert.ok(logs.some((l) => l.includes('read the GGUF header')));
  // Read once: a second poll does not read it again.
  await s.refresh();
  assert.equal(logs.filter((l) => l.includes('read the GGUF header')).length, 1);
});
