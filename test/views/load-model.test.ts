// Loading a model on request (Choose Model), against real HTTP servers on 127.0.0.1; and the snooze bookkeeping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProviderError } from '../../src/providers/errors';
import { canLoad, loadModel } from '../../src/views/load-model';
import { isSnoozed, prune, snooze, SNOOZE_MS } from '../../src/views/snooze';
import { startServer } from '../support/fixture-server';

test('Ollama: POST /api/generate with no prompt, keep_alive and options.num_ctx', async (t) => {
  let body: unknown;
  const s = await startServer({
    'POST /api/generate': (_req, res, b) => {
      body = JSON.parse(b);
      res.writeHead(200, { 'content-type': 'application/json' });
      // Ollama's answer to a load-only request (docs/api.md "Load a model").
      res.end(JSON.stringify({ model: 'qwen3:30b-a3b', created_at: '2025-01-01T00:00:00Z', response: '', done: true, done_reason: 'load' }));
    },
  });
  t.after(() => s.close());
  const r = await loadModel({ engine: 'ollama', endpoint: s.url, model: 'qwen3:30b-a3b', ctxPerSeq: 32768 });
  assert.deepEqual(body, { model: 'qwen3:30b-a3b', keep_alive: '30m', options: { num_ctx: 32768 } });
  assert.equal(r.detail, 'qwen3:30b-a3b loaded (load)');
});

test('LM Studio: POST /api/v1/models/load with context_length; load time reported', async (t) => {
  let body: unknown;
  const s = await startServer({
    'POST /api/v1/models/load': (_req, res, b) => {
      body = JSON.parse(b);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'llm', instance_id: 'qwen3-30b', load_time_seconds: 9.25, status: 'loaded', load_config: { context_length: 16384 } }));
    },
  });
  t.after(() => s.close());
  const r = await loadModel({ engine: 'lmstudio', endpoint: s.url + '/', model: 'qwen/qwen3-30b', ctxPerSeq: 16384 });
  assert.deepEqual(body, { model: 'qwen/qwen3-30b', context_length: 16384 });
  assert.equal(r.loadSeconds, 9.25);
  assert.equal(r.detail, 'qwen/qwen3-30b loaded as qwen3-30b');
});

test('an engine error, a hostile answer and a hang end in a typed error, not a crash or a hang', async (t) => {
  const s = await startServer({
    'POST /api/generate': (_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"model \\"nope\\" not found, try pulling it first"}');
    },
    'POST /api/v1/models/load': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status": 42}');
    },
    'POST /hang/api/generate': () => undefined,
  });
  t.after(() => s.close());
  await assert.rejects(loadModel({ engine: 'ollama', endpoint: s.url, model: 'nope', ctxPerSeq: 4096 }), (e: unknown) => e instanceof ProviderError && e.kind === 'http' && e.status === 404);
  await assert.rejects(loadModel({ engine: 'lmstudio', endpoint: s.url, model: 'x', ctxPerSeq: 4096 }), (e: unknown) => e instanceof ProviderError && e.kind === 'schema');
  const ac = new AbortController();
  const p = loadModel({ engine: 'ollama', endpoint: `${s.url}/hang`, model: 'x', ctxPerSeq: 4096, signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(p, (e: unknown) => e instanceof ProviderError && e.kind === 'aborted');
  await assert.rejects(loadModel({ engine: 'ollama', endpoint: `${s.url}/hang`, model: 'x', ctxPerSeq: 4096, timeoutMs: 100 }), (e: unknown) => e instanceof ProviderError && e.kind === 'timeout');
  assert.equal(canLoad('ollama'), true);
  assert.equal(canLoad('llama.cpp'), false);
  assert.equal(canLoad(undefined), false);
});

test('snooze: per model or all, expires, and survives hostile stored state', () => {
  const now = 1_000_000;
  let m = snooze({}, 'a|m', now);
  assert.equal(isSnoozed(m, 'a|m', now + SNOOZE_MS - 1), true);
  assert.equal(isSnoozed(m, 'a|m', now + SNOOZE_MS), false);
  assert.equal(isSnoozed(m, 'b|m', now), false);
  m = snooze(m, '*', now, 1000);
  assert.equal(isSnoozed(m, 'b|m', now + 999), true);
  assert.deepEqual(prune({ x: 'soon' as unknown as number, y: Number.NaN, z: now - 1, w: now + 5 }, now), { w: now + 5 });
  assert.deepEqual(prune(undefined as unknown as Record<string, number>, now), {});
});
