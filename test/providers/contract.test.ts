// Contract tests: each engine's recorded responses, replayed by a real HTTP server on 127.0.0.1,
// must be identified as that engine and yield the numbers the fixture files contain.
// Expected values below were read by hand from test/fixtures/engines/<engine>/*.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineRoutes, startFixtureServer, startServer, type TestServer } from '../support/fixture-server';
import { detectEndpoint, type Detection } from '../../src/providers/detect';
import type { EngineSnapshot, LoadedModel } from '../../src/providers/types';

async function detectFixture(engine: string, variant = '', port = 0, apiKey?: string): Promise<{ d: Detection; s: TestServer }> {
  const s = await startFixtureServer(engine, variant, port);
  try {
    const d = await detectEndpoint({ url: s.url, source: 'option', ...(apiKey ? { apiKey } : {}) });
    return { d, s };
  } finally {
    await s.close();
  }
}

function snap(d: Detection): EngineSnapshot {
  assert.equal(d.error, undefined, `unexpected error: ${JSON.stringify(d.error)}`);
  assert.ok(d.snapshot, 'snapshot present');
  return d.snapshot;
}

function only(s: EngineSnapshot): LoadedModel {
  assert.equal(s.loaded.length, 1);
  return s.loaded[0]!;
}

test('llama.cpp (verbatim capture): props, slots, models and metrics', async () => {
  const { d } = await detectFixture('llama.cpp');
  assert.equal(d.engine, 'llama.cpp');
  assert.equal(d.version, 'b1-de3ff81');
  assert.match(d.evidence ?? '', /Server: llama\.cpp/);
  const s = snap(d);
  assert.equal(s.server, 'llama.cpp');
  const m = only(s);
  assert.equal(m.name, 'llama31-8b-shape-4L-Q4_K_M.gguf');
  assert.deepEqual(m.quant, { value: 'Q4_K_M', source: 'engine', via: 'GET /props model_ftype' });
  assert.equal(m.contextPerSlot?.value, 4096);
  assert.equal(m.contextPerSlot?.source, 'engine');
  assert.equal(m.parallel?.value, 2);
  // -c 8192 -np 2 without --kv-unified: two 4096-cell caches.
  assert.equal(m.contextTotal?.value, 8192);
  assert.equal(m.contextTotal?.source, 'estimated');
  assert.equal(m.contextTrain?.value, 131072);
  assert.equal(m.paramCount?.value, 1923125312);
  assert.equal(m.weightsBytes?.value, 1249763584);
  assert.equal(m.modelPath, 'llama31-8b-shape-4L-Q4_K_M.gguf');
  assert.deepEqual(
    s.slots?.map((x) => [x.id, x.nCtx, x.processing]),
    [
      [0, 4096, false],
      [1, 4096, false],
    ],
  );
  assert.equal(m.contextUsed, undefined, 'idle slots hold no tokens');
  const predicted = s.metrics?.find((x) => x.name === 'llamacpp:predicted_tokens_seconds');
  assert.equal(predicted?.value, 25.7111);
  assert.deepEqual(s.notes, []);
});

test('llama.cpp busy slot: context in use from /slots n_prompt_tokens', async () => {
  const s = snap((await detectFixture('llama.cpp', 'busy')).d);
  const m = only(s);
  assert.equal(m.contextUsed?.value, 67);
  assert.equal(m.contextUsed?.source, 'engine');
  assert.deepEqual(
    s.slots?.map((x) => [x.processing, x.tokensInUse]),
    [
      [false, undefined],
      [true, 67],
    ],
  );
  assert.equal(s.metrics?.find((x) => x.name === 'llamacpp:requests_processing')?.value, 1);
});

test('llama.cpp after a request: the finished slot still holds its 104 tokens', async () => {
  const m = only(snap((await detectFixture('llama.cpp', 'after')).d));
  assert.equal(m.contextUsed?.value, 104);
});

