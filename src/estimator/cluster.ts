// Pooling machines: exo rings and llama.cpp RPC clusters. Pure math on plain data.
// Capacity adds up across nodes; decode of ONE stream does not: pipeline stages run one after another,
// so per token the time is the sum of each node's share of the bytes over its own bandwidth, plus every
// boundary crossing. A cluster lets a model fit; it rarely makes a single stream faster.
import type { HardwareProfile, MemoryBreakdown, ModelSpec, WeightsInfo } from './types';
import { activationBytes, hopSeconds, type LinkSpec } from './interconnect';
import { deviceOf, modelKindOf, predictDecode, stackKey, workloadFor } from './speed-model';
import { decodeRange } from './speed-band';
import type { HardwareSpec } from './hardware';
import type { SpeedRange } from './types';

export type ClusterEngine = 'exo' | 'llama.cpp-rpc';

export interface ClusterNodeSpec {
  id: string;
  name?: string;
  hardware: HardwareProfile;
  /** Memory this node gives the model, bytes. Default: capacity × usableFraction (exo reports live free RAM). */
  availableBytes?: number;
}

export interface ClusterModel {
  spec: ModelSpec;
  weights: WeightsInfo;
  /** The whole model's memory as one machine would hold it. */
  memory: MemoryBreakdown;
}

export interface ClusterOptions {
  /** Tokens already in context when decoding (KV read per token grows with it). */
  depth?: number;
  /** Stack efficiency η per node (share of peak bandwidth a decode step achieves). */
  efficiency?: (hw: HardwareProfile) => number;
  /** Fixed cost per layer per token on a node (kernel launches, sync), seconds; each stage pays it for its layers. */
  perLayerSec?: (hw: HardwareProfile) => number;
}

/** How each engine moves a token through the stages. */
export interface EngineTraffic {
  /** Bytes per hidden-state element on the wire. */
  bytesPerElement: number;
  /** Engine protocol cost per remote stage per token, seconds (beyond link latency). */
  overheadPerRemoteSec: number;
  source: string;
}

export const ENGINE_TRAFFIC: Readonly<Record<ClusterEngine, EngineTraffic>> = {
  // MLX runs bf16 activations; exo's ring sends the hidden state stage to stage, then the sampled token back.
  exo: { bytesPerElement: 2, overheadPerRemoteSec: 0, source: 'exo pipeline ring: bf16 hidden state per boundary; no measured protocol overhead known' },
  // ggml copies f32 tensors between backends; an RPC server is reached from the client and answers back
  // (two crossings per remote stage). Overhead derived from two DGX Sparks over ConnectX-7 (TCP):
  // 12.42 tok/s vs 12.83 on one Spark for a 27B Q4_K_M → 1/12.42 − 1/12.83 = 2.57 ms per token.
  'llama.cpp-rpc': { bytesPerElement: 4, overheadPerRemoteSec: 2.57e-3, source: 'defilantech/LLMKube#1423 (two DGX Sparks, llama.cpp RPC: 12.42 vs 12.83 tok/s) — derived 2.57 ms per remote stage' },
};

export interface NodeShard {
  nodeId: string;
  name: string;
  hardwareId: string;
  /** Half-open layer range [layerStart, layerEnd). */
  layerStart: number;
  layerEnd: number;
  layers: number;
  weightsBytes: number;
  kvBytes: number;
  computeBytes: number;
  totalBytes: number;
  availableBytes: number;
  fits: boolean;
  /** Bytes this node reads per decoded token (its active weights + its KV at the depth). */
  bytesPerToken: number;
  /** Its share of a token's time: bytesPerToken ÷ (η × bandwidth). */
  secondsPerToken: number;
}

export interface ClusterDecode {
  tokPerSec: number;
  /** Same path with η = 1 and no fixed cost: what no stack beats on these links. */
  ceilingTokPerSec: number;
  memorySec: number;
  interconnectSec: number;
  overheadSec: number;
  fixedSec: number;
  hops: number;
  activationBytes: number;
  /** Which term dominates a token's time. */
  bound: 'memory-bandwidth' | 'interconnect';
  /** The band of the host's engine stack (speed-band.ts); the link terms have no published runs behind them. */
  range: SpeedRange;
}

export type Sharding = 'pipeline' | 'tensor';

