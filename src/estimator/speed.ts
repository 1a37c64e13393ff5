// Decode and prefill speed: the entry point every view, the CLI, the planner and the status bar call.
// Decode is bandwidth-bound (every token streams the active weights plus the KV cache read so far); prefill is
// compute-bound (~2 FLOPs per active parameter per prompt token). The model itself lives in speed-model.ts
// (dense/MoE/hybrid terms, engine stacks, partial offload) and its error band in speed-band.ts; both are
// fitted with leave-one-model-family-out cross-validation on the published runs (scripts/fit-speed.ts).
//
// The LEGACY model (one η per backend, one τ per layer) stays below as `decodeFromBytes` / `SPEED_PARAMS`:
// the benchmark shows it next to the new one, and the CPU groundtruth tests still exercise its formula.
//
//   legacy decode tok/s = 1 / ( bytesPerToken / (η · BW) + nLayers · τ )      ceiling = BW / bytesPerToken
import type { HardwareSpec } from './hardware';
import type { KvType, ModelSpec, SpeedEstimate, WeightsInfo } from './types';
import { DEFAULT_ENGINE, type ServingEngine } from './engine';
import { deviceOf, modelKindOf, predictDecode, predictPrefill, workloadFor, type SpeedApi } from './speed-model';
import { decodeRange, prefillRange } from './speed-band';
import { inLaunchWindow, launchWindowOf, llamaCppBuildOf } from './engine-builds';
import fitted from './speed-params.json';

export interface SpeedParams {
  /** Sustained share of peak bandwidth while decoding. */
  eta: number;
  /** Fixed per-layer cost per decoded token, milliseconds. */
  tauMsPerLayer: number;
  /** Share of dense FP16 peak a prefill (prompt batch) reaches. */
  prefillEfficiency: number;
}

// Decode: η and τ fitted by grid search on mean |% error| over the calibration rows (leave-one-out and
// out-of-sample checked in test/estimator/speed.test.ts). GPU stacks share η; τ differs by backend: Metal's
// command-buffer overhead is the largest, Vulkan (RADV) the smallest. CPU: η against the measured streaming
// peak of the 2-core groundtruth VM; per-layer overhead negligible there.
// Prefill: share of dense FP16 peak, the median over XiongjieDai's pp512 runs (CUDA 4 rows, Metal 9 rows);
// Vulkan and CPU have no measurements here — rough defaults, treat their prefill as ±50 %.
export const SPEED_PARAMS: Record<HardwareSpec['backend'], SpeedParams> = {
  cuda: { eta: 0.81, tauMsPerLayer: 0.05, prefillEfficiency: 0.9 },
  metal: { eta: 0.81, tauMsPerLayer: 0.175, prefillEfficiency: 0.7 },
  vulkan: { eta: 0.81, tauMsPerLayer: 0.005, prefillEfficiency: 0.3 },
  cpu: { eta: 0.53, tauMsPerLayer: 0.0, prefillEfficiency: 0.5 },
};

export { kvBytesReadAtDepth } from './speed-model';
import { kvBytesReadAtDepth } from './speed-model';
export type { SpeedApi } from './speed-model';

export interface DecodeInputs {
  activeWeightBytes: number;
  kvReadBytes: number;
  nLayers: number;
  bandwidthGBps: number;
  params: SpeedParams;
}

/** The core formula on plain numbers (also what the benchmark compares with the 0.55 × BW / size rule). */
export function decodeFromBytes(i: DecodeInputs): { decodeTokPerSec: number; ceilingTokPerSec: number; bytesPerToken: number } {
  const bytesPerToken = i.activeWeightBytes + i.kvReadBytes;
  const bw = i.bandwidthGBps * 1e9;
  const seconds = bytesPerToken / (i.params.eta * bw) + (i.nLayers * i.params.tauMsPerLayer) / 1000;
  return { decodeTokPerSec: 1 / seconds, ceilingTokPerSec: bw / bytesPerToken, bytesPerToken };
}

