// Does it fit? Memory vs usable capacity with the margin, the largest context that fits, and — from the
// context sizes seen so far in a session — how many tokens and turns are left before the window or memory ends.
import { usableBytes, type HardwareSpec } from './hardware';
import { estimateMemory } from './memory';
import { DEFAULT_CPU_FEATURES } from './cpu-buffers';
import { estimateSpeed } from './speed';
import type { ServingEngine } from './engine';
import type { ContextOptions, MemoryBreakdown, ModelSpec, SpeedEstimate, WeightsInfo } from './types';

/** llama.cpp allocates context in 256-cell steps. */
export const CTX_STEP = 256;

export interface FitOptions {
  /** Largest context the model supports (trained or RoPE-extended); the max-context search stops here. */
  contextMax?: number;
  /** Tokens already in context for the speed estimate. */
  depth?: number;
  /** Serving engine the speed is predicted for (default llama.cpp). */
  engine?: ServingEngine;
  /** Its version string (llama.cpp build "b7189", MLX-LM "0.28.1"): a launch build for this architecture is slower. */
  engineVersion?: string;
  /** Kernel-maturity override (0–1], replacing the fitted factors (e.g. 1 after a newer build fixed the kernels). */
  maturity?: number;
}

export interface Evaluation {
  spec: ModelSpec;
  weights: WeightsInfo;
  ctx: ContextOptions;
  memory: MemoryBreakdown;
  usableBytes: number;
  fits: boolean;
  /** usable − total: negative when it does not fit. */
  headroomBytes: number;
  /** Largest tokens per sequence that fit (multiple of 256, ≤ contextMax); 0 when not even 256 fit. */
  maxContext: number;
  speed: SpeedEstimate;
}

/**
 * Largest per-sequence context (a multiple of 256, at most `limit`) whose total memory fits in `usable`.
 * Memory grows monotonically with context, so a binary search over 256-token steps is exact.
 */
export function maxContextThatFits(spec: ModelSpec, weights: WeightsInfo, ctx: ContextOptions, usable: number, limit: number): number {
  const total = (c: number) => estimateMemory(spec, weights, { ...ctx, ctxPerSeq: c }).totalBytes;
  let lo = 0; // steps known to fit (0 = nothing)
  let hi = Math.floor(Math.max(0, limit) / CTX_STEP); // steps upper bound
  if (hi === 0 || total(CTX_STEP) > usable) return 0;
  lo = 1;
  if (total(hi * CTX_STEP) <= usable) return hi * CTX_STEP;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (total(mid * CTX_STEP) <= usable) lo = mid;
    else hi = mid;
  }
  return lo * CTX_STEP;
}

/** On the CPU backend llama.cpp copies the weights it accelerates (CPU_REPACK / AMX): count them there only. */
export function withCpuBuffers(ctx: ContextOptions, hw: HardwareSpec): ContextOptions {
  if (hw.backend !== 'cpu' || ctx.cpuBuffers) return ctx;
  return { ...ctx, cpuBuffers: hw.cpuFeatures ?? DEFAULT_CPU_FEATURES };
}

/** The whole picture for one configuration: memory, fit, margin, max context and speed. */
export function evaluate(spec: ModelSpec, weights: WeightsInfo, hw: HardwareSpec, ctxIn: ContextOptions, opts: FitOptions = {}): Evaluation {
  const ctx = withCpuBuffers(ctxIn, hw);
  const memory = estimateMemory(spec, weights, ctx);
  const usable = usableBytes(hw);
  const limit = Math.max(opts.contextMax ?? spec.contextTrain, CTX_STEP);
  const speed = estimateSpeed(spec, weights, hw, { depth: opts.depth ?? 0, kvTypeK: ctx.kvTypeK, kvTypeV: ctx.kvTypeV, ...(opts.engine ? { engine: opts.engine } : {}), ...(opts.engineVersion ? { engineVersion: opts.engineVersion } : {}), ...(opts.maturity !== undefined ? { maturity: opts.maturity } : {}) });
  return {
    spec,
    weights,
    ctx,
    memory,
    usableBytes: usable,
    fits: memory.totalBytes <= usable,
    headroomBytes: usable - memory.totalBytes,
    maxContext: maxContextThatFits(spec, weights, ctx, usable, limit),
    speed,
  };
}

export interface Horizon {
  /** The limit that ends the session first: the configured window or the memory-bound max context. */
  limitedBy: 'window' | 'memory';
  limitTokens: number;
  /** Tokens of context used now (the last sample). */
  usedTokens: number;
  tokensLeft: number;
  /** Average growth per turn over the recent turns (tokens); 0 when the context is not growing. */
  tokensPerTurn: number;
  /** Whole turns left at that growth; undefined when the context is not growing. */
  turnsLeft?: number;
}

/**
 * From the context size of each turn so far (prompt + reply tokens), when does the session hit the window
 * or the memory limit? Growth is the mean of the last `recent` increases (context resets are ignored).
 */
export function contextHorizon(contextSizes: readonly number[], windowTokens: number, memoryMaxTokens: number, recent = 5): Horizon {
  const sizes = contextSizes.filter((n) => Number.isFinite(n) && n >= 0);
  const used = sizes.length ? sizes[sizes.length - 1]! : 0;
  const limitedBy = memoryMaxTokens < windowTokens ? 'memory' : 'window';
  const limitTokens = Math.max(0, Math.min(windowTokens, memoryMaxTokens));
  const deltas: number[] = [];
  for (let i = 1; i < sizes.length; i++) {
    const d = sizes[i]! - sizes[i - 1]!;
    if (d > 0) deltas.push(d);
  }
  const last = deltas.slice(-recent);
  const tokensPerTurn = last.length ? last.reduce((a, b) => a + b, 0) / last.length : 0;
  const tokensLeft = Math.max(0, limitTokens - used);
  const h: Horizon = { limitedBy, limitTokens, usedTokens: used, tokensLeft, tokensPerTurn };
  if (tokensPerTurn > 0) h.turnsLeft = Math.floor(tokensLeft / tokensPerTurn);
  return h;
}
