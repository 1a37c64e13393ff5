// Decode and prefill speed. Decode is bandwidth-bound: every token streams the active weights plus the KV
// cache read so far. Prefill is compute-bound: ~2 FLOPs per active parameter per prompt token.
//
//   decode tok/s = 1 / ( bytesPerToken / (η · BW) + nLayers · τ )      ceiling = BW / bytesPerToken
//
// η: how much of the peak bandwidth a real stack sustains while decoding (one value for GPU stacks, one for
// CPUs). τ: a fixed cost per layer per token (kernel launches, synchronisation, MoE routing) that depends
// on the backend — it is what keeps small-active MoE models far below their roofline on fast GPUs.
// Calibrated on test/fixtures/research/speed-calibration.csv (17 published llama.cpp runs; see speed tests)
// and test/fixtures/groundtruth/llamacpp-cpu-speed.csv (this machine's CPU).
import type { HardwareSpec } from './hardware';
import { kvBytesPerToken } from './kv';
import type { KvType, ModelSpec, SpeedEstimate, WeightsInfo } from './types';

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

/**
 * KV bytes one decoded token reads at `depth` tokens of context: growing layers read `depth` cells,
 * sliding-window layers at most their window; recurrent layers only their constant state (ignored: small).
 */
export function kvBytesReadAtDepth(spec: ModelSpec, depth: number, kvTypeK: KvType = 'f16', kvTypeV: KvType = 'f16'): number {
  const d = Math.max(0, depth);
  const growing = kvBytesPerToken(spec, kvTypeK, kvTypeV);
  const all = kvBytesPerToken(spec, kvTypeK, kvTypeV, { swaFull: true });
  const swaCells = spec.slidingWindow ? Math.min(d, spec.slidingWindow) : d;
  return growing * d + (all - growing) * swaCells;
}

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
  /** Override the calibrated parameters (tests, what-ifs). */
  params?: SpeedParams;
}

/** Single-stream decode (bandwidth-bound) and prefill (compute-bound) estimates for a model on a device. */
export function estimateSpeed(spec: ModelSpec, weights: WeightsInfo, hw: HardwareSpec, opts: SpeedOptions = {}): SpeedEstimate {
  const params = opts.params ?? SPEED_PARAMS[hw.backend];
  const kvRead = kvBytesReadAtDepth(spec, opts.depth ?? 0, opts.kvTypeK ?? 'f16', opts.kvTypeV ?? 'f16');
  const d = decodeFromBytes({ activeWeightBytes: weights.activeBytes, kvReadBytes: kvRead, nLayers: spec.nLayers, bandwidthGBps: hw.bandwidthGBps, params });
  return { ...d, prefillTokPerSec: prefillTokPerSec(spec, hw, params) };
}

/** Prompt processing: 2 FLOPs per active parameter per token against the device's dense FP16 compute. */
export function prefillTokPerSec(spec: ModelSpec, hw: HardwareSpec, params: SpeedParams = SPEED_PARAMS[hw.backend]): number {
  return (params.prefillEfficiency * hw.fp16Tflops * 1e12) / (2 * spec.activeParams);
}
