// Cluster math: pooled capacity, memory-proportional layer split, and a per-token decode time that adds
// every stage's memory time and every boundary crossing. Expected values are derived by hand below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planCluster, planTensorCluster, splitLayers, ENGINE_TRAFFIC, type ClusterModel } from '../../src/estimator/cluster';
import { LINKS, customLink, findLink, hopSeconds } from '../../src/estimator/interconnect';
import { findHardware } from '../../src/estimator/hardware';
import { deviceOf, predictDecode, workloadFor } from '../../src/estimator/speed-model';
import type { HardwareProfile, ModelSpec } from '../../src/estimator/types';

const GiB = 1024 ** 3;
const hw = (id: string): HardwareProfile => {
  const h = findHardware(id);
  assert.ok(h, id);
  return h;
};
const close = (actual: number, expected: number, rel = 1e-6) =>
  assert.ok(Math.abs(actual - expected) <= Math.abs(expected) * rel, `${actual} ≠ ${expected}`);

/** A spec with the published shape; only the fields cluster math reads matter. */
function shape(id: string, nLayers: number, hiddenSize: number, nKv: number, headDim: number): ModelSpec {
  return {
    id, name: id, arch: 'llama', source: 'catalog', totalParams: 0, activeParams: 0, nLayers, hiddenSize,
    nHeads: nKv * 8, nKvHeadsPerLayer: new Array(nLayers).fill(nKv), headDimK: headDim, headDimV: headDim, vocabSize: 0, contextTrain: 0,
  };
}

test('layers split in proportion to memory, largest remainder, total exact', () => {
  // 80 layers over 512 : 128 : 128 → 53.33 / 13.33 / 13.33; floors 53+13+13 = 79; the one left goes to the
  // first of the equal remainders (index 0) → 54 / 13 / 13.
  assert.deepEqual(splitLayers(80, [512, 128, 128]), [54, 13, 13]);
  // Equal nodes: 61 layers / 2 → 30.5 each → 31 / 30.
  assert.deepEqual(splitLayers(61, [1, 1]), [31, 30]);
  assert.throws(() => splitLayers(10, [0, 0]), /no usable memory/);
});

// Qwen3-30B-A3B shape (48 layers, hidden 2048, 4 KV heads × 128) with round numbers near its Q4_K_M file:
// 18.6 GB of weights, 2.0 GB read per token (3.35 B active × ~4.8 bpw), 2 GB KV, 0.3 GB compute.
const moe: ClusterModel = {
  spec: shape('Qwen/Qwen3-30B-A3B', 48, 2048, 4, 128),
  weights: { quant: 'Q4_K_M', totalBytes: 18.6e9, activeBytes: 2.0e9, source: 'catalog' },
  memory: { weightsBytes: 18.6e9, kvBytes: 2e9, computeBytes: 0.3e9, otherBytes: 0, totalBytes: 20.9e9, allocatedCtx: 32768, kvBytesPerToken: 98304 },
};

test('llama.cpp RPC over 1 GbE: the interconnect, not memory bandwidth, bounds decode', () => {
  const nodes = ['a', 'b', 'c', 'd'].map((id) => ({ id, hardware: hw('rtx-5090') }));
  const plan = planCluster('llama.cpp-rpc', nodes, LINKS['1gbe'], moe, { efficiency: () => 1, perLayerSec: () => 0 });
  // Four equal 5090s → 12 layers each.
  assert.deepEqual(plan.shards.map((s) => s.layers), [12, 12, 12, 12]);
  // Memory: each stage reads 2.0e9 / 4 at 1792 GB/s, in turn → 2.0e9 / 1.792e12 = 1.11607 ms.
  close(plan.decode.memorySec, 2.0e9 / 1.792e12);
  // Network: 3 remote stages × 2 crossings = 6 hops of 2048 × 4 B = 8192 B; one hop = 100 µs + 8192 / 0.125e9 s
  // = 165.536 µs → 993.216 µs. RPC protocol: 3 × 2.57 ms = 7.71 ms.
  assert.equal(plan.decode.hops, 6);
  assert.equal(plan.decode.activationBytes, 8192);
  close(plan.decode.interconnectSec, 6 * 165.536e-6);
  close(plan.decode.overheadSec, 7.71e-3);
  assert.equal(plan.decode.bound, 'interconnect');
  // 1 / (1.11607 + 0.993216 + 7.71) ms = 101.84 tok/s.
  close(plan.decode.tokPerSec, 1 / (2.0e9 / 1.792e12 + 6 * 165.536e-6 + 7.71e-3));
  // 20.9 GB fits one 5090 (31.2 GiB usable), which alone decodes at 1 / 1.116 ms = 896 tok/s.
  assert.equal(plan.singleNode?.nodeId, 'a');
  close(plan.singleNode!.tokPerSec, 1.792e12 / 2.0e9);
  assert.ok(plan.notes.some((n) => /fits on a alone/.test(n)));
});

