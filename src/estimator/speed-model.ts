// Decode speed for dense, MoE and hybrid models on any device, as the sum of what a decoded token costs:
//
//   t = dense bytes / (η·BW) + expert bytes / (η·g·BW) + KV bytes / (η·η_kv·BW)     streaming (bandwidth-bound)
//     + attention FLOPs / (ε·C)                                                      attention at depth
//     + step + s(C) · [ L·τ + L_moe·(τ_moe + k·τ_e) + L_rec·τ_rec ]                 fixed work per token
//   decode = m / t          (m ≤ 1: kernel maturity of this engine on this architecture class, × the launch-build
//                            factor when the engine's build is in its first weeks on the architecture: engine-builds.ts)
//
// η: share of peak bandwidth the stack (engine × API) streams a dense matrix at. g < 1: routed experts are
// scattered reads and reach less of it (per stack: each engine's MoE kernels gather differently; on a two-die
// GPU — Apple Ultra — a further factor, as the scattered reads cross the die-to-die link). η_kv, ε: how well the
// stack's attention kernel streams the cache and uses the chip at depth. step: the engine's per-token host cost. τ: per-layer launch/synchronisation cost; τ_moe and τ_e:
// routing and dispatch per MoE layer, growing with the experts used per token (k); τ_rec: a recurrent /
// linear-attention layer's kernels (state read + update). s(C) = (100 TFLOPS / C)^α scales all fixed work with
// the chip's compute: a 16-core M4 Pro pays several times what a B200 pays for the same kernels.
// Partial offload: the layers' share on the CPU streams at system-RAM bandwidth, and the two parts add.
// Every constant is fitted by scripts/fit-speed.ts (leave-one-model-family-out) into speed-params.json.
// Physical by construction: η, g, m ≤ 1 so no prediction beats BW / bytes; more depth = more bytes = slower;
// more bandwidth or compute only shrinks a term.
import type { HardwareSpec } from './hardware';
import { kvBytesPerToken } from './kv';
import type { ServingEngine } from './engine';
import type { KvType, ModelSpec, WeightsInfo } from './types';
import fitted from './speed-params.json';

/** The compute API the weights are streamed through (ROCm and Vulkan differ on the same AMD chip). */
export type SpeedApi = 'cuda' | 'metal' | 'vulkan' | 'rocm' | 'cpu';
/** Architecture classes whose kernels mature separately in each engine. */
export type ArchClass = 'standard' | 'mla' | 'hybrid';

/** What one decoded token costs, in bytes and kernels. */
export interface Workload {
  /** Non-expert weights read per token (attention, shared experts, norms, output head, one embedding row). */
  denseBytes: number;
  /** Routed experts read per token (the k active of n per MoE layer). */
  expertBytes: number;
  /** KV cache read at this depth plus recurrent state read and written. */
  kvBytes: number;
  /** Attention FLOPs at this depth: 2 per head per cached element of K and V (grows with depth like kvBytes). */
  attnFlops: number;
  nLayers: number;
  nMoeLayers: number;
  nExpertsUsed: number;
  /** Recurrent / linear-attention layers (Gated DeltaNet, Mamba-2): no KV, constant state, own kernels. */
  nRecurrentLayers: number;
  archClass: ArchClass;
}

export interface StackParams {
  /** Share of peak bandwidth a dense weight matrix streams at. */
  eta: number;
  /** Fixed cost per layer per token at 100 TFLOPS, ms. */
  tauMs: number;
  /** KV-cache reads relative to η (attention kernels at depth stream the cache less well than weights), ≤ 1. */
  kvEta: number;
  /** Fixed cost per decoding step, ms, independent of the model (scheduler, sampling, host round trip). */
  stepMs: number;
  /** Expert-gather efficiency on this stack (its MoE kernels), overriding the shared one where fitted (≤ 1). */
  gather?: number;
  /** Share of FP16 peak the decode attention kernel reaches (q·K and p·V for one query row: a thin, GPU-unfriendly shape). */
  attnEff: number;
  /** A stack with too few runs to fit its second-order terms (τ, η_kv, ε, gather) takes them from this stack on the
   * same chips (ROCm from Vulkan on AMD, vLLM from llama.cpp on CUDA); its own η and step cost stay its own. */
  borrows?: string;
}

