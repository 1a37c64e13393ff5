// Horizon: tokens/turns left before the window truncates and before the needed window stops fitting in
// memory, using the estimator's own memory model for a Llama-3.1-8B-shaped model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeHorizon, maxFittingCtx, maxFittingWindow } from '../../src/estimator/horizon';
import { defaultContextOptions, estimateMemory } from '../../src/estimator/memory';
import type { ModelSpec, WeightsInfo } from '../../src/estimator/types';

const GB = 1e9;
// Llama-3.1-8B hyperparameters (config.json): 32 layers, 32 heads, 8 KV heads, head_dim 128.
const llama8b: ModelSpec = {
  id: 'meta-llama/Llama-3.1-8B-Instruct',
  name: 'Llama 3.1 8B',
  arch: 'llama',
  source: 'catalog',
  totalParams: 8.03e9,
  activeParams: 8.03e9,
  nLayers: 32,
  hiddenSize: 4096,
  nHeads: 32,
  nKvHeadsPerLayer: Array(32).fill(8),
  headDimK: 128,
  headDimV: 128,
  vocabSize: 128256,
  contextTrain: 131072,
};
// bartowski Q4_K_M file size.
const q4: WeightsInfo = { quant: 'Q4_K_M', totalBytes: 4.92 * GB, activeBytes: 4.92 * GB, source: 'catalog' };

test('window leg: tokens and whole turns left at the median growth', () => {
  const h = computeHorizon({ usedTokens: 30_000, growthPerTurn: 900, window: 32_768 });
  assert.equal(h.limit, 'window');
  assert.equal(h.tokensLeft, 2768);
  assert.equal(h.turnsLeft, 3);
  assert.equal(h.memory, undefined);
  const over = computeHorizon({ usedTokens: 40_000, growthPerTurn: 900, window: 32_768 });
  assert.equal(over.tokensLeft, -7232);
  assert.equal(over.turnsLeft, 0);
  assert.equal(computeHorizon({ usedTokens: 100, window: 4096 }).turnsLeft, undefined);
  assert.equal(computeHorizon({ usedTokens: 100, growthPerTurn: -50, window: 4096 }).turnsLeft, undefined);
});

test('memory leg wins when the window the agent would need does not fit', () => {
  const h = computeHorizon({ usedTokens: 20_000, growthPerTurn: 1000, window: 65_536, maxFittingWindow: 28_000 });
  assert.equal(h.limit, 'memory');
  assert.equal(h.tokensLeft, 8000);
  assert.equal(h.turnsLeft, 8);
  assert.equal(h.window.tokensLeft, 45_536);
  assert.deepEqual(h.memory, { tokensLeft: 8000, turnsLeft: 8, maxWindow: 28_000 });
});

test('max fitting window: KV growth fills exactly the memory left after weights and other resident models', () => {
  const ctx = defaultContextOptions({ ctxPerSeq: 8192, parallel: 1 });
  const usable = 12 * GB;
  const other = 3 * GB; // another model kept loaded
  const w = maxFittingWindow({ spec: llama8b, weights: q4, ctx, usableBytes: usable, otherResidentBytes: other });
  const at = (c: number) => estimateMemory(llama8b, q4, { ...ctx, ctxPerSeq: c }).totalBytes;
  assert.ok(at(w) <= usable - other, 'the returned window fits');
  assert.ok(at(w + 512) > usable - other, 'a notably larger one does not');
  // Independent arithmetic: f16 K+V = 2 × 32 layers × 8 heads × 128 dims × 2 bytes = 128 KiB per token.
  const kvPerToken = 2 * 32 * 8 * 128 * 2;
  const rough = (usable - other - q4.totalBytes) / kvPerToken;
  assert.ok(w < rough && w > rough * 0.85, `window ${w} vs weights+KV-only bound ${Math.round(rough)} (compute buffers take the rest)`);
  // Every other resident model shrinks it; nothing left → 0.
  const w2 = maxFittingWindow({ spec: llama8b, weights: q4, ctx, usableBytes: usable, otherResidentBytes: 5 * GB });
  assert.ok(w2 < w);
  assert.equal(maxFittingWindow({ spec: llama8b, weights: q4, ctx, usableBytes: usable, otherResidentBytes: 8 * GB }), 0);
  // q8_0 KV roughly doubles the window.
  const w8 = maxFittingWindow({ spec: llama8b, weights: q4, ctx: { ...ctx, kvTypeK: 'q8_0', kvTypeV: 'q8_0' }, usableBytes: usable, otherResidentBytes: other });
  assert.ok(w8 > 1.7 * w && w8 < 2 * w, `${w8} vs ${w}`);
});

test('maxFittingCtx bisection edge cases', () => {
  assert.equal(maxFittingCtx((c) => c, 1e9, 256, 4096), 4096);
  assert.equal(maxFittingCtx((c) => c, 100, 256, 4096), 255);
  assert.equal(maxFittingCtx((c) => c * 10, 20_000, 256, 131072), 1792);
});
