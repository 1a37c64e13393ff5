// Measure Speed results as the views use them: which stored measurement belongs to a loaded model, what it
// says about decode at the current depth, and the record the command saves. Pure (no vscode, no fs): the
// controller loads and saves the store, the Session hands the results to assemble().
import { calibratedDecodeAt, resultFor, type BenchKey, type BenchResult, type BenchRun } from '../estimator/bench-result';
import { formatTokens, formatTokPerSec, speedWord } from '../estimator/format';
import type { LoadedModel } from '../providers/types';

/**
 * The stack a loaded model is measured as — the same (endpoint, model, quant, hardware) `headroom bench`
 * stores and `headroom status` looks up, so a measurement taken in either place calibrates both.
 */
export function benchKeyForLoaded(endpoint: string, lm: LoadedModel, hardwareId: string | undefined): BenchKey {
  return { endpoint: endpoint.replace(/\/+$/, ''), model: lm.name, ...(lm.quant ? { quant: lm.quant.value } : {}), ...(hardwareId ? { hardwareId } : {}) };
}

/** A finished Measure Speed run as stored (only complete runs reach this: runBench rejects otherwise). */
export function benchRecord(key: BenchKey, m: { engine: string; runs: BenchRun[]; nCtx?: number }, measuredAt: string): BenchResult {
  return { key, engine: m.engine, measuredAt, runs: m.runs, ...(m.nCtx ? { nCtx: m.nCtx } : {}) };
}

/** Decode for a measured stack at the depth in use (see ModelView.speed.bench). */
export interface BenchDecode {
  depth: number;
  tokPerSec: number;
  /** `measured`: within the measured depths; `calibrated`: the speed model scaled by the nearest run. */
  source: 'measured' | 'calibrated';
  measuredAt: string;
  /** calibrated: measured ÷ predicted at `anchorDepth`. */
  factor?: number;
  anchorDepth?: number;
}

/** What the stored measurements say about this model now; undefined when it was never measured here. */
export function benchDecode(store: readonly BenchResult[], key: BenchKey, predictAt: ((depth: number) => number | undefined) | undefined, depth: number): BenchDecode | undefined {
  const result = resultFor(store, key);
  if (!result) return undefined;
  const c = calibratedDecodeAt(result, predictAt, depth);
  if (!c) return undefined;
  return { depth, tokPerSec: c.tokPerSec, source: c.source, measuredAt: c.measuredAt, ...(c.factor !== undefined ? { factor: c.factor } : {}), ...(c.anchorDepth !== undefined ? { anchorDepth: c.anchorDepth } : {}) };
}

/** `2026-11-23T09:00:00.000Z` → `2026-11-23`: when, not to the millisecond. */
const day = (iso: string) => iso.slice(0, 10);

/** The panel's "Measured" fact value. */
export function benchFactValue(b: BenchDecode): string {
  const rate = `${formatTokPerSec(b.tokPerSec)} (${speedWord(b.tokPerSec)}) at ${formatTokens(b.depth)} tokens`;
  const how = b.source === 'measured' ? 'Measure Speed' : `calibrated: prediction × ${b.factor!.toFixed(2)} from the run at ${formatTokens(b.anchorDepth!)} tokens`;
  return `${rate} — ${how}, ${day(b.measuredAt)}`;
}

/** The tooltip's decode wording when no live reading exists. */
export function benchTooltipValue(b: BenchDecode): string {
  const how = b.source === 'measured' ? '_measured by Measure Speed_' : `_predicted, calibrated by Measure Speed (×${b.factor!.toFixed(2)})_`;
  return `~${formatTokPerSec(b.tokPerSec)} (${speedWord(b.tokPerSec)}) ${how}`;
}