export interface ClusterPlan {
  engine: ClusterEngine;
  sharding: Sharding;
  link: LinkSpec;
  nodes: number;
  pooledCapacityBytes: number;
  pooledAvailableBytes: number;
  modelBytes: number;
  fits: boolean;
  shards: NodeShard[];
  decode: ClusterDecode;
  /** Best single node that holds the whole model alone, for comparison. */
  singleNode?: { nodeId: string; tokPerSec: number; range: SpeedRange };
  notes: string[];
}

/** Anchors: η ≈ 0.6–0.88 for dense decode on healthy stacks; the middle is used when nothing better is known. */
export const DEFAULT_EFFICIENCY = 0.75;

/**
 * η and per-layer cost per node for THIS model, from the speed model (speed-model.ts): the node's whole-model
 * decode split into streaming (→ an effective η over the bytes it reads) and fixed work (→ per layer), with the
 * kernel-maturity factor folded into both. exo runs MLX on Apple nodes, llama.cpp elsewhere. A profile without
 * a backend (custom) gets the anchors' middle η and no fixed cost.
 */
export function calibratedFor(engine: ClusterEngine, spec: ModelSpec, weights: WeightsInfo, depth: number): { efficiency: (hw: HardwareProfile) => number; perLayerSec: (hw: HardwareProfile) => number } {
  const w = workloadFor(spec, weights, { depth });
  const cache = new Map<string, { eta: number; tau: number }>();
  const of = (hw: HardwareProfile) => {
    if (!('backend' in hw)) return { eta: DEFAULT_EFFICIENCY, tau: 0 };
    const h = hw as HardwareSpec;
    const key = `${h.id}|${h.bandwidthGBps}|${h.fp16Tflops}|${h.backend}`;
    let v = cache.get(key);
    if (!v) {
      const d = predictDecode(w, deviceOf(h), { engine: engine === 'exo' && h.backend === 'metal' ? 'mlx-lm' : 'llama.cpp' });
      const bytes = w.denseBytes + w.expertBytes + w.kvBytes;
      v = { eta: Math.min(1, ((bytes / (h.bandwidthGBps * 1e9)) / d.streamSeconds) * d.maturity), tau: d.fixedSeconds / d.maturity / Math.max(1, spec.nLayers) };
      cache.set(key, v);
    }
    return v;
  };
  return { efficiency: (hw) => of(hw).eta, perLayerSec: (hw) => of(hw).tau };
}

/**
 * A cluster speed's band: the cross-validated band of one device of `hw`'s engine stack. The per-node terms are
 * the single-device model's; the link and RPC terms are not covered by any published run, and the words say so.
 */
function clusterRange(engine: ClusterEngine, hw: HardwareProfile, spec: ModelSpec, tokPerSec: number, ceiling: number, overLinks: boolean): SpeedRange {
  const api = 'backend' in hw ? (hw as HardwareSpec).backend : undefined;
  const stack = api ? stackKey(engine === 'exo' && api === 'metal' ? 'mlx-lm' : 'llama.cpp', api) : 'an unprofiled device';
  const r = decodeRange(tokPerSec, ceiling, { kind: modelKindOf(spec), stack, arch: spec.arch });
  return overLinks ? { ...r, basis: `${r.basis}; the link and RPC terms have no published multi-node runs behind them (not in the band)` } : r;
}

function available(n: ClusterNodeSpec): number {
  return n.availableBytes ?? n.hardware.capacityBytes * n.hardware.usableFraction;
}

/**
 * Layers per node in proportion to memory (llama.cpp's default tensor split follows free memory; exo's
 * pipeline placement does the same). Largest-remainder rounding keeps the total exact.
 */
export function splitLayers(nLayers: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + Math.max(0, b), 0);
  if (!(sum > 0)) throw new RangeError('cluster nodes report no usable memory');
  const exact = weights.map((w) => (nLayers * Math.max(0, w)) / sum);
  const out = exact.map(Math.floor);
  let left = nLayers - out.reduce((a, b) => a + b, 0);
  // Largest remainder first; remainders equal to rounding noise go to the larger node, so more memory never
  // gets fewer layers (two nodes of 999999.9999999997 and …98 once split the other way round).
  const order = exact
    .map((x, i) => ({ i, r: Math.round((x - Math.floor(x)) * 1e9) }))
    .sort((a, b) => b.r - a.r || weights[b.i]! - weights[a.i]! || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    out[i]! += 1;
    left -= 1;
  }
  return out;
}

