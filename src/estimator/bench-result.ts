// Measured speed runs (`headroom bench`), as plain data, and what predictions learn from them.
// Pure: the provider measures, this module combines runs, rates them against the bandwidth ceiling and
// derives a calibration factor (measured ÷ predicted decode) that later predictions for the same
// (endpoint, model, quant, hardware) can multiply by.

/** What a measurement is about: the same model on another box or quant is a different stack. */
export interface BenchKey {
  endpoint: string;
  model: string;
  quant?: string;
  hardwareId?: string;
}

/** One fixed generation at one prompt depth. */
export interface BenchRun {
  /** Depth asked for, tokens (the prompt is built to about this length). */
  targetDepth: number;
  /** Prompt tokens the engine processed for this run (cached prefix included). */
  promptTokens: number;
  /** Of those, reused from the engine's cache (0 when the bench disabled caching). */
  cachedTokens: number;
  outputTokens: number;
  /** Prompt processing rate: compute-bound. */
  prefillTokPerSec?: number;
  /** Generation rate: bandwidth-bound (weights + KV read per token). */
  decodeTokPerSec?: number;
  /** Time to first token, ms. */
  ttftMs?: number;
  /** Whole request, client clock, ms. */
  wallMs: number;
  /** `engine`: rates from the engine's own timings; `client`: timed from the stream by us. */
  timing: 'engine' | 'client';
}

export interface BenchResult {
  key: BenchKey;
  engine: string;
  /** ISO time of the measurement (supplied by the caller; this module reads no clock). */
  measuredAt: string;
  /** Context per sequence the engine ran with, when known: caps the depths. */
  nCtx?: number;
  runs: BenchRun[];
}

/** Stable string form of a key, for maps and storage. Missing parts are empty, never "undefined". */
export function benchKeyId(k: BenchKey): string {
  return [k.endpoint.replace(/\/+$/, ''), k.model, k.quant ?? '', k.hardwareId ?? ''].join('|');
}

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const finitePos = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x) && x > 0;

/**
 * Pools several results for ONE key (e.g. repeated `headroom bench` runs): runs at the same target depth
 * collapse into one whose rates are medians, so a single noisy run does not move the calibration.
 * Throws if the keys differ — mixing stacks would calibrate one machine with another's numbers.
 */
export function combineResults(results: readonly BenchResult[]): BenchResult {
  if (results.length === 0) throw new Error('combineResults: no results');
  const id = benchKeyId(results[0]!.key);
  for (const r of results) if (benchKeyId(r.key) !== id) throw new Error(`combineResults: mixed keys ${id} vs ${benchKeyId(r.key)}`);
  const byDepth = new Map<number, BenchRun[]>();
  for (const r of results) for (const run of r.runs) byDepth.set(run.targetDepth, [...(byDepth.get(run.targetDepth) ?? []), run]);
  const runs = [...byDepth.entries()]
    .sort(([a], [b]) => a - b)
    .map(([targetDepth, rs]): BenchRun => {
      const pick = (f: (r: BenchRun) => number | undefined) => median(rs.map(f).filter(finitePos));
      const run: BenchRun = {
        targetDepth,
        promptTokens: Math.round(median(rs.map((r) => r.promptTokens))!),
        cachedTokens: Math.round(median(rs.map((r) => r.cachedTokens))!),
        outputTokens: Math.round(median(rs.map((r) => r.outputTokens))!),
        wallMs: median(rs.map((r) => r.wallMs))!,
        timing: rs.every((r) => r.timing === 'engine') ? 'engine' : 'client',
      };
      const prefill = pick((r) => r.prefillTokPerSec);
      const decode = pick((r) => r.decodeTokPerSec);
      const ttft = pick((r) => r.ttftMs);
      if (prefill !== undefined) run.prefillTokPerSec = prefill;
      if (decode !== undefined) run.decodeTokPerSec = decode;
      if (ttft !== undefined) run.ttftMs = ttft;
      return run;
    });
  const latest = [...results].sort((a, b) => a.measuredAt.localeCompare(b.measuredAt)).at(-1)!;
  const out: BenchResult = { key: latest.key, engine: latest.engine, measuredAt: latest.measuredAt, runs };
  if (latest.nCtx !== undefined) out.nCtx = latest.nCtx;
  return out;
}

/** Measured decode ÷ bandwidth ceiling at the same depth: how much of the roofline the stack achieves. */
export function stackEfficiency(decodeTokPerSec: number | undefined, ceilingTokPerSec: number): number | undefined {
  if (!finitePos(decodeTokPerSec) || !finitePos(ceilingTokPerSec)) return undefined;
  return decodeTokPerSec / ceilingTokPerSec;
}

export interface BenchRow extends BenchRun {
  /** Bandwidth ceiling at this run's depth, tok/s (when the caller could compute one). */
  ceilingTokPerSec?: number;
  /** decode ÷ ceiling, 0–1 for a sane measurement. */
  efficiency?: number;
}

/**
 * Rows for display: each run with its ceiling and efficiency. `ceilingAt(depth)` is the roofline decode
 * rate at that many tokens of context (e.g. from estimator/speed.ts); omit it when the hardware is unknown.
 */
export function benchRows(result: BenchResult, ceilingAt?: (depthTokens: number) => number | undefined): BenchRow[] {
  return result.runs.map((run) => {
    const row: BenchRow = { ...run };
    const ceiling = ceilingAt?.(run.promptTokens);
    if (finitePos(ceiling)) {
      row.ceilingTokPerSec = ceiling;
      const eff = stackEfficiency(run.decodeTokPerSec, ceiling);
      if (eff !== undefined) row.efficiency = eff;
    }
    return row;
  });
}

