// KV and memory model: agreement with independent references (catalog KV/token, Ollama model_info
// fixtures, the catalog's own Qwen3-Next state formula) and properties that must hold for any model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { catalogModels, rawCatalogEntries, findCatalogModel } from '../../src/estimator/catalog';
import { specFromGgufMetadata } from '../../src/estimator/gguf-spec';
import { kvBytesPerToken, kvLayout } from '../../src/estimator/kv';
import { defaultContextOptions, estimateMemory } from '../../src/estimator/memory';
import { weightsForQuant } from '../../src/estimator/weights';
import type { KvType, ModelSpec } from '../../src/estimator/types';
import { DATA } from '../support/data';

const specs = catalogModels().filter((m) => m.spec).map((m) => m.spec!);
const KV_TYPES: KvType[] = ['f32', 'f16', 'bf16', 'q8_0', 'q5_1', 'q5_0', 'q4_1', 'q4_0', 'iq4_nl'];

test('KV bytes per token agree with the catalog for every model (GQA, SWA, MLA, hybrid)', () => {
  const raw = new Map(rawCatalogEntries().map((e) => [e.id, e as unknown as { kv_cache_bytes_per_token_f16: number | null }]));
  let n = 0;
  for (const s of specs) {
    const ref = raw.get(s.id)?.kv_cache_bytes_per_token_f16;
    if (typeof ref !== 'number') continue;
    assert.equal(kvBytesPerToken(s, 'f16', 'f16'), ref, s.id);
    n++;
  }
  assert.ok(n >= 30);
});

test('Ollama /api/show model_info builds the same spec as a GGUF header (llama fixture)', () => {
  const show = JSON.parse(readFileSync(`${DATA}/engines/ollama/api_show_llama.json`, 'utf8')) as { model_info: Record<string, unknown> };
  const spec = specFromGgufMetadata(show.model_info, undefined, 'llama3.1');
  assert.equal(spec.arch, 'llama');
  assert.equal(spec.nLayers, 32);
  assert.equal(spec.vocabSize, 128256);
  assert.equal(spec.totalParams, 8030261248);
  assert.equal(spec.headDimK, 128);
  // 2 (K,V) × 32 layers × 8 KV heads × 128 × 2 B, as the catalog says for Llama-3.1-8B.
  assert.equal(kvBytesPerToken(spec, 'f16', 'f16'), findCatalogModel('meta-llama/Llama-3.1-8B-Instruct')!.spec!.nLayers * 2 * 8 * 128 * 2);
  // Weights for the quant Ollama reports, from the architecture + parameter count: Q4_0 of an 8B ≈ 4.66 GB.
  const w = weightsForQuant(spec, 'Q4_0');
  assert.ok(w.totalBytes > 4.5e9 && w.totalBytes < 4.8e9, String(w.totalBytes));
});

test('Gemma 4 model_info: SWA layers with smaller heads, shared-KV layers allocate nothing', () => {
  const show = JSON.parse(readFileSync(`${DATA}/engines/ollama/api_show.json`, 'utf8')) as { model_info: Record<string, unknown> };
  const spec = specFromGgufMetadata(show.model_info, undefined, 'gemma4');
  assert.equal(spec.nLayers, 42);
  // 42 layers, the last 18 share KV: 24 own caches; globals every 6th (5, 11, 17, 23) with 2 heads × 512.
  const own = spec.nKvHeadsPerLayer.filter((h) => h > 0).length;
  assert.equal(own, 24);
  assert.equal(kvBytesPerToken(spec, 'f16', 'f16'), 4 * 2 * 2 * 512 * 2);
  assert.equal(kvBytesPerToken(spec, 'f16', 'f16', { swaFull: true }), 4 * 2 * 2 * 512 * 2 + 20 * 2 * 2 * 256 * 2);
});

test('Qwen3-Next from GGUF keys matches the catalog: 12 growing layers, constant recurrent state', () => {
  const meta: Record<string, unknown> = {
    'general.architecture': 'qwen3next', 'qwen3next.block_count': 48, 'qwen3next.embedding_length': 2048,
    'qwen3next.attention.head_count': 16, 'qwen3next.attention.head_count_kv': 2, 'qwen3next.attention.key_length': 256,
    'qwen3next.attention.value_length': 256, 'qwen3next.context_length': 262144, 'qwen3next.vocab_size': 151936,
    'qwen3next.expert_count': 512, 'qwen3next.expert_used_count': 10, 'qwen3next.ssm.conv_kernel': 4, 'qwen3next.ssm.inner_size': 4096,
    'qwen3next.ssm.state_size': 128, 'qwen3next.ssm.group_count': 16, 'qwen3next.ssm.time_step_rank': 32, 'qwen3next.full_attention_interval': 4,
  };
  const ours = specFromGgufMetadata(meta, undefined, 'qwen3next');
  const cat = findCatalogModel('Qwen/Qwen3-Next-80B-A3B-Instruct')!.spec!;
  assert.deepEqual(ours.nKvHeadsPerLayer, cat.nKvHeadsPerLayer);
  assert.equal(kvBytesPerToken(ours, 'f16', 'f16'), kvBytesPerToken(cat, 'f16', 'f16'));
  assert.equal(ours.recurrentStateBytesPerSeq, cat.recurrentStateBytesPerSeq);
  const m1 = estimateMemory(ours, { quant: 'x', totalBytes: 0, activeBytes: 0, source: 'user' }, defaultContextOptions({ parallel: 1 }));
  const m4 = estimateMemory(ours, { quant: 'x', totalBytes: 0, activeBytes: 0, source: 'user' }, defaultContextOptions({ parallel: 4, ctxPerSeq: 1024 }));
  // Recurrent state is per sequence, not per token.
  assert.equal(m4.otherBytes - m1.otherBytes, 3 * ours.recurrentStateBytesPerSeq! + 3 * ours.vocabSize * 4);
});