/** The fastest node that holds the whole model alone (for comparison), with its band. */
function singleNodeBest(engine: ClusterEngine, nodes: ClusterNodeSpec[], avail: number[], model: ClusterModel, kvReadTotal: number, eta: (hw: HardwareProfile) => number, perLayer: (hw: HardwareProfile) => number): ClusterPlan['singleNode'] {
  let best: { node: ClusterNodeSpec; tokPerSec: number } | undefined;
  nodes.forEach((n, i) => {
    if (model.memory.totalBytes > avail[i]!) return;
    const t = (model.weights.activeBytes + kvReadTotal) / (eta(n.hardware) * n.hardware.bandwidthGBps * 1e9) + model.spec.nLayers * perLayer(n.hardware);
    if (!best || 1 / t > best.tokPerSec) best = { node: n, tokPerSec: 1 / t };
  });
  if (!best) return undefined;
  const { node, tokPerSec } = best;
  const ceiling = (node.hardware.bandwidthGBps * 1e9) / (model.weights.activeBytes + kvReadTotal);
  return { nodeId: node.id, tokPerSec, range: clusterRange(engine, node.hardware, model.spec, tokPerSec, ceiling, false) };
}

function kvLayerWeights(spec: ModelSpec): number[] {
  const heads = spec.nKvHeadsPerLayer;
  if (spec.mla || heads.length !== spec.nLayers) return new Array<number>(spec.nLayers).fill(1);
  return heads.map((h) => Math.max(0, h));
}