test('a node with no profile behind it (custom capacity and bandwidth) still gets a band, wider, and says why', () => {
  const { backend: _b, ...bare } = hw('rtx-5090') as HardwareProfile & { backend?: string };
  const plan = planCluster('llama.cpp-rpc', [{ id: 'x', hardware: bare }, { id: 'y', hardware: hw('rtx-5090') }], LINKS['10gbe'], moe);
  const r = plan.decode.range;
  assert.ok(r.low <= plan.decode.tokPerSec && plan.decode.tokPerSec <= r.high && r.high <= plan.decode.ceilingTokPerSec, JSON.stringify(r));
  assert.match(r.basis, /no dense runs on an unprofiled device\); wider: no runs on an unprofiled device; the link and RPC terms/);
  const profiled = planCluster('llama.cpp-rpc', [{ id: 'x', hardware: hw('rtx-5090') }, { id: 'y', hardware: hw('rtx-5090') }], LINKS['10gbe'], moe).decode.range;
  assert.ok(r.high / r.low > profiled.high / profiled.low);
});

test('exo over 1 GbE with eight fast nodes: link latency alone outweighs memory time', () => {
  // 1.0 GB read per token over eight 1008 GB/s GPUs: 1e9 / 1.008e12 = 0.992 ms of memory time.
  // exo ring: 7 boundaries × (100 µs + 2048 × 2 B / 0.125e9 = 32.768 µs) + token back (100 µs + 8 / 0.125e9)
  // = 929.376 + 100.064 = 1029.44 µs > 992 µs → interconnect-bound, with no engine overhead assumed at all.
  const small: ClusterModel = { ...moe, weights: { ...moe.weights, activeBytes: 1.0e9 } };
  const nodes = Array.from({ length: 8 }, (_, i) => ({ id: `n${i}`, hardware: hw('rtx-4090') }));
  const plan = planCluster('exo', nodes, LINKS['1gbe'], small, { efficiency: () => 1, perLayerSec: () => 0 });
  assert.equal(plan.decode.hops, 8);
  close(plan.decode.interconnectSec, 7 * (100e-6 + 4096 / 0.125e9) + (100e-6 + 8 / 0.125e9));
  close(plan.decode.memorySec, 1e9 / 1.008e12);
  assert.equal(plan.decode.overheadSec, 0);
  assert.equal(plan.decode.bound, 'interconnect');
  // The same ring over Thunderbolt 5 RDMA (10 GB/s, 50 µs): 7 × 50.41 µs + 50 µs = 402.9 µs → memory-bound.
  const tb5 = planCluster('exo', nodes, LINKS['tb5-rdma'], small, { efficiency: () => 1, perLayerSec: () => 0 });
  assert.equal(tb5.decode.bound, 'memory-bandwidth');
  close(tb5.decode.interconnectSec, 7 * (50e-6 + 4096 / 10e9) + (50e-6 + 8 / 10e9));
});

