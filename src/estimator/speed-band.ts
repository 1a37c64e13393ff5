// The error band on a predicted decode speed: the spread of the speed model's cross-validated errors
// (each published run predicted by a fit that never saw its model family) for the same kind of model on the
// same engine stack. Wider where the data are thin, and it says so. A measurement of this very stack replaces
// the band with the measurement. Pure; the residual statistics live in speed-params.json (scripts/fit-speed.ts).
import fitted from './speed-params.json';
import type { SpeedRange } from './types';

export type ModelKind = 'dense' | 'moe' | 'hybrid';

/** Quantiles of measured ÷ predicted in one group of cross-validated runs. */
export interface BandStats {
  n: number;
  /** Low and high multipliers on the prediction (central 70 % of measured ÷ predicted). */
  lo: number;
  hi: number;
}

export interface SpeedBands {
  /** `${kind}|${stack}`, `${kind}` and `all` → residual statistics. */
  groups: Record<string, BandStats>;
  /** Architectures (GGUF `general.architecture`) with published runs in the fit. */
  archsSeen: string[];
}

/** low–high tok/s and, in words, where the band comes from. */
export type DecodeRange = SpeedRange;

export const SPEED_BANDS: SpeedBands = fitted.bands as SpeedBands;

/** Fewest runs a group needs before its own spread is used (else the pooled group's). */
export const MIN_GROUP = 5;
/** Runs at which a group's own spread weighs as much as its parent's (log-space shrinkage). */
export const SHRINK_K = 20;

export interface BandQuery {
  kind: ModelKind;
  stack: string;
  arch?: string;
}

/** Which residual group applies and how much wider to make it. */
export function bandStatsFor(q: BandQuery, bands: SpeedBands = SPEED_BANDS): { stats: BandStats; label: string; widen: number; unseenArch: boolean } {
  const all = bands.groups.all!;
  const own = bands.groups[`${q.kind}|${q.stack}`];
  const byKindRaw = bands.groups[q.kind];
  // Each group's spread is shrunk toward its parent's (kind × stack → kind → all) in proportion to its runs:
  // a handful of runs says little about a spread, so a thin group mostly borrows the larger group's.
  const byKind = byKindRaw ? shrink(byKindRaw, all) : all;
  const stats = own ? shrink(own, byKind) : byKind;
  const label =
    own && own.n >= MIN_GROUP
      ? `${own.n} published ${q.kind} runs on ${q.stack}, pooled with all ${byKindRaw?.n ?? 0} ${q.kind} runs`
      : byKindRaw
        ? `${own?.n ?? 0} ${q.kind} runs on ${q.stack}, so the spread of all ${byKindRaw.n} ${q.kind} runs`
        : `few ${q.kind} runs, so the spread of all ${all.n} runs`;
  const unseenArch = q.arch !== undefined && !bands.archsSeen.includes(q.arch);
  // Thin data: a spread estimated from n runs (+ the K it borrows) is itself uncertain by ~1/√n; an unseen
  // architecture adds a quarter.
  const widen = (1 + 1 / Math.sqrt((own?.n ?? 0) + SHRINK_K)) * (unseenArch ? 1.25 : 1);
  return { stats, label, widen, unseenArch };
}

/** Log-space blend of a group's band with its parent's, weighted n : K. */
function shrink(g: BandStats, parent: BandStats): BandStats {
  const w = g.n / (g.n + SHRINK_K);
  return { n: g.n, lo: Math.exp(w * Math.log(g.lo) + (1 - w) * Math.log(parent.lo)), hi: Math.exp(w * Math.log(g.hi) + (1 - w) * Math.log(parent.hi)) };
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
  const arch = unseenArch ? `no published runs for this architecture (${q.arch}); ` : '';
  return { low, high, basis: `${arch}cross-validated error of ${label}${launch ? '; up to a mature build\'s speed (launch build)' : ''}` };
}

/** Prefill band: from published prompt-processing runs where the fit had them, else ±50 %. */
export function prefillRange(predicted: number, spread?: { lo: number; hi: number; n: number }): DecodeRange {
  if (spread && spread.n >= MIN_GROUP) return { low: predicted * Math.min(1, spread.lo), high: predicted * Math.max(1, spread.hi), basis: `cross-validated error of ${spread.n} published prompt-processing runs (prefill varies with batch size and build: treat as rough)` };
  return { low: predicted * 0.5, high: predicted * 1.5, basis: 'no published prompt-processing runs for this backend: ±50 %' };
}