/** The stack's parameters with any borrowed second-order terms filled in. */
export function resolveStack(p: SpeedModelParams, key: string): StackParams | undefined {
  const st = p.stacks[key];
  const parent = st?.borrows ? p.stacks[st.borrows] : undefined;
  if (!st || !parent) return st;
  const { borrows: _b, ...rest } = parent;
  return { ...rest, eta: st.eta, stepMs: st.stepMs };
}

export interface MaturityEntry {
  /** Share of the modelled speed this engine reaches on this architecture class (≤ 1). */
  factor: number;
  /** Where the factor comes from (which published runs it was fitted on). */
  source: string;
}

export interface SpeedModelParams {
  stacks: Record<string, StackParams>;
  /** α in s(C) = (100 / C)^α. */
  computeExponent: number;
  /** Expert-gather efficiency relative to a dense matrix (g ≤ 1). */
  gather: number;
  /** Extra expert-gather efficiency on a multi-die GPU (scattered reads cross the die link), ≤ 1. */
  multiDieGather?: number;
  moeLayerMs: number;
  expertMs: number;
  recurrentLayerMs: number;
  /** `${engine stack}|${archClass}` → maturity. Absent = 1 (no evidence of immature kernels). */
  maturity: Record<string, MaturityEntry>;
  /** A launch build (the engine's first days on an architecture that needed new kernels, or on a new chip):
   * `factor` of a mature build's speed on day 0, the gap halving every `halfLifeDays` as kernels land. */
  launch?: MaturityEntry & { halfLifeDays: number };
  /** Share of dense FP16 peak a prompt batch reaches, per engine stack (prefill, compute-bound). */
  prefillEfficiency: Record<string, number>;
}

/**
 * Runs a stack needs before its second-order knobs (per-layer cost, expert gather, attention at depth) are fitted
 * from them; a thinner stack fits only its first-order η and per-step cost and borrows the rest from the stack on
 * the same chips (PARENT in test/support/speed-fit.ts), else keeps the ideal priors (START: full-η cache reads and attention, the shared gather).
 * 12 is the candidate (of 0/8/12/16) with the lowest leave-one-family-out loss — the fit's own objective, not the
 * reported targets; scripts/speed-nested-cv.ts --stack-runs re-picks it inside each fold. The error band is wider on such a
 * stack (speed-band.ts).
 */
export const MIN_STACK_RUNS = 12;

export const SPEED_MODEL_PARAMS: SpeedModelParams = fitted.params as SpeedModelParams;

const REF_TFLOPS = 100;

/** The serving engine a detected server runs (providers' engine kind), as the speed model knows engines. */
export function servingEngineFor(engineKind: string): ServingEngine {
  const k = engineKind.trim().toLowerCase();
  // SGLang schedules like vLLM (Python step loop, CUDA graphs): the closest modelled stack.
  if (k.includes('sglang') || k.includes('vllm')) return 'vllm';
  if (k.includes('mlx')) return 'mlx-lm';
  if (k.includes('ollama')) return 'ollama';
  if (k.includes('lm studio') || k.includes('lmstudio')) return 'lmstudio';
  return 'llama.cpp';
}

/** Engine family whose kernels run: Ollama and LM Studio's GGUF runtime are llama.cpp. MLX only on Metal. */
export function stackKey(engine: ServingEngine, api: SpeedApi): string {
  if (engine === 'mlx-lm' && api === 'metal') return 'mlx-lm/metal';
  if (engine === 'vllm' && (api === 'cuda' || api === 'rocm')) return 'vllm/cuda';
  return `llama.cpp/${api}`;
}

export function archClassOf(spec: ModelSpec): ArchClass {
  if (spec.recurrentStateBytesPerSeq || spec.nKvHeadsPerLayer.some((h) => h === 0)) return 'hybrid';
  if (spec.mla) return 'mla';
  return 'standard';
}