export function planCluster(engine: ClusterEngine, nodes: ClusterNodeSpec[], link: LinkSpec, model: ClusterModel, opts: ClusterOptions = {}): ClusterPlan {
  if (nodes.length === 0) throw new RangeError('a cluster needs at least one node');
  const { spec, weights, memory } = model;
  const depth = Math.max(0, opts.depth ?? 0);
  const cal = calibratedFor(engine, spec, weights, depth);
  const eta = opts.efficiency ?? cal.efficiency;
  const perLayer = opts.perLayerSec ?? cal.perLayerSec;
  const traffic = ENGINE_TRAFFIC[engine];
  const notes: string[] = [];

  const avail = nodes.map(available);
  const layers = splitLayers(spec.nLayers, avail);
  const kvW = kvLayerWeights(spec);
  const kvWSum = kvW.reduce((a, b) => a + b, 0);
  // KV read per token at this depth: cells actually filled, capped by what was allocated.
  const kvReadTotal = memory.kvBytesPerToken * Math.min(depth, memory.allocatedCtx || depth);

  const shards: NodeShard[] = [];
  let start = 0;
  const stages: number[] = [];
  nodes.forEach((n, i) => {
    const L = layers[i]!;
    const end = start + L;
    const frac = L / spec.nLayers;
    const kvFrac = kvWSum > 0 ? kvW.slice(start, end).reduce((a, b) => a + b, 0) / kvWSum : frac;
    const isLast = end === spec.nLayers && L > 0;
    const weightsBytes = memory.weightsBytes * frac;
    const kvBytes = memory.kvBytes * kvFrac;
    // Every stage allocates its own compute buffer (conservative: the single-machine size); logits live on the last.
    const computeBytes = L > 0 ? memory.computeBytes : 0;
    const totalBytes = weightsBytes + kvBytes + computeBytes + (isLast ? memory.otherBytes : 0);
    const bytesPerToken = weights.activeBytes * frac + kvReadTotal * kvFrac;
    const bw = n.hardware.bandwidthGBps * 1e9;
    const secondsPerToken = L > 0 ? bytesPerToken / (eta(n.hardware) * bw) : 0;
    if (L > 0) stages.push(i);
    shards.push({
      nodeId: n.id,
      name: n.name ?? n.hardware.name,
      hardwareId: n.hardware.id,
      layerStart: start,
      layerEnd: end,
      layers: L,
      weightsBytes: Math.round(weightsBytes),
      kvBytes: Math.round(kvBytes),
      computeBytes: Math.round(computeBytes),
      totalBytes: Math.round(totalBytes),
      availableBytes: Math.round(avail[i]!),
      fits: totalBytes <= avail[i]!,
      bytesPerToken: Math.round(bytesPerToken),
      secondsPerToken,
    });
    start = end;
  });

  const act = activationBytes(spec.hiddenSize, traffic.bytesPerElement);
  const nStages = stages.length;
  let hops: number;
  let remoteStages: number;
  let interconnectSec: number;
  if (engine === 'exo') {
    // Ring: hidden state over each of the N−1 boundaries, then the sampled token (a few bytes) back to stage 0.
    hops = nStages > 1 ? nStages : 0;
    remoteStages = Math.max(0, nStages - 1);
    interconnectSec = nStages > 1 ? (nStages - 1) * hopSeconds(link, act) + hopSeconds(link, 8) : 0;
  } else {
    // nodes[0] is the client host; each other stage is an RPC server reached and answered over the link.
    remoteStages = stages.filter((i) => i !== 0).length;
    hops = 2 * remoteStages;
    interconnectSec = hops * hopSeconds(link, act);
  }
  const overheadSec = remoteStages * traffic.overheadPerRemoteSec;
  const memorySec = shards.reduce((a, s) => a + s.secondsPerToken, 0);
  const ceilingMemorySec = shards.reduce((a, s, i) => a + (s.layers > 0 ? s.bytesPerToken / (nodes[i]!.hardware.bandwidthGBps * 1e9) : 0), 0);
  const fixedSec = nodes.reduce((a, n, i) => a + layers[i]! * perLayer(n.hardware), 0);
  const total = memorySec + interconnectSec + overheadSec + fixedSec;
  const networkSec = interconnectSec + overheadSec;

  const pooledAvailableBytes = avail.reduce((a, b) => a + b, 0);
  const fits = shards.every((s) => s.fits);
  if (!fits) {
    const worst = shards.filter((s) => !s.fits).map((s) => s.nodeId).join(', ');
    notes.push(`does not fit: node(s) ${worst} would need more memory than they offer`);
  }

  // Would one node alone do? Pipeline parallelism adds capacity, not single-stream speed.
  const singleNode = singleNodeBest(engine, nodes, avail, model, kvReadTotal, eta, perLayer);
  if (singleNode && singleNode.tokPerSec > 1 / total) {
    notes.push(`the model fits on ${singleNode.nodeId} alone, which decodes one stream faster (${singleNode.tokPerSec.toFixed(1)} vs ${(1 / total).toFixed(1)} tok/s): pipeline stages run in turn`);
  }
  if (link.assumed) notes.push(`link figures for ${link.name} are typical values, not a measurement: ${link.source}`);

  return {
    engine,
    sharding: 'pipeline',
    link,
    nodes: nodes.length,
    pooledCapacityBytes: nodes.reduce((a, n) => a + n.hardware.capacityBytes, 0),
    pooledAvailableBytes: Math.round(pooledAvailableBytes),
    modelBytes: memory.totalBytes,
    fits,
    shards,
    decode: {
      tokPerSec: 1 / total,
      ceilingTokPerSec: 1 / (ceilingMemorySec + interconnectSec),
      memorySec,
      interconnectSec,
      overheadSec,
      fixedSec,
      hops,
      activationBytes: act,
      bound: networkSec > memorySec ? 'interconnect' : 'memory-bandwidth',
      range: clusterRange(engine, nodes[0]!.hardware, spec, 1 / total, 1 / (ceilingMemorySec + interconnectSec), nodes.length > 1),
    },
    ...(singleNode ? { singleNode } : {}),
    notes,
  };
}

/**
 * Tensor parallelism (exo's MLX tensor sharding, typically over Thunderbolt 5 RDMA): every node holds 1/N of
 * every layer and they read their slices at the same time, so memory time divides by N; but each layer ends
 * in two all-reduces of the hidden state (after attention, after the MLP). A ring all-reduce of N nodes takes
 * 2(N−1) steps of latency + (hidden/N) bytes, so per token: nLayers × 2 × 2(N−1) hops. Only low-latency
 * links make this pay: it is why exo's tensor mode wants RDMA.
 */