const arbCtx = fc.record({
  ctxPerSeq: fc.integer({ min: 1, max: 300_000 }),
  parallel: fc.integer({ min: 1, max: 8 }),
  kvTypeK: fc.constantFrom(...KV_TYPES),
  kvTypeV: fc.constantFrom(...KV_TYPES),
  flashAttention: fc.boolean(),
  nUbatch: fc.constantFrom(128, 256, 512, 1024, 2048),
  kvUnified: fc.boolean(),
  swaFull: fc.boolean(),
});
const arbSpec = fc.constantFrom(...specs);
const noWeights = { quant: 'x', totalBytes: 0, activeBytes: 0, source: 'user' as const };

test('property: memory never shrinks as context grows', () => {
  fc.assert(
    fc.property(arbSpec, arbCtx, fc.integer({ min: 1, max: 100_000 }), (spec, ctx, more) => {
      const a = estimateMemory(spec, noWeights, ctx);
      const b = estimateMemory(spec, noWeights, { ...ctx, ctxPerSeq: ctx.ctxPerSeq + more });
      assert.ok(b.kvBytes >= a.kvBytes && b.totalBytes >= a.totalBytes, `${spec.id}`);
    }),
    { numRuns: 500 },
  );
});

test('property: smaller KV types never cost more (q4_0 < q8_0 < f16 < f32)', () => {
  // Quantized caches need rows of whole 32-element blocks (real head dims are); skip encodings that aren't.
  const blocky = specs.filter((s) => s.mla || s.nKvHeadsPerLayer.every((h) => (h * s.headDimK) % 32 === 0 && (h * s.headDimV) % 32 === 0));
  assert.ok(blocky.length >= 30);
  fc.assert(
    fc.property(fc.constantFrom(...blocky), arbCtx, (spec, ctx) => {
      const kv = (t: KvType): number => kvLayout(spec, { ...ctx, kvTypeK: t, kvTypeV: t }).bytes;
      const [q4, q8, f16, f32] = [kv('q4_0'), kv('q8_0'), kv('f16'), kv('f32')];
      assert.ok(q4 < q8 && q8 < f16 && f16 < f32, spec.id);
      // q8_0 is 34/64 of f16 for GQA rows (whole blocks), as measured.
      if (!spec.mla) assert.ok(Math.abs(q8 / f16 - 34 / 64) < 1e-9);
    }),
    { numRuns: 300 },
  );
});

test('property: MoE capacity needs every expert; decode reads far fewer bytes', () => {
  const moe = specs.filter((s) => s.moe);
  assert.ok(moe.length >= 10);
  fc.assert(
    fc.property(fc.constantFrom(...moe), fc.constantFrom('Q4_K_M', 'Q8_0', 'MXFP4', 'MLX-4bit', 'Q2_K'), arbCtx, (spec, quant, ctx) => {
      const w = weightsForQuant(spec, quant);
      const mem = estimateMemory(spec, w, ctx);
      assert.equal(mem.weightsBytes, w.totalBytes);
      // Capacity follows total params (≥ 1.5 bits each even at Q2), never the active ones.
      assert.ok(w.totalBytes > (spec.totalParams * 1.5) / 8, `${spec.id} ${quant}`);
      assert.ok(w.activeBytes < 0.5 * w.totalBytes, `${spec.id} ${quant}`);
    }),
    { numRuns: 100 },
  );
});

test('property: sliding-window layers stop growing past the window; only full layers do', () => {
  const swa = specs.filter((s) => s.slidingWindow && s.swaLayers?.some(Boolean));
  assert.ok(swa.length >= 3);
  fc.assert(
    fc.property(fc.constantFrom(...swa), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 }), (spec, a, b) => {
      const ctx = defaultContextOptions({ ctxPerSeq: 8192 + 256 * a, parallel: 1 });
      const k1 = kvLayout(spec, ctx).bytes;
      const k2 = kvLayout(spec, { ...ctx, ctxPerSeq: ctx.ctxPerSeq + 256 * b }).bytes;
      assert.equal(k2 - k1, 256 * b * kvBytesPerToken(spec, 'f16', 'f16'));
    }),
    { numRuns: 200 },
  );
});

test('context is padded to 256 and -np without unified KV splits it per sequence', () => {
  const spec: ModelSpec = findCatalogModel('meta-llama/Llama-3.1-8B-Instruct')!.spec!;
  assert.equal(kvLayout(spec, defaultContextOptions({ ctxPerSeq: 5000 })).nCtx, 5120);
  const split = kvLayout(spec, defaultContextOptions({ ctxPerSeq: 4096, parallel: 4, kvUnified: false }));
  assert.deepEqual([split.nCtx, split.nStreams, split.cellsPerStream], [16384, 4, 4096]);
  const unified = kvLayout(spec, defaultContextOptions({ ctxPerSeq: 4096, parallel: 4, kvUnified: true }));
  assert.deepEqual([unified.nStreams, unified.cellsPerStream], [1, 16384]);
  assert.equal(split.bytes, unified.bytes);
});