/**
 * KV bytes one decoded token reads at `depth` tokens of context: growing layers read `depth` cells,
 * sliding-window layers at most their window; recurrent layers only their constant state (counted separately).
 */
export function kvBytesReadAtDepth(spec: ModelSpec, depth: number, kvTypeK: KvType = 'f16', kvTypeV: KvType = 'f16'): number {
  const d = Math.max(0, depth);
  const growing = kvBytesPerToken(spec, kvTypeK, kvTypeV);
  const all = kvBytesPerToken(spec, kvTypeK, kvTypeV, { swaFull: true });
  const swaCells = spec.slidingWindow ? Math.min(d, spec.slidingWindow) : d;
  return growing * d + (all - growing) * swaCells;
}

/** Attention FLOPs for one decoded token at `depth`: every query head dots every cached key and value. */
export function attentionFlopsAtDepth(spec: ModelSpec, depth: number): number {
  const d = Math.max(0, depth);
  let flops = 0;
  for (let il = 0; il < spec.nLayers; il++) {
    const kvHeads = spec.nKvHeadsPerLayer[il] ?? 0;
    if (kvHeads === 0) continue;
    // Query heads: from the spec, else a typical 8 queries per KV head (GQA).
    const heads = spec.nHeads > 0 ? spec.nHeads : kvHeads * 8;
    const cells = spec.slidingWindow && spec.swaLayers?.[il] ? Math.min(d, spec.slidingWindow) : d;
    flops += 2 * cells * heads * (spec.headDimK + spec.headDimV);
  }
  return flops;
}

/** Bytes and kernels per decoded token for a model at `depth` tokens of context. */
export function workloadFor(
  spec: ModelSpec,
  weights: WeightsInfo & { expertBytes?: number },
  opts: { depth?: number; kvTypeK?: KvType; kvTypeV?: KvType } = {},
): Workload {
  const moe = spec.moe;
  const share = moe && moe.nExperts > 0 ? moe.nExpertsUsed / moe.nExperts : 1;
  // All routed-expert bytes: from the tensor table when known, else from total − active (the inactive experts).
  const allExperts = moe ? (weights.expertBytes ?? (share < 1 ? Math.max(0, weights.totalBytes - weights.activeBytes) / (1 - share) : 0)) : 0;
  const expertBytes = Math.min(weights.activeBytes, allExperts * share);
  // Recurrent layers: no KV and, where blocks are separate (Nemotron-H), not an expert block either.
  const moeLayer = (il: number) => (moe?.layers ? moe.layers[il] === true : false);
  const nRecurrentLayers = archClassOf(spec) === 'hybrid' ? spec.nKvHeadsPerLayer.filter((h, il) => h === 0 && !moeLayer(il)).length : 0;
  const stateRw = 2 * (spec.recurrentStateBytesPerSeq ?? 0);
  return {
    denseBytes: weights.activeBytes - expertBytes,
    expertBytes,
    kvBytes: kvBytesReadAtDepth(spec, opts.depth ?? 0, opts.kvTypeK ?? 'f16', opts.kvTypeV ?? 'f16') + stateRw,
    attnFlops: attentionFlopsAtDepth(spec, opts.depth ?? 0),
    nLayers: spec.nLayers,
    nMoeLayers: moe ? (moe.layers ? moe.layers.filter(Boolean).length : Math.max(0, spec.nLayers - moe.nDenseLeadingLayers)) : 0,
    nExpertsUsed: moe?.nExpertsUsed ?? 0,
    nRecurrentLayers,
    archClass: archClassOf(spec),
  };
}

/** A device as the speed model sees it. */
export interface SpeedDevice {
  bandwidthGBps: number;
  fp16Tflops: number;
  api: SpeedApi;
  /** GPU dies joined by a die-to-die link (Apple Ultra): scattered expert reads cross it. Absent = 1. */
  dies?: number;
}