test('llama.cpp with default flags: /slots and /metrics disabled become notes, not failures', async () => {
  const s = snap((await detectFixture('llama.cpp', 'default-flags')).d);
  const m = only(s);
  assert.equal(m.parallel?.value, 4);
  assert.equal(m.contextPerSlot?.value, 4096);
  // Auto -np 4 shares one unified 4096-cell cache (-c 4096).
  assert.equal(m.contextTotal?.value, 4096);
  assert.equal(s.slots, undefined);
  assert.equal(s.metrics, undefined);
  assert.ok(s.notes.some((n) => n.startsWith('/slots: HTTP 501: This server does not support slots endpoint')), s.notes.join('\n'));
  assert.ok(s.notes.some((n) => n.startsWith('/metrics: HTTP 501')), s.notes.join('\n'));
});

test('llama.cpp still loading (503 /health) is identified by /props', async () => {
  const { d } = await detectFixture('llama.cpp', 'loading');
  assert.equal(d.engine, 'llama.cpp');
});

test('Ollama: /api/ps memory split, context and /api/show GGUF metadata', async () => {
  const { d, s: server } = await detectFixture('ollama');
  assert.equal(d.engine, 'ollama');
  assert.equal(d.version, '0.12.6');
  const s = snap(d);
  const m = only(s);
  assert.equal(m.name, 'gemma4');
  assert.equal(m.quant?.value, 'Q4_K_M');
  assert.equal(m.residentBytes?.value, 6591830464);
  assert.equal(m.acceleratorBytes?.value, 5333539264);
  // size_vram < size: 1,258,291,200 bytes stay in system RAM (partial offload).
  assert.equal(m.cpuBytes?.value, 6591830464 - 5333539264);
  assert.equal(m.contextPerSlot?.value, 4096);
  assert.equal(m.contextTrain?.value, 131072);
  assert.equal(m.arch, 'gemma4');
  assert.equal(m.metadata?.['gemma4.block_count'], 42);
  assert.equal(m.metadata?.['gemma4.attention.head_count_kv'], 2);
  assert.equal(m.metadata?.['gemma4.attention.sliding_window'], 512);
  assert.equal(m.metadata?.['general.file_type'], 15);
  assert.ok(!('tokenizer.ggml.tokens' in (m.metadata ?? {})), 'null tokenizer arrays dropped');
  assert.equal(m.weightsBytes?.value, 9608350245);
  assert.deepEqual(s.models, [{ name: 'gemma4', loaded: true, contextLength: 4096, quant: 'Q4_K_M', sizeBytes: 9608350245, format: 'gguf', arch: 'gemma4' }]);
  assert.ok(server.requests.includes('POST /api/show'));
});

test('LocalAI answers Ollama\'s /api/version (fixed 0.9.0) but is identified as LocalAI', async () => {
  const { d } = await detectFixture('localai');
  assert.equal(d.engine, 'localai');
  assert.equal(d.version, 'v3.5.0 (a1b2c3d4)');
  const s = snap(d);
  assert.deepEqual(s.loaded.map((x) => [x.name, x.format]), [['qwen2.5-coder-7b-instruct', 'llama-cpp']]);
});

test('TabbyAPI serves llama.cpp-shaped /props and a KoboldCpp version yet is identified as TabbyAPI', async () => {
  const { d } = await detectFixture('tabbyapi');
  assert.equal(d.engine, 'tabbyapi');
  const m = only(snap(d));
  assert.equal(m.name, 'Qwen2.5-Coder-32B-Instruct-exl2-4.0bpw');
  assert.equal(m.contextPerSlot?.value, 32768);
  assert.equal(m.parallel?.value, 1);
  assert.equal(m.kvCacheType?.value, 'Q8');
  assert.deepEqual(m.quant, { value: '4.0bpw', source: 'estimated', via: 'parsed from the model name' });
  assert.equal(m.format, 'exl2');
});

