// `headroom status`'s decode line for a model that `headroom bench` (or Measure Speed) has measured on the
// same stack: the measured runs next to the speed model's prediction at the same depths, and the
// prediction for the context in use now, calibrated by that measurement.
import { calibratedDecodeAt, calibrate, resultFor, type BenchKey, type BenchResult } from '../estimator/bench-result';
import { formatTokPerSec, formatTokPerSecRange, formatTokens } from '../estimator/format';
import type { HardwareSpec } from '../estimator/hardware';
import { parseServingEngine, type ServingEngine } from '../estimator/engine';
import { servingEngineFor } from '../estimator/speed-model';
import type { SpeedRange } from '../estimator/types';
import { speedAt, type LoadedEstimate } from '../providers/estimate';

export interface StatusSpeedJson {
  measuredAt: string;
  engine: string;
  /** Each measured depth: the engine's decode rate and the speed model's (null without spec/weights/hardware). */
  runs: { depth: number; measured: number; predicted: number | null; ceiling: number | null }[];
  /** Geometric mean of measured ÷ predicted (see estimator/bench-result calibrate). */
  factor: number | null;
  /** Decode at the context in use now (0 when the engine does not say). */
  now: {
    depth: number;
    tokPerSec: number;
    source: 'measured' | 'calibrated';
    predicted: number | null;
    /** calibrated: measured ÷ predicted at `anchorDepth`, the nearest measured depth. */
    factor: number | null;
    anchorDepth: number | null;
  } | null;
  /** The band at the context in use now: collapsed to the measurement (issue 11: a measured stack needs no band). */
  decodeRange: SpeedRange | null;
  notes: string[];
}

/** The speed model's prediction for a loaded model, with its cross-validated band (always, measured or not). */
export interface PredictedSpeedJson {
  depth: number;
  engine: ServingEngine;
  stack: string | null;
  decodeTokPerSec: number;
  ceilingTokPerSec: number;
  decodeRange: SpeedRange | null;
  /** Share of the resident bytes the engine keeps in system RAM (partial offload), when it says. */
  cpuShare: number | null;
  maturityNote: string | null;
}

/** The engine a detected server runs, as the speed model knows engines (unknown kinds: llama.cpp kernels). */
export function servingEngineOf(engineKind: string): ServingEngine {
  return parseServingEngine(engineKind) ?? servingEngineFor(engineKind);
}

/**
 * Decode prediction for the context in use now, for the engine that serves it, with a partial offload's CPU
 * share decoding at system-RAM bandwidth (the desktop-CPU profile's, unless the machine is CPU-only).
 */
export function predictedSpeed(e: LoadedEstimate | undefined, hw: HardwareSpec | undefined, depth: number, engine: ServingEngine, cpuShare?: number, cpuGBps?: number, engineVersion?: string): PredictedSpeedJson | null {
  if (!e || !hw) return null;
  const share = cpuShare !== undefined && cpuShare > 0.001 && hw.backend !== 'cpu' ? Math.min(1, cpuShare) : 0;
  const s = speedAt(e, hw, depth, { kind: engine, version: engineVersion }, share, cpuGBps);
  return {
    depth,
    engine,
    stack: s.stack ?? null,
    decodeTokPerSec: s.decodeTokPerSec,
    ceilingTokPerSec: s.ceilingTokPerSec,
    decodeRange: s.decodeRange ?? null,
    cpuShare: share > 0 ? share : null,
    maturityNote: s.maturityNote ?? null,
  };
}

/** Text line for a prediction: "≈ 45 tok/s (30–55) at 12k tokens — llama.cpp/cuda; band: …". */
export function predictedSpeedPairs(p: PredictedSpeedJson): [string, string][] {
  const off = p.cpuShare ? `, ${Math.round(p.cpuShare * 100)} % in system RAM` : '';
  const pairs: [string, string][] = [['decode predicted', `${formatTokPerSecRange(p.decodeTokPerSec, p.decodeRange ?? undefined)} at ${formatTokens(p.depth)} tokens of context (${p.stack ?? p.engine}${off}; ceiling ${formatTokPerSec(p.ceilingTokPerSec)})`]];
  if (p.decodeRange) pairs.push(['band', p.decodeRange.basis]);
  if (p.maturityNote) pairs.push(['kernels', p.maturityNote]);
  return pairs;
}