export function deviceOf(hw: HardwareSpec, api?: SpeedApi): SpeedDevice {
  return { bandwidthGBps: hw.bandwidthGBps, fp16Tflops: hw.fp16Tflops, api: api ?? hw.backend, ...(hw.dies && hw.dies > 1 && api !== 'cpu' ? { dies: hw.dies } : {}) };
}

export interface DecodeBreakdown {
  decodeTokPerSec: number;
  /** Roofline: peak bandwidth ÷ bytes per token (both parts of an offload). No prediction exceeds it. */
  ceilingTokPerSec: number;
  bytesPerToken: number;
  /** Seconds per token spent streaming and in fixed work. */
  streamSeconds: number;
  fixedSeconds: number;
  /** Kernel-maturity factor applied (1 when none is known), launch factor included. */
  maturity: number;
  /** The launch-build part of it (1 for a mature build). */
  launch: number;
  maturityNote?: string;
  stack: string;
}

export interface DecodeOptions {
  engine?: ServingEngine;
  /** Partial offload: this share of the model's layers (their weights and kernels) runs on `cpu`. */
  offload?: { cpu: HardwareSpec; layerShare?: number; expertShare?: number };
  params?: SpeedModelParams;
  /** Override the kernel-maturity factor (0–1], e.g. after a newer engine build fixed a slow kernel. */
  maturity?: number;
  /** Days the engine build is into its support for this architecture or chip (engine-builds.ts); absent = mature. */
  launchDays?: number;
  /** Which build and how far into its support, for the note ("llama.cpp build 7189 is ~3 days into …"). */
  launchWords?: string;
}

function part(w: Workload, dev: SpeedDevice, st: StackParams, p: SpeedModelParams, frac: { dense: number; expert: number; layers: number }): { stream: number; fixed: number; bytes: number } {
  const bw = dev.bandwidthGBps * 1e9;
  const eta = Math.min(1, st.eta);
  const g = Math.min(1, st.gather ?? p.gather) * ((dev.dies ?? 1) > 1 ? Math.min(1, p.multiDieGather ?? 1) : 1);
  const dense = w.denseBytes * frac.dense;
  const kv = w.kvBytes * frac.dense;
  const expert = w.expertBytes * frac.expert;
  const stream = dense / (eta * bw) + kv / (eta * Math.min(1, st.kvEta) * bw) + expert / (eta * g * bw);
  const scale = Math.pow(REF_TFLOPS / Math.max(0.01, dev.fp16Tflops), p.computeExponent);
  const attn = (w.attnFlops * frac.dense) / (Math.min(1, st.attnEff) * Math.max(0.01, dev.fp16Tflops) * 1e12);
  const fixedMs = (frac.layers > 0 ? st.stepMs / scale : 0) + w.nLayers * frac.layers * st.tauMs + w.nMoeLayers * frac.expert * (p.moeLayerMs + w.nExpertsUsed * p.expertMs) + w.nRecurrentLayers * frac.layers * p.recurrentLayerMs;
  return { stream, fixed: (scale * fixedMs) / 1000 + attn, bytes: dense + kv + expert };
}

/** Share of a mature build's speed `days` into an engine's support for an architecture (1 when no factor is fitted). */
export function launchFactor(days: number, p: SpeedModelParams = SPEED_MODEL_PARAMS): number {
  const l = p.launch;
  if (!l || !Number.isFinite(days) || days < 0) return 1;
  return 1 - (1 - Math.min(1, l.factor)) * Math.pow(2, -days / Math.max(0.5, l.halfLifeDays));
}