export interface SpeedOptions {
  /** Tokens already in the context when decoding. */
  depth?: number;
  kvTypeK?: KvType;
  kvTypeV?: KvType;
  /** Legacy formula with these parameters instead of the speed model (old tests, comparisons). */
  params?: SpeedParams;
  /** Serving engine (default llama.cpp; MLX-LM only counts on Metal). */
  engine?: ServingEngine;
  /** Compute API when it differs from the profile's (ROCm vs Vulkan on AMD). */
  api?: SpeedApi;
  /** Partial offload: share of the layers (and their experts) the engine placed on the CPU, and the CPU. */
  offload?: { cpu: HardwareSpec; layerShare: number };
  /** A stored measurement of this stack at this depth: the band collapses to it. */
  measuredDecode?: number;
  /** Kernel-maturity override (0–1] for this engine on this architecture (default: the fitted factor, else 1). */
  maturity?: number;
  /** The serving engine's own version string (llama.cpp `build_info` "b7189-c6f7a423c", MLX-LM "0.28.1"): a build
   * in its launch window for this architecture decodes slower (engine-builds.ts). */
  engineVersion?: string;
}

/** How many days into its support for the architecture this engine version is, and the words for it. */
export function launchBuild(engine: ServingEngine, arch: string, version: string | undefined): { days: number; words: string } | undefined {
  // Ollama and LM Studio version their apps, not the llama.cpp they bundle: their builds cannot be dated here.
  if (!version || (engine !== 'llama.cpp' && engine !== 'mlx-lm')) return undefined;
  const build = engine === 'llama.cpp' ? llamaCppBuildOf(version) : undefined;
  const semver = engine === 'mlx-lm' ? /\d+\.\d+\.\d+/.exec(version)?.[0] : undefined;
  const c = launchWindowOf(engine, arch, { ...(build !== undefined ? { build } : {}), ...(semver ? { version: semver } : {}) });
  // Past the launch window a build is mature: a persistent gap is the fitted stack × architecture maturity.
  if (!inLaunchWindow(c)) return undefined;
  const at = build !== undefined ? `build ${build}` : `version ${semver}`;
  return { days: c!.days, words: `${engine} ${at} is ~${c!.days} days into its ${arch} support` };
}

/** Single-stream decode (bandwidth-bound) and prefill (compute-bound) estimates, each with its band. */
export function estimateSpeed(spec: ModelSpec, weights: WeightsInfo, hw: HardwareSpec, opts: SpeedOptions = {}): SpeedEstimate {
  if (opts.params) {
    const kvRead = kvBytesReadAtDepth(spec, opts.depth ?? 0, opts.kvTypeK ?? 'f16', opts.kvTypeV ?? 'f16');
    const d = decodeFromBytes({ activeWeightBytes: weights.activeBytes, kvReadBytes: kvRead, nLayers: spec.nLayers, bandwidthGBps: hw.bandwidthGBps, params: opts.params });
    return { ...d, prefillTokPerSec: prefillTokPerSec(spec, hw, opts.params) };
  }
  const engine = opts.engine ?? DEFAULT_ENGINE;
  const w = workloadFor(spec, weights, opts);
  const dev = deviceOf(hw, opts.api);
  const off = opts.offload && opts.offload.layerShare > 0 ? { offload: { cpu: opts.offload.cpu, layerShare: opts.offload.layerShare } } : {};
  const launch = launchBuild(engine, spec.arch, opts.engineVersion);
  const d = predictDecode(w, dev, { engine, ...off, ...(opts.maturity !== undefined ? { maturity: opts.maturity } : {}), ...(launch ? { launchDays: launch.days, launchWords: launch.words } : {}) });
  const prefill = predictPrefill(spec.activeParams, dev, engine, undefined, Boolean(spec.moe));
  const pb = (fitted as { prefillBand?: { n: number; lo: number; hi: number } }).prefillBand;
  return {
    decodeTokPerSec: d.decodeTokPerSec,
    ceilingTokPerSec: d.ceilingTokPerSec,
    bytesPerToken: d.bytesPerToken,
    prefillTokPerSec: prefill,
    decodeRange: decodeRange(d.decodeTokPerSec, d.ceilingTokPerSec, { kind: modelKindOf(spec), stack: d.stack, arch: spec.arch }, opts.measuredDecode !== undefined ? { measured: opts.measuredDecode } : { launch: d.launch }),
    prefillRange: prefillRange(prefill, pb),
    engine,
    stack: d.stack,
    ...(d.maturityNote ? { maturityNote: d.maturityNote } : {}),
  };
}

/** LEGACY prompt processing: one efficiency per backend (kept for the old tests; estimateSpeed uses speed-model). */
export function prefillTokPerSec(spec: ModelSpec, hw: HardwareSpec, params: SpeedParams = SPEED_PARAMS[hw.backend]): number {
  return (params.prefillEfficiency * hw.fp16Tflops * 1e12) / (2 * spec.activeParams);
}