test('KoboldCpp: version with capability flags, context and last-request use', async () => {
  const { d } = await detectFixture('koboldcpp');
  assert.equal(d.engine, 'koboldcpp');
  assert.equal(d.version, '1.76');
  const m = only(snap(d));
  assert.equal(m.name, 'Qwen2.5-Coder-14B-Instruct-Q4_K_M');
  assert.equal(m.contextPerSlot?.value, 16384);
  // last_input_count 1830 + last_token_count 256.
  assert.equal(m.contextUsed?.value, 2086);
  assert.equal(m.contextUsed?.source, 'estimated');
  assert.equal(m.quant?.value, 'Q4_K_M');
});

test('LM Studio REST v1: loaded instance config', async () => {
  const { d } = await detectFixture('lmstudio');
  assert.equal(d.engine, 'lmstudio');
  const s = snap(d);
  const m = only(s);
  assert.equal(m.name, 'google/gemma-4-26b-a4b');
  assert.equal(m.contextPerSlot?.value, 4096);
  assert.equal(m.parallel?.value, 4);
  assert.deepEqual(m.contextTotal, { value: 4096, source: 'estimated', via: 'config.context_length, assumed shared by all parallel predictions' });
  assert.equal(m.weightsBytes?.value, 17990911801);
  assert.equal(m.contextTrain?.value, 262144);
  assert.equal(m.arch, 'gemma4');
  assert.deepEqual(
    s.models.map((x) => [x.name, x.loaded]),
    [
      ['google/gemma-4-26b-a4b', true],
      ['deepseek-r1', false],
      ['text-embedding-nomic-embed-text-v1.5-embedding', false],
    ],
  );
});

test('LM Studio REST v0 only (older app): loaded_context_length', async () => {
  const { d } = await detectFixture('lmstudio', 'v0-only-loaded');
  assert.equal(d.engine, 'lmstudio');
  const m = only(snap(d));
  assert.equal(m.name, 'gemma-3-4b-it');
  assert.equal(m.contextPerSlot?.value, 4096);
  assert.equal(m.contextTrain?.value, 131072);
  assert.equal(m.arch, 'gemma3');
});

test('LM Studio REST v0 with nothing loaded lists models only', async () => {
  const s = snap((await detectFixture('lmstudio', 'v0-only')).d);
  assert.equal(s.loaded.length, 0);
  assert.deepEqual(
    s.models.map((x) => [x.name, x.format, x.contextLength]),
    [
      ['qwen2-vl-7b-instruct', 'mlx', 32768],
      ['meta-llama-3.1-8b-instruct', 'gguf', 131072],
      ['text-embedding-nomic-embed-text-v1.5', 'gguf', 2048],
    ],
  );
});

test('vLLM: max_model_len, KV usage fraction and pool capacity from /metrics', async () => {
  const { d } = await detectFixture('vllm');
  assert.equal(d.engine, 'vllm');
  assert.equal(d.version, '0.11.0');
  const s = snap(d);
  const m = only(s);
  assert.equal(m.contextPerSlot?.value, 131072);
  assert.equal(s.kvUsage?.value, 0.42);
  // num_gpu_blocks 27000 × block_size 16.
  assert.equal(s.kvCapacityTokens?.value, 432000);
  assert.equal(m.contextUsed?.value, Math.round(0.42 * 432000));
  assert.equal(m.contextUsed?.source, 'estimated');
  assert.equal(m.kvCacheType?.value, 'auto');
});

test('SGLang: server info, KV pool and token usage', async () => {
  const { d } = await detectFixture('sglang');
  assert.equal(d.engine, 'sglang');
  assert.equal(d.version, '0.5.2');
  const s = snap(d);
  const m = only(s);
  assert.equal(m.name, 'meta-llama/Llama-3.1-8B-Instruct');
  assert.equal(m.contextPerSlot?.value, 131072);
  assert.equal(s.kvCapacityTokens?.value, 430000);
  assert.equal(s.kvUsage?.value, 0.04);
  assert.equal(m.contextUsed?.value, 5123);
  assert.equal(m.weightsBytes?.value, Math.round(15.06 * 2 ** 30));
  assert.equal(m.kvCacheBytes?.value, Math.round(52.49 * 2 ** 30));
});