export interface Calibration {
  /** Multiply predicted decode tok/s by this (geometric mean of measured ÷ predicted over depths). */
  factor: number;
  /** Per-depth measured ÷ predicted, for showing where the model is off (e.g. only at long context). */
  points: { depth: number; measured: number; predicted: number; ratio: number }[];
}

/**
 * Calibration of a decode predictor against a measurement. Geometric mean, because the ratios multiply
 * (a stack at 0.5× at one depth and 2× at another is, on balance, right). Undefined with no usable run.
 */
export function calibrate(result: BenchResult, predictDecodeAt: (depthTokens: number) => number | undefined): Calibration | undefined {
  const points: Calibration['points'] = [];
  for (const run of result.runs) {
    const predicted = predictDecodeAt(run.promptTokens);
    if (!finitePos(run.decodeTokPerSec) || !finitePos(predicted)) continue;
    points.push({ depth: run.promptTokens, measured: run.decodeTokPerSec, predicted, ratio: run.decodeTokPerSec / predicted });
  }
  if (points.length === 0) return undefined;
  const factor = Math.exp(points.reduce((s, p) => s + Math.log(p.ratio), 0) / points.length);
  return { factor, points };
}

/**
 * Decode rate at an arbitrary depth by interpolating the measured runs in 1/rate (time per token grows
 * ~linearly with depth as KV reads add up); clamps outside the measured range. Undefined with no runs.
 */
export function measuredDecodeAt(result: BenchResult, depthTokens: number): number | undefined {
  const pts = result.runs
    .filter((r) => finitePos(r.decodeTokPerSec))
    .map((r) => ({ d: r.promptTokens, t: 1 / r.decodeTokPerSec! }))
    .sort((a, b) => a.d - b.d);
  if (pts.length === 0) return undefined;
  if (depthTokens <= pts[0]!.d) return 1 / pts[0]!.t;
  if (depthTokens >= pts.at(-1)!.d) return 1 / pts.at(-1)!.t;
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1]!, b = pts[i]!;
    if (depthTokens <= b.d) {
      const f = b.d === a.d ? 0 : (depthTokens - a.d) / (b.d - a.d);
      return 1 / (a.t + f * (b.t - a.t));
    }
  }
  return undefined;
}

/**
 * Adds a result to a store of past results, keeping the newest `keepPerKey` per stack so a store never
 * grows without bound and old hardware/driver states age out.
 */
export function addResult(store: readonly BenchResult[], result: BenchResult, keepPerKey = 5): BenchResult[] {
  const id = benchKeyId(result.key);
  const same = [...store.filter((r) => benchKeyId(r.key) === id), result].sort((a, b) => b.measuredAt.localeCompare(a.measuredAt)).slice(0, keepPerKey);
  return [...store.filter((r) => benchKeyId(r.key) !== id), ...same];
}

/** Everything measured for one stack, pooled (see combineResults); undefined when never measured. */
export function resultFor(store: readonly BenchResult[], key: BenchKey): BenchResult | undefined {
  const id = benchKeyId(key);
  const same = store.filter((r) => benchKeyId(r.key) === id);
  return same.length ? combineResults(same) : undefined;
}

/** A decode prediction after a measurement of the same stack has been taken into account. */
export interface CalibratedDecode {
  /** Context depth the prediction is for, tokens. */
  depth: number;
  /** What to show: the measured rate (interpolated) inside the measured depths, else the scaled speed model. */
  tokPerSec: number;
  /** `measured`: the depth lies within the runs; `calibrated`: the speed model scaled by the measurement. */
  source: 'measured' | 'calibrated';
  /** The uncalibrated speed model at this depth, when the caller could compute one. */
  predictedTokPerSec?: number;
  /** `calibrated` only: measured ÷ predicted at the nearest measured depth, the multiplier applied. */
  factor?: number;
  /** `calibrated` only: the measured depth the prediction is anchored to. */
  anchorDepth?: number;
  measuredAt: string;
}

/**
 * Decode at `depth` for a stack that was measured: inside the measured depth range the measurement itself
 * (interpolated, see measuredDecodeAt) beats any model; outside it the speed model scaled by measured ÷
 * predicted at the nearest measured depth — the model knows how KV reads grow with depth, the measurement
 * knows this stack, and anchoring to the nearest run keeps the curve continuous at the range's edges
 * (an empty context is not predicted slower than the 11-token run beside it).
 * Undefined when neither applies (outside the range with no prediction, or no usable run).
 */
export function calibratedDecodeAt(
  result: BenchResult,
  predictDecodeAt: ((depthTokens: number) => number | undefined) | undefined,
  depth: number,
): CalibratedDecode | undefined {
  const runs = result.runs.filter((r) => finitePos(r.decodeTokPerSec)).sort((a, b) => a.promptTokens - b.promptTokens);
  if (runs.length === 0) return undefined;
  const predicted = predictDecodeAt?.(depth);
  const base = { depth, measuredAt: result.measuredAt, ...(finitePos(predicted) ? { predictedTokPerSec: predicted } : {}) };
  const lo = runs[0]!, hi = runs.at(-1)!;
  if (depth >= lo.promptTokens && depth <= hi.promptTokens) return { ...base, tokPerSec: measuredDecodeAt(result, depth)!, source: 'measured' };
  const anchor = depth < lo.promptTokens ? lo : hi;
  const atAnchor = predictDecodeAt?.(anchor.promptTokens);
  if (!finitePos(predicted) || !finitePos(atAnchor)) return undefined;
  const factor = anchor.decodeTokPerSec! / atAnchor;
  return { ...base, tokPerSec: predicted * factor, source: 'calibrated', factor, anchorDepth: anchor.promptTokens };
}
