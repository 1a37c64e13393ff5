import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { catalogModels, findCatalogModel } from '../../src/estimator/catalog';
import { DATA } from '../support/data';

// The shared, cited catalog this data file starts from.
const shared = JSON.parse(readFileSync(`${DATA}/models/catalog.json`, 'utf8')) as { id: string; kv_cache_bytes_per_token_f16: number | null }[];

test('every shared catalog entry is present, plus DeepSeek-V4-Flash', () => {
  const ids = new Set(catalogModels().map((m) => m.id));
  for (const e of shared) assert.ok(ids.has(e.id), e.id);
  assert.ok(findCatalogModel('deepseek-ai/deepseek-v4-flash'));
  assert.equal(catalogModels().length, shared.length + 1);
});

test('spec layout per architecture family', () => {
  const gemma = findCatalogModel('google/gemma-3-12b-it')!.spec!;
  // Gemma 3: 5 local : 1 global, window 1024 → 40 of 48 layers sliding; layer 5 is the first global one.
  assert.equal(gemma.slidingWindow, 1024);
  assert.equal(gemma.swaLayers!.filter(Boolean).length, 40);
  assert.deepEqual(gemma.swaLayers!.slice(0, 6), [true, true, true, true, true, false]);
  const oss = findCatalogModel('openai/gpt-oss-120b')!.spec!;
  // gpt-oss: alternating, sliding first, window 128.
  assert.deepEqual(oss.swaLayers!.slice(0, 4), [true, false, true, false]);
  assert.equal(oss.slidingWindow, 128);
  assert.equal(oss.moe!.nExperts, 128);
  assert.equal(oss.moe!.nExpertsUsed, 4);
  const next = findCatalogModel('Qwen/Qwen3-Next-80B-A3B-Instruct')!.spec!;
  // Qwen3-Next: full attention on every 4th layer (12 of 48), the rest linear with constant state.
  assert.equal(next.nKvHeadsPerLayer.filter((h) => h > 0).length, 12);
  assert.equal(next.nKvHeadsPerLayer[3], 2);
  assert.equal(next.nKvHeadsPerLayer[0], 0);
  // 36 layers × (32·128·128 state + 3·(2·16·128 + 32·128) conv) × 4 B = 36 × 2,195,456 B
  assert.equal(next.recurrentStateBytesPerSeq, 36 * (32 * 128 * 128 + 3 * (2 * 16 * 128 + 32 * 128)) * 4);
  const v3 = findCatalogModel('deepseek-ai/DeepSeek-V3')!.spec!;
  assert.deepEqual(v3.mla, { kvLoraRank: 512, ropeDim: 64, qLoraRank: 1536, qkNopeHeadDim: 128, vHeadDim: 128 });
  assert.equal(v3.headDimK, 576);
  assert.equal(v3.moe!.nDenseLeadingLayers, 3);
  const moe = findCatalogModel('Qwen/Qwen3-30B-A3B')!.spec!;
  assert.ok(moe.activeParams < moe.totalParams / 8);
  const dense = findCatalogModel('meta-llama/Llama-3.1-70B-Instruct')!.spec!;
  assert.equal(dense.activeParams, dense.totalParams);
});

test('per-token f16 KV implied by the specs matches the catalog\'s derived figure', () => {
  // Growing layers only (sliding layers are capped, linear layers keep a constant state):
  // bytes/token = Σ non-SWA layers nKv × (dK + dV) × 2; MLA keeps K only (V is a view).
  for (const m of catalogModels()) {
    if (!m.spec) continue;
    const e = shared.find((x) => x.id === m.id);
    const expected = e?.kv_cache_bytes_per_token_f16 ?? (m.id === 'deepseek-ai/DeepSeek-V4-Flash' ? 6880 : null);
    if (expected == null) continue;
    const s = m.spec;
    let bytes = 0;
    s.nKvHeadsPerLayer.forEach((h, i) => {
      if (s.swaLayers?.[i]) return;
      bytes += h * (s.mla ? s.headDimK : s.headDimK + s.headDimV) * 2;
    });
    assert.equal(bytes, expected, m.id);
  }
});

test('incomplete entries say what is missing instead of crashing', () => {
  const partial = catalogModels().filter((m) => !m.spec);
  assert.ok(partial.length >= 3);
  for (const m of partial) assert.ok(m.missing.length > 0, m.id);
  assert.ok(findCatalogModel('google/gemma-4-31b-it')!.missing.includes('head_dim'));
  // Codestral's gaps were filled from a secondary source: estimable, but flagged low confidence.
  assert.equal(findCatalogModel('mistralai/Codestral-22B-v0.1')!.confidence, 'low');
  assert.ok(findCatalogModel('mistralai/Codestral-22B-v0.1')!.spec);
});