test('exo, DeepSeek-V3 4-bit on two M3 Ultra over TB5 RDMA: pooled capacity, per-node share, memory-bound', () => {
  // MLX 4-bit ≈ 4.5 bpw: 671e9 × 4.5 / 8 = 377.4375e9 bytes of weights; 37e9 active × 4.5 / 8 = 20.8125e9 read per token.
  const ds: ClusterModel = {
    spec: { ...shape('deepseek-ai/DeepSeek-V3', 61, 7168, 128, 0), mla: { kvLoraRank: 512, ropeDim: 64 } },
    weights: { quant: 'MLX-4bit', totalBytes: 377.4375e9, activeBytes: 20.8125e9, source: 'estimated' },
    memory: { weightsBytes: 377.4375e9, kvBytes: 4.6e9, computeBytes: 1e9, otherBytes: 0.5e9, totalBytes: 383.5375e9, allocatedCtx: 65536, kvBytesPerToken: 70272 },
  };
  const nodes = [{ id: 'studio-1', hardware: hw('m3-ultra-512') }, { id: 'studio-2', hardware: hw('m3-ultra-512') }];
  const plan = planCluster('exo', nodes, LINKS['tb5-rdma'], ds, { efficiency: () => 1, perLayerSec: () => 0 });
  // Usable per node: 512 GiB × 0.75 = 384 GiB; pooled 768 GiB.
  close(plan.pooledAvailableBytes, 768 * GiB);
  assert.equal(plan.pooledCapacityBytes, 1024 * GiB);
  // 61 layers over two equal nodes → 31 / 30; weights 377.4375e9 × 31/61 on the first.
  assert.deepEqual(plan.shards.map((s) => [s.layerStart, s.layerEnd]), [[0, 31], [31, 61]]);
  close(plan.shards[0]!.weightsBytes, (377.4375e9 * 31) / 61, 1e-9);
  // MLA: every layer weighs the same for KV, so KV splits 31/61 and 30/61 too; logits buffer on the last node.
  close(plan.shards[1]!.kvBytes, (4.6e9 * 30) / 61, 1e-9);
  close(plan.shards[1]!.totalBytes, (377.4375e9 * 30) / 61 + (4.6e9 * 30) / 61 + 1e9 + 0.5e9, 1e-9);
  assert.ok(plan.fits);
  // Memory: 20.8125e9 / 819e9 = 25.41 ms; link: 1 × (50 µs + 7168 × 2 / 10e9) + token back (50 µs) ≈ 101.4 µs.
  close(plan.decode.memorySec, 20.8125e9 / 819e9);
  close(plan.decode.interconnectSec, 50e-6 + 14336 / 10e9 + 50e-6 + 8 / 10e9);
  assert.equal(plan.decode.bound, 'memory-bandwidth');
  // 383.5 GB also fits one Studio (412.3 GB usable): the pair adds capacity, not single-stream speed.
  assert.ok(plan.singleNode && plan.singleNode.tokPerSec > plan.decode.tokPerSec);
  // exo on Apple nodes runs MLX: the band is MLX-LM's, and it contains the prediction.
  assert.match(plan.decode.range.basis, /on mlx-lm\/metal/);
  assert.ok(plan.decode.range.low <= plan.decode.tokPerSec && plan.decode.tokPerSec <= plan.decode.range.high);
});

test('a shard larger than its node is reported, not hidden', () => {
  const nodes = [{ id: 'big', hardware: hw('rtx-pro-6000') }, { id: 'small', hardware: hw('rtx-4090'), availableBytes: 2 * GiB }];
  const plan = planCluster('llama.cpp-rpc', nodes, LINKS['10gbe'], { ...moe, memory: { ...moe.memory, computeBytes: 3 * GiB, totalBytes: 18.6e9 + 2e9 + 3 * GiB } });
  // 'small' gets 48 × 2 / (2 + 95.2) ≈ 1 layer but a full 3 GiB compute buffer: more than its 2 GiB.
  assert.equal(plan.fits, false);
  assert.ok(plan.shards.find((s) => s.nodeId === 'small')!.fits === false);
  assert.ok(plan.notes[0]!.includes('small'));
});

test('links: seeds, aliases, custom, and bad values', () => {
  assert.equal(LINKS['tb5-rdma'].bandwidthGBps, 10);
  assert.equal(LINKS['10gbe'].bandwidthGBps, 1.25);
  assert.equal(LINKS['connectx-7'].bandwidthGBps, 25);
  assert.equal(findLink('TB5')?.kind, 'tb5-rdma');
  assert.equal(findLink('nope'), undefined);
  // 1 MB over 10 GB/s = 100 µs, plus 50 µs latency.
  close(hopSeconds(LINKS['tb5-rdma'], 1e6), 150e-6);
  assert.equal(customLink(3, 20).kind, 'custom');
  assert.throws(() => customLink(0, 20), RangeError);
  assert.throws(() => customLink(1, Number.NaN), RangeError);
  assert.throws(() => planCluster('exo', [], LINKS.wifi, moe), RangeError);
  assert.equal(ENGINE_TRAFFIC['llama.cpp-rpc'].source.includes('LLMKube#1423'), true);
});

