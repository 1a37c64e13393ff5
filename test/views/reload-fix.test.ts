// "Reload with N context" for a warning or a panel row: which context, which engines, what is said, and the
// requests a real HTTP server on 127.0.0.1 receives (replaying the engines' recorded load answers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ProviderError } from '../../src/providers/errors';
import { applyReload, fixContext, reloadPlan } from '../../src/views/reload-fix';
import { ENGINE_FIXTURES } from '../support/data';
import { startServer } from '../support/fixture-server';

test('fixContext: the max that fits, capped by the model and by what the warning asks; none when it would not help', () => {
  // Truncation, no size asked: grow to the largest context that fits, floored to whole k.
  assert.equal(fixContext({ kind: 'truncation', configured: 8192, maxFit: 50_000, contextMax: 131072 }), 49152);
  // …capped by the model's own maximum.
  assert.equal(fixContext({ kind: 'truncation', configured: 8192, maxFit: 500_000, contextMax: 32768 }), 32768);
  // A guard event names the prompt: its size + room for the reply, rounded up to whole k — not the whole budget.
  assert.equal(fixContext({ kind: 'truncated', configured: 4096, maxFit: 200_000, contextMax: 131072, want: 20_000 }), 24576);
  assert.equal(fixContext({ kind: 'truncated', configured: 4096, maxFit: 16_384, contextMax: 131072, want: 20_000 }), 16384);
  // The window would not grow: no offer.
  assert.equal(fixContext({ kind: 'truncation', configured: 32768, maxFit: 32768, contextMax: 131072 }), undefined);
  assert.equal(fixContext({ kind: 'truncated', configured: 32768, maxFit: 20_000, contextMax: 131072, want: 40_000 }), undefined);
  // Out of memory: shrink to what fits; a row's own context when given.
  assert.equal(fixContext({ kind: 'oom', configured: 131072, maxFit: 70_000, contextMax: 131072 }), 69632);
  assert.equal(fixContext({ kind: 'context-cap', configured: 131072, maxFit: 70_000, contextMax: 131072, want: 65536 }), 65536);
  assert.equal(fixContext({ kind: 'oom', configured: 32768, maxFit: 40_000, contextMax: 131072 }), undefined);
  // Nothing useful fits, or nonsense in: no offer, no throw.
  assert.equal(fixContext({ kind: 'oom', configured: 32768, maxFit: 1000, contextMax: 131072 }), undefined);
  assert.equal(fixContext({ kind: 'truncation', maxFit: Number.NaN, contextMax: 131072 }), undefined);
  assert.equal(fixContext({ kind: 'slow-decode', configured: 8192, maxFit: 50_000, contextMax: 131072 }), undefined);
  // Window unknown: the offer stands on the estimate alone.
  assert.equal(fixContext({ kind: 'truncation', maxFit: 40_000, contextMax: 131072 }), 39936);
});

test('reloadPlan: only for engines with a load API; says what the reload does not do and gives the persistent fix', () => {
  for (const engine of ['llama.cpp', 'vllm', 'mlx-lm', 'sglang', 'openai-compatible', undefined]) {
    assert.equal(reloadPlan({ engine, endpoint: 'http://127.0.0.1:8080', model: 'm', ctxPerSeq: 32768 }), undefined, String(engine));
  }
  assert.equal(reloadPlan({ engine: 'ollama', endpoint: undefined, model: 'm', ctxPerSeq: 32768 }), undefined);
  const o = reloadPlan({ engine: 'ollama', endpoint: 'http://127.0.0.1:11434', model: 'qwen3:30b-a3b', ctxPerSeq: 32768, parallel: 1 })!;
  assert.equal(o.label, 'Reload with 32k context');
  assert.match(o.detail, /options\.num_ctx 32768/);
  assert.match(o.detail, /does not send num_ctx.*may reload it at the server's default/);
  assert.equal(o.persistent.command, 'OLLAMA_CONTEXT_LENGTH=32768 OLLAMA_NUM_PARALLEL=1 ollama serve');
  assert.match(o.persistent.note, /PARAMETER num_ctx 32768/);
  assert.ok(o.detail.includes(o.persistent.command!));
  const l = reloadPlan({ engine: 'lmstudio', endpoint: 'http://127.0.0.1:1234', model: 'openai/gpt-oss-20b:2', ctxPerSeq: 16384 })!;
  assert.equal(l.loadAs, 'openai/gpt-oss-20b');
  assert.equal(l.persistent.command, 'lms load openai/gpt-oss-20b --context-length 16384');
  assert.match(l.detail, /Unloads the LM Studio instance openai\/gpt-oss-20b:2/);
  assert.match(l.detail, /JIT/);
});

test('applyReload → Ollama: one POST /api/generate with options.num_ctx and keep_alive', async (t) => {
  const bodies: unknown[] = [];
  const s = await startServer({
    'POST /api/generate': (_req, res, b) => {
      bodies.push(JSON.parse(b));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ model: 'qwen3:30b-a3b', created_at: '2025-01-01T00:00:00Z', response: '', done: true, done_reason: 'load' }));
    },
  });
  t.after(() => s.close());
  const r = await applyReload(reloadPlan({ engine: 'ollama', endpoint: s.url, model: 'qwen3:30b-a3b', ctxPerSeq: 32768 })!);
  assert.deepEqual(s.requests, ['POST /api/generate']);
  assert.deepEqual(bodies, [{ model: 'qwen3:30b-a3b', keep_alive: '30m', options: { num_ctx: 32768 } }]);
  assert.equal(r.detail, 'qwen3:30b-a3b loaded (load)');
});

test('applyReload → LM Studio: unloads the instance, then loads the key with context_length (recorded answer)', async (t) => {
  const bodies: unknown[] = [];
  const loaded = readFileSync(`${ENGINE_FIXTURES}/lmstudio/api_v1_models_load.json`, 'utf8');
  const s = await startServer({
    'POST /api/v1/models/unload': (_req, res, b) => {
      bodies.push(JSON.parse(b));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ instance_id: 'openai/gpt-oss-20b' }));
    },
    'POST /api/v1/models/load': (_req, res, b) => {
      bodies.push(JSON.parse(b));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(loaded);
    },
  });
  t.after(() => s.close());
  const r = await applyReload(reloadPlan({ engine: 'lmstudio', endpoint: s.url, model: 'openai/gpt-oss-20b', ctxPerSeq: 16384 })!);
  assert.deepEqual(s.requests, ['POST /api/v1/models/unload', 'POST /api/v1/models/load']);
  assert.deepEqual(bodies, [{ instance_id: 'openai/gpt-oss-20b' }, { model: 'openai/gpt-oss-20b', context_length: 16384 }]);
  assert.equal(r.loadSeconds, 9.099);
});

test('applyReload: a failed unload stops before loading (nothing else changes); a hang is cancellable', async (t) => {
  const s = await startServer({
    'POST /api/v1/models/unload': (_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"instance not found"}');
    },
    'POST /api/generate': () => undefined,
  });
  t.after(() => s.close());
  await assert.rejects(applyReload(reloadPlan({ engine: 'lmstudio', endpoint: s.url, model: 'x', ctxPerSeq: 8192 })!), (e: unknown) => e instanceof ProviderError && e.kind === 'http' && e.status === 404);
  assert.deepEqual(s.requests, ['POST /api/v1/models/unload']);
  const ac = new AbortController();
  const p = applyReload(reloadPlan({ engine: 'ollama', endpoint: s.url, model: 'x', ctxPerSeq: 8192 })!, { signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(p, (e: unknown) => e instanceof ProviderError && e.kind === 'aborted');
});
