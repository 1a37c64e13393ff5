// A REAL llama-server (built from node-llama-cpp's source bundle) serving our tiny GGUF: its answers must
// have the shapes of the recorded fixtures (same build, bigger model), and its own memory log must match
// the KV arithmetic the estimator relies on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectEndpoint } from '../../src/providers/detect';
import { readGgufHeader } from '../../src/gguf/read';
import { specFromGgufMetadata } from '../../src/estimator/gguf-spec';
import { weightsFromTensors } from '../../src/estimator/weights';
import { defaultContextOptions, estimateMemory } from '../../src/estimator/memory';
import { llamaServerAvailable, llamaServerForFile, parseMemoryLog, startLlamaServer } from '../support/llama-server';
import { TINY_DEFAULTS, tinyModelPath } from '../support/tiny-model';
import { DATA } from '../support/data';
import { assertCpuBuffersMatch } from '../support/cpu-buffers';

const FIX = join(process.env.HEADROOM_FIXTURES ?? `${DATA}/engines`, 'llama.cpp');
const avail = llamaServerAvailable();
const CTX = 2048;
const NP = 2;
const server = llamaServerForFile(() => ({ model: tinyModelPath(), ctx: CTX, parallel: NP, extraArgs: ['--metrics', '--slots'] }));

/** Dotted key paths of a JSON value; array elements collapse to `[]` (union over elements). */
function keyPaths(v: unknown, prefix = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) {
    for (const e of v) keyPaths(e, `${prefix}[]`, out);
  } else if (v !== null && typeof v === 'object') {
    for (const [k, child] of Object.entries(v)) {
      const p = prefix ? `${prefix}.${k}` : k;
      out.add(p);
      keyPaths(child, p, out);
    }
  }
  return out;
}

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(join(FIX, name), 'utf8'));
}

async function getJson(url: string): Promise<{ status: number; server: string | null; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, server: res.headers.get('server'), body: await res.json() };
}

function sameKeys(actual: unknown, recorded: unknown, ignore: RegExp[] = []): void {
  const keep = (s: Set<string>) => [...s].filter((p) => !ignore.some((re) => re.test(p))).sort();
  assert.deepEqual(keep(keyPaths(actual)), keep(keyPaths(recorded)));
}

test('/props has the recorded key set and reports our context split and slots', async (t) => {
  const s = server(t);
  if (!s) return;
  const r = await getJson(`${s.url}/props`);
  assert.equal(r.status, 200);
  assert.equal(r.server, 'llama.cpp');
  // chat_template_caps and the sampler params depend on the template / build options, not the server shape.
  sameKeys(r.body, fixture('props.json'), [/^chat_template_caps\./]);
  const p = r.body as { total_slots: number; default_generation_settings: { n_ctx: number }; model_path: string; build_info: string };
  assert.equal(p.total_slots, NP);
  assert.equal(p.default_generation_settings.n_ctx, CTX / NP);
  assert.equal(p.model_path, tinyModelPath());
  assert.match(p.build_info, /^b\d+-[0-9a-f]+$/);
});

test('/slots (idle) matches the recorded shape, one entry per slot', async (t) => {
  const s = server(t);
  if (!s) return;
  const r = await getJson(`${s.url}/slots`);
  assert.equal(r.status, 200);
  sameKeys(r.body, fixture('slots_idle.json'));
  const slots = r.body as { id: number; n_ctx: number; is_processing: boolean }[];
  assert.deepEqual(slots.map((x) => [x.id, x.n_ctx, x.is_processing]), [[0, CTX / NP, false], [1, CTX / NP, false]]);
});

test('/v1/models matches the recorded shape and carries the model meta', async (t) => {
  const s = server(t);
  if (!s) return;
  const r = await getJson(`${s.url}/v1/models`);
  assert.equal(r.status, 200);
  sameKeys(r.body, fixture('v1_models.json'));
  const m = (r.body as { data: { owned_by: string; meta: Record<string, number> }[] }).data[0]!;
  assert.equal(m.owned_by, 'llamacpp');
  assert.equal(m.meta.n_ctx_train, TINY_DEFAULTS.contextTrain);
  assert.equal(m.meta.n_embd, TINY_DEFAULTS.hidden);
  assert.equal(m.meta.n_vocab, TINY_DEFAULTS.vocab);
  assert.equal(m.meta.n_ctx, CTX / NP);
  assert.equal(m.meta.vocab_type, 1); // SPM
});