test('by default each node uses the speed model for this model on its backend (streaming and fixed work)', () => {
  // Two RTX 5090, 24 layers each: the two halves add up to the speed model's whole-model time on one 5090
  // (speed-model.ts, llama.cpp kernels off Apple); the cluster adds only the link on top.
  const nodes = ['a', 'b'].map((id) => ({ id, hardware: hw('rtx-5090') }));
  const plan = planCluster('exo', nodes, LINKS['tb5-rdma'], moe);
  const d = predictDecode(workloadFor(moe.spec, moe.weights, { depth: 0 }), deviceOf(findHardware('rtx-5090')!), { engine: 'llama.cpp' });
  close(plan.decode.memorySec, d.streamSeconds / d.maturity);
  close(plan.decode.fixedSec, d.fixedSeconds / d.maturity);
  close(1 / (plan.decode.memorySec + plan.decode.fixedSec), d.decodeTokPerSec);
  // exo on Apple nodes runs MLX: a different stack, a different answer for the same bytes.
  const mac = planCluster('exo', ['a', 'b'].map((id) => ({ id, hardware: hw('m4-max-128') })), LINKS['tb5-rdma'], moe);
  const rpc = planCluster('llama.cpp-rpc', ['a', 'b'].map((id) => ({ id, hardware: hw('m4-max-128') })), LINKS['tb5-rdma'], moe);
  assert.notEqual(mac.decode.fixedSec, rpc.decode.fixedSec);
});

test('exo tensor parallel: memory time halves, 244 all-reduce hops per token decide whether it pays', () => {
  // DeepSeek-V3 shape (61 layers, hidden 7168), 20.8125e9 bytes read per token, two M3 Ultra, η = 1, τ = 0.
  const ds: ClusterModel = {
    spec: { ...shape('deepseek-ai/DeepSeek-V3', 61, 7168, 128, 0), mla: { kvLoraRank: 512, ropeDim: 64 } },
    weights: { quant: 'MLX-4bit', totalBytes: 377.4375e9, activeBytes: 20.8125e9, source: 'estimated' },
    memory: { weightsBytes: 377.4375e9, kvBytes: 4.6e9, computeBytes: 1e9, otherBytes: 0.5e9, totalBytes: 383.5375e9, allocatedCtx: 65536, kvBytesPerToken: 70272 },
  };
  const nodes = [{ id: 's1', hardware: hw('m3-ultra-512') }, { id: 's2', hardware: hw('m3-ultra-512') }];
  const flat = { efficiency: () => 1, perLayerSec: () => 0 };
  // Memory: each reads half at the same time: 20.8125e9 / 2 / 819e9 = 12.706 ms.
  // Hops: 61 layers × 2 all-reduces × 2(N−1) = 244, each 50 µs + (7168 × 2 B / 2) / 10e9 = 50.7168 µs → 12.375 ms.
  const tb5 = planTensorCluster(nodes, LINKS['tb5-rdma'], ds, flat);
  assert.equal(tb5.sharding, 'tensor');
  assert.equal(tb5.decode.hops, 244);
  close(tb5.decode.memorySec, 20.8125e9 / 2 / 819e9);
  close(tb5.decode.interconnectSec, 244 * (50e-6 + 7168 / 10e9));
  assert.equal(tb5.decode.bound, 'memory-bandwidth');
  // Each node holds half the weights and KV plus its own compute buffer.
  close(tb5.shards[1]!.totalBytes, 377.4375e9 / 2 + 4.6e9 / 2 + 1e9, 1e-9);
  // At the seeds' 50 µs bound tensor mode barely beats the pipeline (25.08 vs 25.51 ms per token) …
  const pipe = planCluster('exo', nodes, LINKS['tb5-rdma'], ds, flat);
  assert.ok(tb5.decode.tokPerSec > pipe.decode.tokPerSec && tb5.decode.tokPerSec < pipe.decode.tokPerSec * 1.05);
  // … with 5 µs RDMA latency it is 1.8× faster (12.706 + 244 × 5.7168 µs = 14.10 ms vs 25.51 ms) …
  const fast = planTensorCluster(nodes, customLink(10, 5), ds, flat);
  close(fast.decode.tokPerSec, 1 / (20.8125e9 / 2 / 819e9 + 244 * (5e-6 + 7168 / 10e9)));
  assert.ok(fast.decode.tokPerSec > 1.75 * pipe.decode.tokPerSec);
  // … and over 10 GbE (50 µs + 7168 / 1.25e9 = 55.73 µs per hop → 13.60 ms) the link bounds it.
  assert.equal(planTensorCluster(nodes, LINKS['10gbe'], ds, flat).decode.bound, 'interconnect');
});
