// How far the conversation can grow: tokens and turns left before (a) the configured window truncates and
// (b) a window big enough for the conversation would no longer fit in usable memory — counting every model
// resident at once. Pure.
import { estimateMemory } from './memory';
import type { ContextOptions, ModelSpec, WeightsInfo } from './types';

export interface HorizonInput {
  /** Tokens in context now (latest prompt + output). */
  usedTokens: number;
  /** Median growth per turn (context-tracker); undefined/≤0 means turns can't be predicted. */
  growthPerTurn?: number;
  /** Configured window per sequence (Ollama num_ctx, llama.cpp n_ctx per slot). */
  window: number;
  /** Largest window per sequence that still fits in memory (see `maxFittingWindow`); undefined = unknown. */
  maxFittingWindow?: number;
}

export interface HorizonLeg {
  tokensLeft: number;
  turnsLeft?: number;
}

export interface Horizon {
  /** What gives first: the configured window, or memory (the window that would be needed does not fit). */
  limit: 'window' | 'memory';
  tokensLeft: number;
  turnsLeft?: number;
  growthPerTurn?: number;
  window: HorizonLeg & { size: number };
  memory?: HorizonLeg & { maxWindow: number };
}

function leg(left: number, growth: number | undefined): HorizonLeg {
  const l: HorizonLeg = { tokensLeft: left };
  // Whole turns that still fit; 0 when the next turn already overflows.
  if (growth !== undefined && growth > 0) l.turnsLeft = Math.max(0, Math.floor(left / growth));
  return l;
}

export function computeHorizon(i: HorizonInput): Horizon {
  const growth = i.growthPerTurn !== undefined && Number.isFinite(i.growthPerTurn) ? i.growthPerTurn : undefined;
  const w = { ...leg(i.window - i.usedTokens, growth), size: i.window };
  const h: Horizon = { limit: 'window', tokensLeft: w.tokensLeft, window: w };
  if (w.turnsLeft !== undefined) h.turnsLeft = w.turnsLeft;
  if (growth !== undefined) h.growthPerTurn = growth;
  if (i.maxFittingWindow !== undefined) {
    const m = { ...leg(i.maxFittingWindow - i.usedTokens, growth), maxWindow: i.maxFittingWindow };
    h.memory = m;
    if (m.tokensLeft < w.tokensLeft) {
      h.limit = 'memory';
      h.tokensLeft = m.tokensLeft;
      if (m.turnsLeft !== undefined) h.turnsLeft = m.turnsLeft;
      else delete h.turnsLeft;
    }
  }
  return h;
}

/**
 * Largest ctx in [lo, hi] with `bytesAt(ctx) ≤ budget`, by bisection (memory grows with ctx). Returns lo - 1
 * when even `lo` does not fit. `step` rounds to the granularity engines allocate in (llama.cpp pads to 256).
 */
export function maxFittingCtx(bytesAt: (ctx: number) => number, budget: number, lo: number, hi: number, step = 256): number {
  if (bytesAt(lo) > budget) return lo - 1;
  if (bytesAt(hi) <= budget) return hi;
  let a = lo;
  let b = hi;
  while (b - a > 1) {
    const mid = Math.floor((a + b) / 2);
    if (bytesAt(mid) <= budget) a = mid;
    else b = mid;
  }
  return Math.max(lo, Math.floor(a / step) * step);
}

export interface MemoryHorizonInput {
  spec: ModelSpec;
  weights: WeightsInfo;
  ctx: ContextOptions;
  /** Usable bytes on the device (capacity × usable fraction). */
  usableBytes: number;
  /** Bytes held by every other resident model (they stay loaded while this one grows). */
  otherResidentBytes: number;
}

/** Largest window per sequence this model can have with everything else still resident (estimator memory). */
export function maxFittingWindow(i: MemoryHorizonInput): number {
  const budget = i.usableBytes - i.otherResidentBytes;
  const at = (ctxPerSeq: number) => estimateMemory(i.spec, i.weights, { ...i.ctx, ctxPerSeq }).totalBytes;
  const n = maxFittingCtx(at, budget, 256, Math.max(256, i.spec.contextTrain));
  return n < 256 ? 0 : n;
}