test('MLX-LM on a llama.cpp-shaped /health is told apart from llama.cpp', async () => {
  const { d } = await detectFixture('mlx-lm');
  assert.equal(d.engine, 'mlx-lm');
  const s = snap(d);
  assert.deepEqual(s.models.map((x) => x.name), ['mlx-community/Llama-3.2-3B-Instruct-4bit', 'mlx-community/Qwen3-30B-A3B-4bit']);
  assert.equal(s.loaded.length, 0);
});

test('exo: model catalogue with context and storage size', async () => {
  const { d } = await detectFixture('exo');
  assert.equal(d.engine, 'exo');
  const s = snap(d);
  assert.equal(s.models[0]?.contextLength, 131072);
  assert.equal(s.models[0]?.sizeBytes, 696 * 1024 * 1024);
  assert.equal(s.models[0]?.quant, '4bit');
  assert.equal(s.loaded.length, 0);
  assert.match(s.notes.join(' '), /cluster state \(GET \/state\): HTTP 404/);
});

test('exo with a running instance in /state: the sharded model is loaded', async () => {
  // /state body assembled from exo's pydantic models (shape as in test/providers/exo-cluster.test.ts).
  const id = 'mlx-community/Llama-3.2-1B-Instruct-4bit';
  const shard = (rank: number, start: number, end: number) => ({ PipelineShardMetadata: { modelCard: { modelId: id }, deviceRank: rank, worldSize: 2, startLayer: start, endLayer: end, nLayers: 16 } });
  const state = {
    topology: { nodes: ['A', 'B'], connections: [] },
    nodeIdentities: {},
    nodeMemory: {},
    instances: { i1: { MlxRingInstance: { instanceId: 'i1', shardAssignments: { modelId: id, runnerToShard: { ra: shard(0, 0, 8), rb: shard(1, 8, 16) }, nodeToRunner: { A: 'ra', B: 'rb' } } } } },
    runners: {},
  };
  const routes = engineRoutes('exo');
  const s = await startServer({ ...routes.routes, 'GET /state': { body: JSON.stringify(state) } }, routes.notFound);
  try {
    const d = await detectEndpoint({ url: s.url, source: 'option' });
    const sn = snap(d);
    assert.deepEqual(sn.models.map((m) => [m.name, m.loaded]), [[id, true]]);
    const m = only(sn);
    assert.equal(m.name, id);
    assert.equal(m.quant?.value, '4bit');
    assert.equal(m.contextTrain?.value, 131072);
    assert.match(sn.notes.join(' '), /pipeline sharding over 2 node\(s\)/);
  } finally {
    await s.close();
  }
});

test('Jan on port 1337: identified with and without its API key', async (t) => {
  let withKey: Detection;
  let withoutKey: Detection;
  try {
    withKey = (await detectFixture('jan', 'key=secret', 1337, 'secret')).d;
    withoutKey = (await detectFixture('jan', 'key=secret', 1337)).d;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') return t.skip('port 1337 is in use on this machine');
    throw err;
  }
  assert.equal(withKey.engine, 'jan');
  assert.deepEqual(snap(withKey).models.map((m) => m.name), ['jan-v3-4b-base-instruct']);
  assert.equal(withoutKey.engine, 'jan');
  assert.match(snap(withoutKey).notes.join(' '), /requires an API key/);
});

test('Jan\'s answers on another port are a generic OpenAI-compatible server', async () => {
  const { d } = await detectFixture('jan');
  assert.equal(d.engine, 'openai-compatible');
  assert.deepEqual(snap(d).models.map((m) => m.name), ['jan-v3-4b-base-instruct']);
});