test('/completion returns the recorded fields and engine timings', async (t) => {
  const s = server(t);
  if (!s) return;
  const res = await fetch(`${s.url}/completion`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'The capital of France is', n_predict: 16, seed: 42, ignore_eos: true, cache_prompt: false }),
    signal: AbortSignal.timeout(30_000),
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { tokens_predicted: number; tokens_evaluated: number; timings: { prompt_n: number; prompt_ms: number; predicted_n: number; predicted_ms: number; predicted_per_second: number } };
  // Same top-level and timing keys as the recording (generation_settings varies with request options).
  const top = (o: unknown) => Object.keys(o as object).sort();
  assert.deepEqual(top(body), top(fixture('completion.json')));
  assert.deepEqual(top(body.timings), top((fixture('completion.json') as { timings: object }).timings));
  assert.equal(body.tokens_predicted, 16);
  assert.equal(body.timings.predicted_n, 16);
  assert.equal(body.timings.prompt_n, body.tokens_evaluated);
  assert.ok(body.timings.predicted_ms > 0 && body.timings.prompt_ms > 0);
  // The server's decode rate spans n − 1 steps: the first token falls out of prompt processing.
  const rate = (1000 * (body.timings.predicted_n - 1)) / body.timings.predicted_ms;
  assert.ok(Math.abs(body.timings.predicted_per_second - rate) < 1e-6 * rate, `${body.timings.predicted_per_second} vs ${rate}`);
});

test('/v1/chat/completions renders our ChatML template and answers in the recorded shape', async (t) => {
  const s = server(t);
  if (!s) return;
  const messages = [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Say hi' },
  ];
  const res = await fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages, max_tokens: 16, seed: 42, ignore_eos: true }),
    signal: AbortSignal.timeout(30_000),
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
  const recorded = fixture('v1_chat_completions.json');
  // The assistant text is random, so `content` may come back empty; compare the rest of the shape.
  sameKeys(body, recorded, [/^choices\.\[\]\.message\.(content|reasoning_content)$/]);
  assert.equal(body.usage.completion_tokens, 16);
  // Our template: per message `<|im_start|>role\ncontent<|im_end|>\n`, then `<|im_start|>assistant\n`. Count the
  // tokens that rendering takes with the server's own tokenizer (specials parsed) and compare.
  const rendered = messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') + '<|im_start|>assistant\n';
  const tok = await fetch(`${s.url}/tokenize`, { method: 'POST', body: JSON.stringify({ content: rendered, add_special: true, parse_special: true }) });
  const { tokens } = (await tok.json()) as { tokens: number[] };
  assert.equal(body.usage.prompt_tokens, tokens.length);
});