/** Single-stream decode for a workload on a device with an engine. */
export function predictDecode(w: Workload, dev: SpeedDevice, opts: DecodeOptions = {}): DecodeBreakdown {
  const p = opts.params ?? SPEED_MODEL_PARAMS;
  const engine = opts.engine ?? 'llama.cpp';
  const key = stackKey(engine, dev.api);
  const st = resolveStack(p, key) ?? resolveStack(p, `llama.cpp/${dev.api}`)!;
  const off = opts.offload;
  const expertShare = off ? Math.min(1, Math.max(0, off.expertShare ?? off.layerShare ?? 0)) : 0;
  const layerShare = off ? Math.min(1, Math.max(0, off.layerShare ?? 0)) : 0;
  const gpu = part(w, dev, st, p, { dense: 1 - layerShare, expert: 1 - expertShare, layers: 1 - layerShare });
  let streamSeconds = gpu.stream;
  let fixedSeconds = gpu.fixed;
  let ceilingSeconds = gpu.bytes / (dev.bandwidthGBps * 1e9);
  if (off && (expertShare > 0 || layerShare > 0)) {
    const cpuDev = deviceOf(off.cpu, 'cpu');
    const cpu = part(w, cpuDev, resolveStack(p, 'llama.cpp/cpu')!, p, { dense: layerShare, expert: expertShare, layers: Math.max(layerShare, expertShare) });
    streamSeconds += cpu.stream;
    fixedSeconds += cpu.fixed;
    ceilingSeconds += cpu.bytes / (cpuDev.bandwidthGBps * 1e9);
  }
  const fittedMat = p.maturity[`${key}|${w.archClass}`];
  const override = opts.maturity !== undefined && Number.isFinite(opts.maturity) && opts.maturity > 0 ? Math.min(1, opts.maturity) : undefined;
  const mat = override !== undefined ? { factor: override, source: 'your override' } : fittedMat;
  const launch = opts.launchDays !== undefined && override === undefined ? launchFactor(opts.launchDays, p) : 1;
  const maturity = Math.min(1, mat?.factor ?? 1) * launch;
  const notes: string[] = [];
  if (mat && mat.factor < 1) notes.push(`${w.archClass === 'hybrid' ? 'new architecture (recurrent/linear attention)' : w.archClass === 'mla' ? 'latent-attention architecture' : 'architecture'}: ${key} reaches ~${Math.round(mat.factor * 100)} % of the modelled speed on it (${mat.source})`);
  if (launch < 0.98) notes.push(`launch build: ${opts.launchWords ? `${opts.launchWords}; ` : ''}an engine's first builds for a new architecture reach ~${Math.round(p.launch!.factor * 100)} % of a mature build's speed, the gap halving every ~${Math.round(p.launch!.halfLifeDays)} days: ~${Math.round(launch * 100)} % here (${p.launch!.source}); a newer build should be faster`);
  const bytesPerToken = w.denseBytes + w.expertBytes + w.kvBytes;
  return {
    decodeTokPerSec: maturity / (streamSeconds + fixedSeconds),
    ceilingTokPerSec: 1 / ceilingSeconds,
    bytesPerToken,
    streamSeconds,
    fixedSeconds,
    maturity,
    launch,
    ...(notes.length ? { maturityNote: notes.join('; ') } : {}),
    stack: key,
  };
}

/** Prompt processing (compute-bound): 2 FLOPs per active parameter per token against dense FP16 peak. */
export function predictPrefill(activeParams: number, dev: SpeedDevice, engine: ServingEngine = 'llama.cpp', p: SpeedModelParams = SPEED_MODEL_PARAMS, moe = false): number {
  // MoE prompt batches touch every expert: a lower share of peak per active parameter than dense models.
  const key = stackKey(engine, dev.api);
  const kind = moe ? 'moe' : 'dense';
  const eff = p.prefillEfficiency[`${key}|${kind}`] ?? p.prefillEfficiency[key] ?? p.prefillEfficiency[`llama.cpp/${dev.api}`] ?? 0.3;
  return (eff * dev.fp16Tflops * 1e12) / (2 * Math.max(1, activeParams));
}

/** dense / MoE / hybrid (recurrent or linear-attention layers), as the error bands group models. */
export function modelKindOf(spec: ModelSpec): 'dense' | 'moe' | 'hybrid' {
  if (archClassOf(spec) === 'hybrid') return 'hybrid';
  return spec.moe ? 'moe' : 'dense';
}