/** The speed model for this loaded model on `hw`, when the estimate has an architecture and weights. */
export function decodePredictor(e: LoadedEstimate | undefined, hw: HardwareSpec | undefined, engine?: ServingEngine): ((depth: number) => { decode: number; ceiling: number }) | undefined {
  if (!e || !hw) return undefined;
  return (depth) => {
    const s = speedAt(e, hw, depth, engine);
    return { decode: s.decodeTokPerSec, ceiling: s.ceilingTokPerSec };
  };
}

/** Measured vs predicted decode for one loaded model; null when this stack was never measured. */
export function statusSpeed(store: readonly BenchResult[], key: BenchKey, e: LoadedEstimate | undefined, hw: HardwareSpec | undefined, depthNow: number, engine?: ServingEngine): StatusSpeedJson | null {
  const result = resultFor(store, key);
  if (!result) return null;
  const model = decodePredictor(e, hw, engine);
  const predict = model ? (d: number) => model(d).decode : undefined;
  const notes: string[] = [];
  const runs = result.runs
    .filter((r) => r.decodeTokPerSec !== undefined)
    .map((r) => {
      const p = model?.(r.promptTokens);
      return { depth: r.promptTokens, measured: r.decodeTokPerSec!, predicted: p?.decode ?? null, ceiling: p?.ceiling ?? null };
    });
  const over = runs.filter((r) => r.ceiling !== null && r.measured > r.ceiling * 1.05);
  // Faster than the roofline is impossible: the hardware profile or the weight size behind it is wrong.
  if (over.length) notes.push(`measured decode is above the bandwidth ceiling (${formatTokPerSec(over[0]!.ceiling!)} at ${formatTokens(over[0]!.depth)}): check the hardware profile and the model's weight size`);
  if (!model) notes.push('no speed model for this model here (architecture, weights or hardware unknown): measured figures only');
  const cal = predict ? calibrate(result, predict) : undefined;
  const now = calibratedDecodeAt(result, predict, depthNow);
  return {
    measuredAt: result.measuredAt,
    engine: result.engine,
    runs,
    factor: cal?.factor ?? null,
    now: now ? { depth: now.depth, tokPerSec: now.tokPerSec, source: now.source, predicted: now.predictedTokPerSec ?? null, factor: now.factor ?? null, anchorDepth: now.anchorDepth ?? null } : null,
    decodeRange: now ? { low: now.tokPerSec, high: now.tokPerSec, basis: now.source === 'measured' ? `measured on this stack (${result.engine} bench of ${result.measuredAt})` : 'speed model calibrated by the measurement of this stack' } : null,
    notes,
  };
}

/** Text lines (label, value) for the status table. */
export function statusSpeedPairs(s: StatusSpeedJson): [string, string][] {
  const runs = s.runs
    .map((r) => `${formatTokPerSec(r.measured)} at depth ${formatTokens(r.depth)}${r.predicted !== null ? ` (predicted ${formatTokPerSec(r.predicted)})` : ''}`)
    .join(', ');
  const pairs: [string, string][] = [['decode measured', `${runs} — ${s.engine} bench of ${s.measuredAt}${s.factor !== null ? `; ×${s.factor.toFixed(2)} vs the speed model` : ''}`]];
  if (s.now) {
    const how = s.now.source === 'measured' ? 'measured' : `calibrated: predicted ${formatTokPerSec(s.now.predicted!)} × ${s.now.factor!.toFixed(2)}, measured ÷ predicted at depth ${formatTokens(s.now.anchorDepth!)}`;
    pairs.push(['decode now', `${formatTokPerSec(s.now.tokPerSec)} at ${formatTokens(s.now.depth)} tokens of context (${how})`]);
  }
  for (const n of s.notes) pairs.push(['note', n]);
  return pairs;
}
