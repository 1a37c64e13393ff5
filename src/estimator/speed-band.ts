// The error band on a predicted decode speed: the central 75 % of the speed model's cross-validated errors — each
// published run predicted by a fit that never saw its model family — so it is a 75 % band for a model family the fit
// has not seen (conservative for one it has). One pooled spread, not one per kind × stack: leave-one-family-out, the
// per-group spreads (1–13 families each) were noise and made the band both wider and miss more (interval score
// 0.626 → 0.559; scripts/speed-band-check.ts). Wider where data are thin: on a stack with too few runs for the fit
// to pin its own terms. A measurement of this very stack replaces the band. Pure; the statistics live in
// speed-params.json (scripts/fit-speed.ts).
import fitted from './speed-params.json';
import { MIN_STACK_RUNS } from './speed-model';
import type { SpeedRange } from './types';

export type ModelKind = 'dense' | 'moe' | 'hybrid';

/** Quantiles of measured ÷ predicted in one group of cross-validated runs. */
export interface BandStats {
  n: number;
  /** Low and high multipliers on the prediction (12.5th and 87.5th percentile of measured ÷ predicted). */
  lo: number;
  hi: number;
}

export interface SpeedBands {
  /** `all` → the band's spread; `${kind}|${stack}` and `${kind}` → how many runs (and their spread) for the words. */
  groups: Record<string, BandStats>;
  /** Runs per engine stack in the fit (a stack below MIN_STACK_RUNS gets a wider band). */
  stackRuns: Record<string, number>;
  /** Architectures (GGUF `general.architecture`) with published runs in the fit. */
  archsSeen: string[];
}

/** low–high tok/s and, in words, where the band comes from. */
export type DecodeRange = SpeedRange;

export const SPEED_BANDS: SpeedBands = fitted.bands as SpeedBands;

/** Fewest runs before a prompt-processing spread is used (else ±50 %). */
export const MIN_GROUP = 5;
/** Log-space widening on a thin stack: one whose fit borrows or keeps priors for its own terms. */
export const THIN_STACK_WIDEN = 1.25;

export interface BandQuery {
  kind: ModelKind;
  stack: string;
  arch?: string;
}

/** The spread that applies, how much wider to make it, and why, in words. */
export function bandStatsFor(q: BandQuery, bands: SpeedBands = SPEED_BANDS): { stats: BandStats; label: string; widen: number; unseenArch: boolean } {
  const all = bands.groups.all!;
  const own = bands.groups[`${q.kind}|${q.stack}`]?.n ?? 0;
  const stackRuns = bands.stackRuns[q.stack] ?? 0;
  const thin = stackRuns < MIN_STACK_RUNS;
  const label = `all ${all.n} measured runs (${own ? `${own} of them ${q.kind} on ${q.stack}` : `no ${q.kind} runs on ${q.stack}`})${thin ? `; wider: ${stackRuns ? `only ${stackRuns} runs on ${q.stack}, too few to fit its own terms` : `no runs on ${q.stack}`}` : ''}`;
  const unseenArch = q.arch !== undefined && !bands.archsSeen.includes(q.arch);
  return { stats: all, label, widen: thin ? THIN_STACK_WIDEN : 1, unseenArch };
}

/**
 * The band around a predicted decode rate. Never above the bandwidth ceiling; always contains the prediction.
 * With `measured` (a stored speed measurement of this stack at this depth) the band is the measurement.
 */
export function decodeRange(predicted: number, ceiling: number, q: BandQuery, opts: { measured?: number; bands?: SpeedBands; launch?: number } = {}): DecodeRange {
  if (opts.measured !== undefined && Number.isFinite(opts.measured) && opts.measured > 0) {
    return { low: opts.measured, high: opts.measured, basis: 'measured on this machine (headroom bench)' };
  }
  const { stats, label, widen, unseenArch } = bandStatsFor(q, opts.bands);
  const lo = Math.exp(Math.log(stats.lo) * widen);
  const hi = Math.exp(Math.log(stats.hi) * widen);
  const low = Math.min(predicted, predicted * lo);
  let high = Math.max(predicted, Math.min(ceiling, predicted * hi));
  // A launch build's slowdown varies from build to build (some land with the fast kernels): the band reaches up to
  // what a mature build would do.
  const launch = opts.launch !== undefined && opts.launch > 0 && opts.launch < 1 ? opts.launch : undefined;
  if (launch) high = Math.max(high, Math.min(ceiling, predicted / launch));
  // The band is already the error for a family the fit has not seen, so an unseen architecture is named, not widened.
  const arch = unseenArch ? `no published runs for this model family (architecture ${q.arch}): the band is how far the model misses on families it has not seen; ` : '';
  return { low, high, basis: `${arch}central 75 % of the cross-validated error of ${label}${launch ? '; up to a mature build\'s speed (launch build)' : ''}` };
}

/** Prefill band: from published prompt-processing runs where the fit had them, else ±50 %. */
export function prefillRange(predicted: number, spread?: { lo: number; hi: number; n: number }): DecodeRange {
  if (spread && spread.n >= MIN_GROUP) return { low: predicted * Math.min(1, spread.lo), high: predicted * Math.max(1, spread.hi), basis: `cross-validated error of ${spread.n} published prompt-processing runs (prefill varies with batch size and build: treat as rough)` };
  return { low: predicted * 0.5, high: predicted * 1.5, basis: 'no published prompt-processing runs for this backend: ±50 %' };
}
