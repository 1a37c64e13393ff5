import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate, maxContextThatFits, contextHorizon } from '../../src/estimator/fit';
import { findCatalogModel } from '../../src/estimator/catalog';
import { findHardware, usableBytes, withCapacityOverride } from '../../src/estimator/hardware';
import { weightsForQuant } from '../../src/estimator/weights';
import { defaultContextOptions, estimateMemory } from '../../src/estimator/memory';

const GiB = 1024 ** 3;
const model = (id: string) => findCatalogModel(id)!;

test('Llama-3.1-70B Q4_K_M: does not fit a 24 GB GPU, fits a 128 GB Mac', () => {
  // By hand: 70.55 B params × ~4.8 bpw / 8 ≈ 42 GB of weights alone > 24 GB; < 96 GB usable on a 128 GB Mac.
  const m = model('meta-llama/Llama-3.1-70B-Instruct');
  const w = weightsForQuant(m.spec!, 'Q4_K_M');
  assert.ok(w.totalBytes > 39 * GiB && w.totalBytes < 41 * GiB, String(w.totalBytes / GiB));
  const ctx = defaultContextOptions({ ctxPerSeq: 32768 });
  const small = evaluate(m.spec!, w, findHardware('rtx-4090')!, ctx, { contextMax: m.contextMax });
  assert.equal(small.fits, false);
  assert.ok(small.headroomBytes < -15 * GiB);
  assert.equal(small.maxContext, 0); // weights alone overflow: no context fits
  const big = evaluate(m.spec!, w, findHardware('m5-max-128')!, ctx, { contextMax: m.contextMax });
  assert.equal(big.fits, true);
  // 32k of f16 KV = 32768 × 320 KiB = 10 GiB on top of ~40 GiB weights → ~45 GiB headroom of 96 GiB usable.
  assert.ok(big.headroomBytes > 40 * GiB && big.headroomBytes < 50 * GiB, String(big.headroomBytes / GiB));
  assert.equal(big.headroomBytes, usableBytes(findHardware('m5-max-128')!) - big.memory.totalBytes);
  // Everything up to the trained 128k fits on 96 GiB usable (40 + 40 GiB KV at 128k).
  assert.equal(big.maxContext, 131072);
});

test('MoE needs all experts in memory: Qwen3-30B-A3B weighs like a 30B, not a 3B', () => {
  const m = model('Qwen/Qwen3-30B-A3B');
  const w = weightsForQuant(m.spec!, 'Q4_K_M');
  assert.ok(w.totalBytes > 15 * GiB, String(w.totalBytes / GiB));
  assert.ok(w.activeBytes < w.totalBytes / 6);
  const e = evaluate(m.spec!, w, withCapacityOverride(findHardware('rtx-4090')!, 12), defaultContextOptions({ ctxPerSeq: 8192 }));
  assert.equal(e.fits, false);
});

test('max context: the largest 256-multiple that fits, and one step more does not', () => {
  const m = model('Qwen/Qwen2.5-Coder-32B-Instruct');
  const w = weightsForQuant(m.spec!, 'Q4_K_M');
  const hw = findHardware('rtx-4090')!;
  const ctx = defaultContextOptions({ ctxPerSeq: 131072 });
  const usable = usableBytes(hw);
  const max = maxContextThatFits(m.spec!, w, ctx, usable, m.contextMax);
  assert.equal(max % 256, 0);
  assert.ok(max > 4096 && max < 65536, String(max));
  assert.ok(estimateMemory(m.spec!, w, { ...ctx, ctxPerSeq: max }).totalBytes <= usable);
  assert.ok(estimateMemory(m.spec!, w, { ...ctx, ctxPerSeq: max + 256 }).totalBytes > usable);
  // By hand: KV is 64 layers × 8 × 128 × 2 × 2 B = 256 KiB/token; every extra 4 GiB buys ~16k tokens.
  const more = maxContextThatFits(m.spec!, w, ctx, usable + 4 * GiB, m.contextMax);
  assert.ok(Math.abs(more - max - 16384) <= 512, `${more} vs ${max}`);
  // Parallel slots split the memory: 4 slots give each about a quarter of the KV room.
  const four = maxContextThatFits(m.spec!, w, { ...ctx, parallel: 4 }, usable, m.contextMax);
  assert.ok(four < max / 3 && four > max / 5, `${four} vs ${max}`);
  // Capped at the model's max context when memory is plentiful.
  const roomy = maxContextThatFits(m.spec!, w, ctx, 1000 * GiB, m.contextMax);
  assert.equal(roomy, m.contextMax);
});

test('sliding-window and hybrid models reach far longer contexts than their dense peers', () => {
  const hw = findHardware('rtx-5090')!;
  const gemma = model('google/gemma-3-27b-it');
  const g = evaluate(gemma.spec!, weightsForQuant(gemma.spec!, 'Q4_K_M'), hw, defaultContextOptions({ ctxPerSeq: 131072 }), { contextMax: gemma.contextMax });
  const qwen = model('Qwen/Qwen3-32B');
  const q = evaluate(qwen.spec!, weightsForQuant(qwen.spec!, 'Q4_K_M'), hw, defaultContextOptions({ ctxPerSeq: 131072 }), { contextMax: qwen.contextMax });
  assert.ok(g.maxContext > 2 * q.maxContext, `${g.maxContext} vs ${q.maxContext}`);
});

test('horizon: tokens and turns left before the window or memory runs out', () => {
  // Turns grow by 2000, 3000, 1000 tokens → 2000/turn; 20k used of a 32k window → 12k left → 6 turns.
  const h = contextHorizon([14000, 16000, 19000, 20000], 32768, 100000);
  assert.equal(h.limitedBy, 'window');
  assert.equal(h.tokensLeft, 32768 - 20000);
  assert.equal(h.tokensPerTurn, 2000);
  assert.equal(h.turnsLeft, 6);
  // Memory is the tighter limit: it wins.
  const m = contextHorizon([10000, 20000], 131072, 25600);
  assert.equal(m.limitedBy, 'memory');
  assert.equal(m.turnsLeft, 0);
  // A compaction (context shrinks) is not growth; a flat context never runs out.
  const flat = contextHorizon([5000, 5000, 5000], 32768, 65536);
  assert.equal(flat.turnsLeft, undefined);
  assert.equal(contextHorizon([], 4096, 8192).tokensLeft, 4096);
  const reset = contextHorizon([30000, 8000, 9000], 32768, 65536);
  assert.equal(reset.tokensPerTurn, 1000);
  assert.equal(reset.turnsLeft, 23);
});