export function planTensorCluster(nodes: ClusterNodeSpec[], link: LinkSpec, model: ClusterModel, opts: ClusterOptions = {}): ClusterPlan {
  if (nodes.length === 0) throw new RangeError('a cluster needs at least one node');
  const { spec, weights, memory } = model;
  const N = nodes.length;
  const depth = Math.max(0, opts.depth ?? 0);
  const cal = calibratedFor('exo', spec, weights, depth);
  const eta = opts.efficiency ?? cal.efficiency;
  const perLayer = opts.perLayerSec ?? cal.perLayerSec;
  const avail = nodes.map(available);
  const kvReadTotal = memory.kvBytesPerToken * Math.min(depth, memory.allocatedCtx || depth);
  const notes: string[] = [];

  const shards: NodeShard[] = nodes.map((n, i) => {
    const totalBytes = memory.weightsBytes / N + memory.kvBytes / N + memory.computeBytes + (i === 0 ? memory.otherBytes : 0);
    const bytesPerToken = (weights.activeBytes + kvReadTotal) / N;
    return {
      nodeId: n.id,
      name: n.name ?? n.hardware.name,
      hardwareId: n.hardware.id,
      layerStart: 0,
      layerEnd: spec.nLayers,
      layers: spec.nLayers,
      weightsBytes: Math.round(memory.weightsBytes / N),
      kvBytes: Math.round(memory.kvBytes / N),
      computeBytes: Math.round(memory.computeBytes),
      totalBytes: Math.round(totalBytes),
      availableBytes: Math.round(avail[i]!),
      fits: totalBytes <= avail[i]!,
      bytesPerToken: Math.round(bytesPerToken),
      secondsPerToken: bytesPerToken / (eta(n.hardware) * n.hardware.bandwidthGBps * 1e9),
    };
  });
  const act = activationBytes(spec.hiddenSize, ENGINE_TRAFFIC.exo.bytesPerElement);
  const steps = N > 1 ? 2 * (N - 1) : 0;
  const hops = spec.nLayers * 2 * steps;
  const interconnectSec = hops * hopSeconds(link, act / N);
  // The slowest slice sets the pace: everyone waits at each all-reduce.
  const memorySec = Math.max(...shards.map((s) => s.secondsPerToken));
  const ceilingMemorySec = Math.max(...shards.map((s, i) => s.bytesPerToken / (nodes[i]!.hardware.bandwidthGBps * 1e9)));
  const fixedSec = Math.max(...nodes.map((n) => spec.nLayers * perLayer(n.hardware)));
  const total = memorySec + interconnectSec + fixedSec;
  const fits = shards.every((s) => s.fits);
  if (!fits) notes.push(`does not fit: node(s) ${shards.filter((s) => !s.fits).map((s) => s.nodeId).join(', ')} cannot hold a 1/${N} slice`);
  const singleNode = singleNodeBest('exo', nodes, avail, model, kvReadTotal, eta, perLayer);
  if (singleNode && singleNode.tokPerSec > 1 / total) {
    notes.push(`the model fits on ${singleNode.nodeId} alone, which decodes one stream faster (${singleNode.tokPerSec.toFixed(1)} vs ${(1 / total).toFixed(1)} tok/s): ${hops} all-reduce hops per token cost more than the split saves`);
  }
  if (link.assumed) notes.push(`link figures for ${link.name} are typical values, not a measurement: ${link.source}`);
  return {
    engine: 'exo',
    sharding: 'tensor',
    link,
    nodes: N,
    pooledCapacityBytes: nodes.reduce((a, n) => a + n.hardware.capacityBytes, 0),
    pooledAvailableBytes: Math.round(avail.reduce((a, b) => a + b, 0)),
    modelBytes: memory.totalBytes,
    fits,
    shards,
    decode: {
      tokPerSec: 1 / total,
      ceilingTokPerSec: 1 / (ceilingMemorySec + interconnectSec),
      memorySec,
      interconnectSec,
      overheadSec: 0,
      fixedSec,
      hops,
      activationBytes: act,
      bound: interconnectSec > memorySec ? 'interconnect' : 'memory-bandwidth',
      range: clusterRange('exo', nodes[0]!.hardware, spec, 1 / total, 1 / (ceilingMemorySec + interconnectSec), N > 1),
    },
    ...(singleNode ? { singleNode } : {}),
    notes,
  };
}