test('/metrics exposes the recorded metric names and counts our request', async (t) => {
  const s = server(t);
  if (!s) return;
  const res = await fetch(`${s.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  const text = await res.text();
  const names = (txt: string) => [...txt.matchAll(/^(llamacpp:\w+) /gm)].map((m) => m[1]).sort();
  assert.deepEqual(names(text), names(readFileSync(join(FIX, 'metrics.txt'), 'utf8')));
  const predicted = Number(/^llamacpp:tokens_predicted_total (\S+)$/m.exec(text)?.[1]);
  assert.ok(predicted >= 16, `tokens_predicted_total = ${predicted}`);
});

test('the KV size the server logs is cells × layers × KV width × 2 bytes for K and for V', (t) => {
  const s = server(t);
  if (!s) return;
  const mem = parseMemoryLog(s.log());
  assert.ok(mem.kv, 'llama_kv_cache size line present in the log');
  const { nLayers, hidden, nHeads, nKvHeads } = TINY_DEFAULTS;
  const kvWidth = (hidden / nHeads) * nKvHeads;
  assert.equal(mem.kv.layers, nLayers);
  assert.equal(mem.kv.seqs, NP);
  assert.equal(mem.kv.cells * mem.kv.streams, CTX, 'non-unified: each of the streams holds its slot’s share');
  assert.equal(mem.kv.kType, 'f16');
  const expectK = CTX * nLayers * kvWidth * 2;
  // The log prints MiB with 2 decimals: allow half a unit of the last digit.
  const slack = 0.005 * 1024 * 1024;
  assert.ok(Math.abs(mem.kv.kBytes - expectK) <= slack, `K ${mem.kv.kBytes} vs ${expectK}`);
  assert.ok(Math.abs(mem.kv.vBytes - expectK) <= slack, `V ${mem.kv.vBytes} vs ${expectK}`);
  assert.ok(mem.modelBytes && mem.modelBytes > 0);
  assert.ok(mem.computeBytes && mem.computeBytes > 0);
});

test('detection finds this server on its port and its snapshot reports model, n_ctx and slots', async (t) => {
  const s = server(t);
  if (!s) return;
  const d = await detectEndpoint({ url: s.url, source: 'option' });
  assert.equal(d.error, undefined, JSON.stringify(d.error));
  assert.equal(d.engine, 'llama.cpp');
  const snap = d.snapshot!;
  assert.equal(snap.loaded.length, 1);
  const m = snap.loaded[0]!;
  assert.equal(m.contextPerSlot?.value, CTX / NP);
  assert.equal(m.parallel?.value, NP);
  assert.equal(m.contextTrain?.value, TINY_DEFAULTS.contextTrain);
  assert.equal(snap.slots?.length, NP);
  assert.ok(snap.slots!.every((x) => x.nCtx === CTX / NP));
  assert.ok(m.name.includes('tiny-llama'), m.name);
});

test('estimateMemory (from our GGUF header) matches the KV and weight sizes the server logs', async (t) => {
  const s = server(t);
  if (!s) return;
  const mem = parseMemoryLog(s.log());
  const header = await readGgufHeader(tinyModelPath());
  const spec = specFromGgufMetadata(header.metadata, header.tensors, 'tiny');
  const weights = weightsFromTensors(spec, 'F16');
  const est = estimateMemory(spec, weights, defaultContextOptions({ ctxPerSeq: CTX / NP, parallel: NP }));
  const slack = 0.005 * 1024 * 1024; // the log's 2-decimal MiB rounding
  assert.ok(Math.abs(est.kvBytes - mem.kv!.bytes) <= slack, `KV estimate ${est.kvBytes} vs logged ${mem.kv!.bytes}`);
  assert.equal(est.allocatedCtx, mem.kv!.cells * mem.kv!.streams);
  // Each model buffer (CPU_Mapped, and AMX / CPU_REPACK where this CPU has them) matches its own estimate.
  assertCpuBuffersMatch(s.log(), spec.tensors!, 'tiny F16');
  // Compute (scratch) buffer: the estimator's graph-peak formula vs what the scheduler reserved.
  const crel = Math.abs(est.computeBytes - mem.computeBytes!) / mem.computeBytes!;
  assert.ok(crel < 0.05, `compute ${est.computeBytes} vs logged ${mem.computeBytes} (${(crel * 100).toFixed(1)}%)`);
});

test('estimateMemory vs a second real load: wider model, 4 slots, flash attention off', async (t) => {
  if (!avail.ok) return t.skip(avail.reason);
  const over = { nLayers: 4, hidden: 512, nHeads: 8, nKvHeads: 4, ffn: 1536 };
  const model = tinyModelPath(over);
  const s2 = await startLlamaServer({ model, ctx: 8192, parallel: 4, extraArgs: ['-fa', 'off', '-t', '1'] });
  t.after(() => s2.stop());
  const mem = parseMemoryLog(s2.log());
  const header = await readGgufHeader(model);
  const spec = specFromGgufMetadata(header.metadata, header.tensors, 'wide');
  const est = estimateMemory(spec, weightsFromTensors(spec, 'F16'), defaultContextOptions({ ctxPerSeq: 2048, parallel: 4, flashAttention: false }));
  assert.equal(mem.kv!.cells * mem.kv!.streams, 8192);
  assert.ok(Math.abs(est.kvBytes - mem.kv!.bytes) <= 0.005 * 1024 * 1024, `KV ${est.kvBytes} vs ${mem.kv!.bytes}`);
  const crel = Math.abs(est.computeBytes - mem.computeBytes!) / mem.computeBytes!;
  assert.ok(crel < 0.05, `compute ${est.computeBytes} vs logged ${mem.computeBytes} (${(crel * 100).toFixed(1)}%)`);
});

test('a quantized model (Q8_0 attention, Q4_0 FFN) loads, decodes, and each CPU buffer matches its estimate', async (t) => {
  if (!avail.ok) return t.skip(avail.reason);
  const model = tinyModelPath({ ...TINY_DEFAULTS, weights: 'mixed' });
  const s3 = await startLlamaServer({ model, ctx: CTX, parallel: NP });
  t.after(() => s3.stop());
  const res = await fetch(`${s3.url}/completion`, {
    method: 'POST',
    body: JSON.stringify({ prompt: 'the quick brown fox', n_predict: 16, temperature: 0 }),
    signal: AbortSignal.timeout(60_000),
  });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { tokens_predicted: number }).tokens_predicted, 16);
  assert.equal(s3.exited(), false, 'the server survived quantized matmuls');
  const header = await readGgufHeader(model);
  const spec = specFromGgufMetadata(header.metadata, header.tensors, 'tiny-mixed');
  const f = assertCpuBuffersMatch(s3.log(), spec.tensors!, 'tiny Q8_0/Q4_0');
  // The process holds the mapped file range plus the copies: what estimateMemory adds on the CPU backend.
  const est = estimateMemory(spec, weightsFromTensors(spec, 'Q4_0'), defaultContextOptions({ ctxPerSeq: CTX / NP, parallel: NP, cpuBuffers: f }));
  const logged = parseMemoryLog(s3.log()).modelBuffers;
  const modelBufs = Object.values(logged).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(est.weightsBytes + est.repackBytes! - modelBufs) <= 0.01 * 1024 * 1024, `weights + copies ${est.weightsBytes + est.repackBytes!} vs model buffers ${modelBufs}`);
});
